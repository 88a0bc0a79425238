// DigestStore's spill files on disk: one private temporary directory, made on the first spill
// under the job's --tmp-dir and removed by close(). Files are written like the output
// (SequentialWriter: O_DIRECT where possible, since the page cache would only hold a run until
// the final pass reads it once) and read back through their own descriptor on libuv's threads,
// direct too when they were written so (adapters/direct-reader.ts says why).
//
// A sealed file is unlinked at once and lives on through its read descriptor: a run killed
// after that leaves nothing behind (the kernel frees it with the process). close() closes the
// descriptors and removes the directory on libuv's threads: freeing the files' blocks (~40 ms per
// 128 MB on this project's VM, whose disk is mounted with online discard) keeps ext4's journal
// busy, and a synchronous rmdir of the emptied directory waited for it on the main thread,
// 0.4-2.0 s at the end of the 1 GiB bench (strace), counted as main-thread busy. Thirteen
// alternating runs: busy share median 0.41 against 0.50, wall time 10.97 against 10.81 s (the
// differences split 7/6 either way): the job still waits for the same journal, off the thread.
import { close as closeFd, mkdtempSync, openSync, read, unlinkSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { HashpipeError } from '../pipeline/errors.js'
import type { SpillFile, SpillStorage } from '../pipeline/spill-storage.js'
import { asDiskFull, diskFullError, isDiskFull, type DiskFullWhere } from '../pipeline/disk-full.js'
import { SequentialWriter, type SequentialWriterOptions, type SharedBlocks } from './sequential-writer.js'
import { DirectReader } from './direct-reader.js'

const readAsync = promisify(read)

// Read-ahead per spill file (adapters/direct-reader.ts says why): a share under 64 KiB would serve
// a few asks a fill, so it is off then; past 1 MiB little is gained (dd iflag=direct on this VM:
// 1.6 GB/s in 256 KiB blocks, 2.1 GB/s in 1 MiB).
const kMinReadAhead = 64 << 10
const kMaxReadAhead = 1 << 20

const spillWhere = (path: string, doing = `cannot write dedupe spill file ${path}`): DiskFullWhere =>
  ({ path, doing, elsewhere: 'point --tmp-dir at a larger disk' })

export class SpillFiles implements SpillStorage {
  readonly #parent: string
  #dir: string | undefined
  readonly #fds: number[] = []
  readonly #readers: DirectReader[] = []
  #next = 0
  readonly #open: SequentialWriterOptions['open']
  #readAheadBytes: number
  #readAheadSet = false
  // Spill files are written one at a time: each writer takes the last one's blocks.
  #blocks: SharedBlocks = { direct: [], plain: [] }

  /**
   * `options.readAheadBytes`: memory the direct readers may hold for reading ahead, shared by all
   * the files (each gets an equal part, at most kMaxReadAhead; none below kMinReadAhead).
   * `options.open`: for tests, the open() the spill files are written through.
   */
  constructor (parentDir: string, options: Pick<SequentialWriterOptions, 'open'> & { readAheadBytes?: number } = {}) {
    this.#parent = parentDir
    this.#open = options.open
    this.#readAheadBytes = options.readAheadBytes ?? 0
  }

  /** Changes the read-ahead memory (see the constructor); reads from here on use the new share. */
  set readAheadBytes (bytes: number) {
    this.#readAheadBytes = bytes
    this.#readAheadSet = false
  }

  get readAheadBytes (): number { return this.#readAheadBytes }

  /** Each reader's read-ahead, set at the first read after a change: the files are all sealed by then. */
  #shareReadAhead (): void {
    this.#readAheadSet = true
    // Reads begin once every spill file is written: no writer needs the blocks again.
    this.#blocks = { direct: [], plain: [] }
    const each = Math.min(kMaxReadAhead, Math.floor(this.#readAheadBytes / Math.max(1, this.#readers.length)))
    for (const reader of this.#readers) reader.readAhead = each >= kMinReadAhead ? each : 0
  }

  async create (): Promise<SpillFile> {
    try {
      this.#dir ??= mkdtempSync(join(this.#parent, 'hashpipe-spill-'))
    } catch (err) {
      if (isDiskFull(err)) throw diskFullError(err, spillWhere(this.#parent, `cannot create a dedupe spill directory in ${this.#parent}`))
      throw new HashpipeError('HP_ERR_SPILL_IO', `cannot create a dedupe spill directory in ${this.#parent}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; point --tmp-dir at a writable directory with free space`, undefined, { cause: err })
    }
    const path = join(this.#dir, `spill-${this.#next++}.bin`)
    let writer: SequentialWriter
    try {
      writer = await SequentialWriter.create(path, { mode: 0o600, blocks: this.#blocks, ...(this.#open !== undefined ? { open: this.#open } : {}) })
    } catch (err) {
      if (isDiskFull(err)) throw diskFullError(err, spillWhere(path))
      throw new HashpipeError('HP_ERR_SPILL_IO', `cannot write dedupe spill file ${path}: ${(err as Error).message}; free disk space there or point --tmp-dir at a larger disk`, undefined, { cause: err })
    }
    let fd = -1
    let reader: DirectReader | undefined
    const fds = this.#fds
    const readers = this.#readers
    return {
      name: path,
      get bytes () { return writer.bytes },
      write: async (data) => {
        try { await writer.write(data) } catch (err) { throw asDiskFull(err, spillWhere(path)) }
      },
      seal: async () => {
        try {
          await writer.finish()
          await writer.close()
        } catch (err) { throw asDiskFull(err, spillWhere(path)) }
        reader = writer.direct ? DirectReader.open(path) : undefined
        if (reader !== undefined) readers.push(reader)
        else fds.push(fd = openSync(path, 'r'))
        unlinkSync(path)
      },
      abort: async () => { await writer.abort() },
      read: async (into, offset, length, position) => {
        if (!this.#readAheadSet) this.#shareReadAhead()
        if (reader !== undefined) return await reader.read(into, offset, length, position)
        if (fd < 0) throw new Error(`spill file ${path} read before it was sealed`)
        return (await readAsync(fd, into, offset, length, position)).bytesRead
      }
    }
  }

  async close (): Promise<void> {
    const fds = this.#fds.splice(0)
    const readers = this.#readers.splice(0)
    const dir = this.#dir
    this.#dir = undefined
    this.#readAheadSet = false
    this.#blocks = { direct: [], plain: [] }
    // Not awaited: the files are unlinked, and the last close of each frees its blocks, which can
    // take most of a second (see the header); the rmdir, and the output's fsync after it, wait
    // for the same journal anyway. (Awaiting them first was no faster: seven alternating 1 GiB
    // pairs, median +0.2 s.) Nothing to do about a failed close.
    for (const fd of fds) closeFd(fd, () => {})
    for (const reader of readers) void reader.close()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  }
}
