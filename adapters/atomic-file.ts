// Writes a file so that readers see either nothing or the whole thing: data goes to a temp file
// beside the target, is fsynced, and is renamed over the target on commit(). abort() removes the
// temp file, so a failed run never leaves a half-written output where a complete one is expected.
// `-` writes to the given stream instead, and a path that exists but is not a regular file
// (/dev/stderr, a FIFO) is written in place: renaming over it would replace the device.
//
// A regular file is written by a SequentialWriter (several positional writes in flight, O_DIRECT
// where possible: see adapters/sequential-writer.ts).
import { constants } from 'node:fs'
import { open as fsOpen, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { HashpipeError } from '../pipeline/errors.js'
import { isDiskFull, diskFullError } from '../pipeline/disk-full.js'
import { SequentialWriter, type SequentialWriterOptions } from './sequential-writer.js'

const kFlushBytes = 1 << 20

/** How the bytes reach their destination (see the file comment). */
export type WriteMode = 'stream' | 'in-place' | 'positional' | 'direct'

export type AtomicFileOptions = Pick<SequentialWriterOptions, 'directIo' | 'open'>

export class AtomicFileWriter {
  readonly path: string
  readonly #temp: string
  readonly #stream: Writable | undefined
  // In-place mode: the device or FIFO; otherwise the temp file's writer.
  #fh: FileHandle | undefined
  #file: SequentialWriter | undefined
  #mode: WriteMode = 'stream'
  #pending: Buffer[] = []
  #pendingBytes = 0
  #bytes = 0

  private constructor (path: string, stream: Writable | undefined) {
    this.path = path
    this.#stream = stream
    this.#temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`)
  }

  static async create (path: string, stdout: Writable, mode = 0o644, options: AtomicFileOptions = {}): Promise<AtomicFileWriter> {
    if (path === '-') return new AtomicFileWriter(path, stdout)
    const w = new AtomicFileWriter(path, undefined)
    const existing = await stat(path).catch(() => undefined)
    try {
      if (existing !== undefined && !existing.isFile()) {
        const open = options.open ?? fsOpen
        w.#fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, mode)
        w.#mode = 'in-place'
      } else {
        w.#file = await SequentialWriter.create(w.#temp, { ...options, mode })
        w.#mode = w.#file.direct ? 'direct' : 'positional'
      }
    } catch (err) {
      if (isDiskFull(err)) throw diskFullError(err, { path, doing: `cannot create output '${path}'`, elsewhere: 'write it elsewhere' })
      throw new HashpipeError('HP_ERR_OUTPUT_IO', `cannot create output '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check that its directory exists and is writable`, undefined, { cause: err })
    }
    return w
  }

  get bytes (): number { return this.#file?.bytes ?? this.#bytes }

  get mode (): WriteMode { return this.#mode }

  /**
   * Buffers small writes into blocks of a few MiB; awaits the disk (or the stream's drain) when
   * it must. `data` is copied: the caller may reuse it once this resolves.
   */
  async write (data: Buffer | string): Promise<void> {
    try {
      if (this.#file !== undefined) {
        await this.#file.write(typeof data === 'string' ? Buffer.from(data) : data)
        return
      }
      if (this.#fh !== undefined && typeof data !== 'string' && data.length >= kFlushBytes) {
        // A device or FIFO, and a block big enough on its own: written from the caller's
        // buffer, with no copy, before this resolves. Copying the output twice (here, then in
        // the flush's concat) held the main thread ~5 s of a 1 GiB run to /dev/null.
        await this.#flush()
        for (let at = 0; at < data.length;) at += (await this.#fh.write(data, at, data.length - at)).bytesWritten
        this.#bytes += data.length
        return
      }
      // A copy: the stream may hold it after this resolves, and the caller may reuse data.
      const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.copyBytesFrom(data)
      this.#pending.push(buf)
      this.#pendingBytes += buf.length
      if (this.#pendingBytes >= kFlushBytes) await this.#flush()
    } catch (err) {
      throw this.#ioError(err)
    }
  }

  async #flush (): Promise<void> {
    if (this.#pendingBytes === 0) return
    const block = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes)
    this.#pending = []
    this.#bytes += this.#pendingBytes
    this.#pendingBytes = 0
    if (this.#stream !== undefined) {
      if (!this.#stream.write(block)) await once(this.#stream, 'drain')
    } else {
      // A FIFO or device has no positions: strictly one write after another.
      await this.#fh!.write(block)
    }
  }

  #ioError (err: unknown): unknown {
    if (err instanceof HashpipeError) return err
    if (isDiskFull(err)) {
      return diskFullError(err, this.#stream !== undefined
        ? { path: 'the file standard output goes to', doing: 'cannot write output to standard output', elsewhere: 'redirect it elsewhere' }
        : { path: this.path, doing: `cannot write output '${this.path}'`, elsewhere: 'write it elsewhere' })
    }
    return new HashpipeError('HP_ERR_OUTPUT_IO', `cannot write output '${this.path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check free disk space`, undefined, { cause: err })
  }

  async commit (): Promise<void> {
    try {
      if (this.#file !== undefined) {
        await this.#file.finish()
        this.#bytes = this.#file.bytes
        await this.#file.sync()
        await this.#file.close()
        this.#file = undefined
        await rename(this.#temp, this.path)
        return
      }
      await this.#flush()
      if (this.#fh !== undefined) {
        await this.#fh.close()
        this.#fh = undefined
      }
    } catch (err) {
      throw this.#ioError(err)
    }
  }

  async abort (): Promise<void> {
    this.#pending = []
    if (this.#file !== undefined) {
      await this.#file.abort()
      this.#file = undefined
      await rm(this.#temp, { force: true })
    }
    await this.#fh?.close().catch(() => {})
    this.#fh = undefined
  }
}
