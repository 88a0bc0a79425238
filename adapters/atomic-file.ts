// Writes a file so that readers see either nothing or the whole thing: data goes to a temp file
// beside the target, is fsynced, and is renamed over the target on commit(). abort() removes the
// temp file, so a failed run never leaves a half-written output where a complete one is expected.
// `-` writes to the given stream instead, and a path that exists but is not a regular file
// (/dev/stderr, a FIFO) is written in place: renaming over it would replace the device.
//
// A regular file is written with O_DIRECT when the filesystem takes it and the native addon can
// give 4096-aligned memory ('direct' mode): the data goes from a few reused blocks straight to
// the disk instead of into new page-cache pages. Measured on this project's VM, 2.5 GB took
// 0.9–1.0 s that way and 6.8 s through the page cache, almost all of it kernel time spent on
// fresh pages (bench/results/). The output is then not cached for a reader that comes right
// after, the trade made for outputs of gigabytes. HASHPIPE_DIRECT_IO=0 turns it off.
import { constants, type PathLike } from 'node:fs'
import { open as fsOpen, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { HashpipeError } from '../engine/errors.js'
import { nativeAddon } from '../pipeline/native-hash.js'

const kFlushBytes = 1 << 20
// Positional writes kept in flight at once to a regular file. One write at a time leaves the
// copy into the page cache (and, on VMs, the fault-in of fresh pages) to a single libuv thread;
// measured here, 2.4 GB took 2.0–5.5 s one at a time and 1.6–1.9 s four at a time.
const kWritesInFlight = 4
const kSliceBytes = 4 << 20
// Direct writes: offsets, lengths and memory must be multiples of the device's logical block,
// which is at most 4096 on the disks Linux supports for it.
const kDirectAlign = 4096
const kDirectBlockBytes = 4 << 20

type AlignedBuffer = (bytes: number) => Buffer
const alignedBuffer = typeof nativeAddon?.alignedBuffer === 'function' ? nativeAddon.alignedBuffer as AlignedBuffer : undefined

/** How the bytes reach their destination (see the file comment). */
export type WriteMode = 'stream' | 'in-place' | 'positional' | 'direct'

export interface AtomicFileOptions {
  /** O_DIRECT for regular files when possible (default: unless HASHPIPE_DIRECT_IO=0). */
  directIo?: boolean
  /** For tests: the open() used for the temp file. */
  open?: (path: PathLike, flags: number, mode: number) => Promise<FileHandle>
}

export class AtomicFileWriter {
  readonly path: string
  readonly #temp: string
  readonly #stream: Writable | undefined
  #fh: FileHandle | undefined
  #mode: WriteMode = 'stream'
  #pending: Buffer[] = []
  #pendingBytes = 0
  #bytes = 0
  // Regular-file writes not yet settled, oldest first; each holds its block until written.
  #inFlight: Array<Promise<void>> = []
  #failed: { error: unknown } | undefined
  // Direct mode: the block being filled, how much of it is, where it goes, and the blocks free
  // again after their write (at most kWritesInFlight + 1 ever exist).
  #block: Buffer | undefined
  #fill = 0
  #position = 0
  #free: Buffer[] = []

  private constructor (path: string, stream: Writable | undefined) {
    this.path = path
    this.#stream = stream
    this.#temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`)
  }

  static async create (path: string, stdout: Writable, mode = 0o644, options: AtomicFileOptions = {}): Promise<AtomicFileWriter> {
    if (path === '-') return new AtomicFileWriter(path, stdout)
    const w = new AtomicFileWriter(path, undefined)
    const existing = await stat(path).catch(() => undefined)
    const inPlace = existing !== undefined && !existing.isFile()
    const open = options.open ?? (async (p: PathLike, flags: number, m: number) => await fsOpen(p, flags, m))
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC
    try {
      if (inPlace) {
        w.#fh = await open(path, flags, mode)
        w.#mode = 'in-place'
        return w
      }
      const direct = options.directIo ?? process.env.HASHPIPE_DIRECT_IO !== '0'
      if (direct && alignedBuffer !== undefined && constants.O_DIRECT !== undefined) w.#fh = await openDirect(w.#temp, flags, mode, open)
      w.#mode = w.#fh !== undefined ? 'direct' : 'positional'
      w.#fh ??= await open(w.#temp, flags, mode)
    } catch (err) {
      throw new HashpipeError('HP_ERR_OUTPUT_IO', `cannot create output '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check that its directory exists and is writable`, undefined, { cause: err })
    }
    return w
  }

  get bytes (): number { return this.#bytes }

  get mode (): WriteMode { return this.#mode }

  /** Buffers small writes into blocks of a few MiB; awaits the disk (or the stream's drain) per block. */
  async write (data: Buffer | string): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data
    if (this.#mode === 'direct') {
      await this.#writeDirect(buf)
      return
    }
    this.#pending.push(buf)
    this.#pendingBytes += buf.length
    if (this.#pendingBytes >= kFlushBytes) await this.#flush()
  }

  /** Copies into aligned blocks; each full one is written at its position while the next fills. */
  async #writeDirect (buf: Buffer): Promise<void> {
    try {
      for (let at = 0; at < buf.length;) {
        const block = this.#block ??= this.#free.pop() ?? alignedBuffer!(kDirectBlockBytes)
        const n = buf.copy(block, this.#fill, at)
        at += n
        this.#fill += n
        this.#bytes += n
        if (this.#fill === block.length) await this.#submitDirect()
      }
    } catch (err) {
      throw this.#ioError(err)
    }
  }

  /** Writes the current block (its filled part rounded up to kDirectAlign, zero-padded). */
  async #submitDirect (): Promise<void> {
    const block = this.#block
    if (block === undefined || this.#fill === 0) return
    const length = Math.ceil(this.#fill / kDirectAlign) * kDirectAlign
    block.fill(0, this.#fill, length)
    const position = this.#position
    this.#position += length
    this.#block = undefined
    this.#fill = 0
    this.#inFlight.push(this.#writeAt(block.subarray(0, length), position).then(() => { this.#free.push(block) }))
    if (this.#inFlight.length >= kWritesInFlight) await this.#inFlight.shift()
    this.#throwIfFailed()
  }

  async #flush (): Promise<void> {
    if (this.#pendingBytes === 0) return
    const block = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes)
    const position = this.#bytes
    this.#pending = []
    this.#bytes += this.#pendingBytes
    this.#pendingBytes = 0
    try {
      if (this.#stream !== undefined) {
        if (!this.#stream.write(block)) await once(this.#stream, 'drain')
      } else if (this.#mode === 'in-place') {
        // A FIFO or device has no positions: strictly one write after another.
        await this.#fh!.write(block)
      } else {
        // Big blocks go out in slices, so memory held by writes in flight stays bounded too.
        for (let at = 0; at < block.length; at += kSliceBytes) {
          this.#throwIfFailed()
          this.#inFlight.push(this.#writeAt(block.subarray(at, at + kSliceBytes), position + at))
          if (this.#inFlight.length >= kWritesInFlight) await this.#inFlight.shift()
        }
        this.#throwIfFailed()
      }
    } catch (err) {
      throw this.#ioError(err)
    }
  }

  /** Writes all of block at position; never rejects (a failure is kept for the next call). */
  async #writeAt (block: Buffer, position: number): Promise<void> {
    try {
      let done = 0
      while (done < block.length) {
        const { bytesWritten } = await this.#fh!.write(block, done, block.length - done, position + done)
        done += bytesWritten
      }
    } catch (error) {
      this.#failed ??= { error }
    }
  }

  #throwIfFailed (): void {
    if (this.#failed !== undefined) throw this.#failed.error
  }

  #ioError (err: unknown): unknown {
    if (err instanceof HashpipeError) return err
    return new HashpipeError('HP_ERR_OUTPUT_IO', `cannot write output '${this.path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check free disk space`, undefined, { cause: err })
  }

  /** Waits for every positional write; throws the first failure. */
  async #drain (): Promise<void> {
    const inFlight = this.#inFlight
    this.#inFlight = []
    await Promise.all(inFlight)
    if (this.#failed !== undefined) throw this.#ioError(this.#failed.error)
  }

  async commit (): Promise<void> {
    if (this.#mode === 'direct') {
      try {
        await this.#submitDirect()
      } catch (err) {
        throw this.#ioError(err)
      }
    }
    await this.#flush()
    await this.#drain()
    if (this.#fh === undefined) return
    try {
      // The last direct block was padded to the alignment; the file ends where the data does.
      if (this.#mode === 'direct') await this.#fh.truncate(this.#bytes)
      if (this.#mode !== 'in-place') await this.#fh.sync()
    } catch (err) {
      throw this.#ioError(err)
    }
    await this.#fh.close()
    this.#fh = undefined
    if (this.#mode !== 'in-place') await rename(this.#temp, this.path)
  }

  async abort (): Promise<void> {
    this.#pending = []
    this.#block = undefined
    await Promise.all(this.#inFlight)
    this.#inFlight = []
    if (this.#fh === undefined) return
    await this.#fh.close().catch(() => {})
    this.#fh = undefined
    if (this.#mode !== 'in-place') await rm(this.#temp, { force: true })
  }
}

/**
 * The temp file opened with O_DIRECT, or undefined when this filesystem does not take direct
 * writes (EINVAL at open, or at a first aligned write: some accept the flag and refuse the I/O).
 */
async function openDirect (path: string, flags: number, mode: number, open: NonNullable<AtomicFileOptions['open']>): Promise<FileHandle | undefined> {
  let fh: FileHandle
  try {
    fh = await open(path, flags | constants.O_DIRECT, mode)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return undefined
    throw err
  }
  try {
    await fh.write(alignedBuffer!(kDirectAlign).fill(0), 0, kDirectAlign, 0)
    return fh
  } catch (err) {
    await fh.close().catch(() => {})
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return undefined
    await rm(path, { force: true })
    throw err
  }
}
