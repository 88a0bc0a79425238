// Appends to a new regular file quickly: blocks of a few MiB are written at their positions,
// several at a time, and with O_DIRECT when the filesystem takes it and the native addon can give
// 4096-aligned memory. Used for the hash output (through AtomicFileWriter) and the dedupe spill.
//
// Why O_DIRECT: measured on this project's VM, 2.5 GB took 0.9–1.0 s written direct from a few
// reused blocks and 5.8–6.8 s through the page cache, almost all of it kernel time spent on fresh
// cache pages (bench/results/). The file is then not cached for a reader that comes right after,
// the trade made for files of gigabytes. HASHPIPE_DIRECT_IO=0 turns it off.
//
// Why several writes in flight: one at a time leaves the copy into the page cache (and, on VMs,
// the fault-in of fresh pages) to a single libuv thread; measured here, 2.4 GB took 2.0–5.5 s one
// at a time and 1.6–1.9 s four at a time.
//
// Data is always copied into the writer's own reused blocks, so callers may reuse their buffers
// as soon as write() resolves (the dedupe pass recycles its row buffers that way).
//
// Errors are the system's (ENOSPC, EFBIG, ...): callers know what the file is for and say so.
import { constants, type PathLike } from 'node:fs'
import { open as fsOpen, rm, type FileHandle } from 'node:fs/promises'
import { OrderedWindow } from '../pipeline/ordered-window.js'
import { alignedBuffer, kDirectAlign } from './aligned-buffer.js'

const kWritesInFlight = 4
// Data is copied into blocks of this size, each written whole while the next fills.
const kBlockBytes = 4 << 20

/**
 * Free blocks shared by writers that run one after another (the spill files of one run): each
 * takes from them before allocating, and gives its blocks back when it closes, up to
 * kWritesInFlight + 1 of each kind. Why: with glibc's mmap threshold pinned (pipeline/heap-trim.ts)
 * every fresh block is fresh pages to fault in, 20 MiB a spill file.
 */
export interface SharedBlocks { direct: Buffer[], plain: Buffer[] }

export interface SequentialWriterOptions {
  /** Permission bits of a file this creates. Default 0o644. */
  mode?: number
  /** O_DIRECT when possible (default: unless HASHPIPE_DIRECT_IO=0). */
  directIo?: boolean
  /** For tests: the open() used. */
  open?: (path: PathLike, flags: number, mode: number) => Promise<FileHandle>
  /** Blocks to take from and give back at close (see SharedBlocks). */
  blocks?: SharedBlocks
}

export class SequentialWriter {
  readonly path: string
  readonly direct: boolean
  #fh: FileHandle | undefined
  #bytes = 0
  // Writes not yet done, oldest first; each holds its block until written, then frees it.
  readonly #writes = new OrderedWindow<Buffer>({ limit: kWritesInFlight, apply: block => { this.#free.push(block) } })
  // The block being filled, how much of it is, where it goes, and the blocks free again after
  // their write (at most kWritesInFlight + 1 ever exist).
  #block: Buffer | undefined
  #fill = 0
  #position = 0
  #free: Buffer[] = []
  readonly #shared: Buffer[] | undefined

  private constructor (path: string, fh: FileHandle, direct: boolean, blocks: SharedBlocks | undefined) {
    this.path = path
    this.#fh = fh
    this.direct = direct
    this.#shared = direct ? blocks?.direct : blocks?.plain
  }

  /** Creates (or truncates) path. */
  static async create (path: string, options: SequentialWriterOptions = {}): Promise<SequentialWriter> {
    const open = options.open ?? (async (p: PathLike, flags: number, m: number) => await fsOpen(p, flags, m))
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC
    const mode = options.mode ?? 0o644
    const direct = options.directIo ?? process.env.HASHPIPE_DIRECT_IO !== '0'
    if (direct && alignedBuffer !== undefined && constants.O_DIRECT !== undefined) {
      const fh = await openDirect(path, flags, mode, open)
      if (fh !== undefined) return new SequentialWriter(path, fh, true, options.blocks)
    }
    return new SequentialWriter(path, await open(path, flags, mode), false, options.blocks)
  }

  /** Bytes accepted so far (the file's length once finish() has returned). */
  get bytes (): number { return this.#bytes }

  /**
   * Copies `data` into the current block; resolves once it is copied (the caller may reuse
   * data then), after waiting for the disk only when too many blocks are in flight.
   */
  async write (data: Uint8Array): Promise<void> {
    for (let at = 0; at < data.length;) {
      const block = this.#block ??= this.#free.pop() ?? this.#shared?.pop() ?? (this.direct ? alignedBuffer!(kBlockBytes) : Buffer.allocUnsafeSlow(kBlockBytes))
      const n = Math.min(data.length - at, block.length - this.#fill)
      block.set(data.subarray(at, at + n), this.#fill)
      at += n
      this.#fill += n
      this.#bytes += n
      if (this.#fill === block.length) await this.#submit()
    }
  }

  /** Writes what is buffered, waits for every write, and cuts a direct file back to its data. */
  async finish (): Promise<void> {
    await this.#submit()
    await this.#writes.drain()
    // The last direct block was padded to the alignment; the file ends where the data does.
    if (this.direct) await this.#fh!.truncate(this.#bytes)
  }

  async sync (): Promise<void> { await this.#fh!.sync() }

  async close (): Promise<void> {
    const fh = this.#fh
    this.#fh = undefined
    // A closed writer can outlive its file's writing (a spill file keeps it for its byte count
    // until the run ends): its blocks, up to 20 MiB, must not. Held, they grew the billion-
    // identifier run's RSS by ~20 MiB per spill. Shared blocks go back for the next writer.
    // (After finish() every write has settled, so every block is in #free or #block.)
    const shared = this.#shared
    if (shared !== undefined) {
      for (const block of this.#block !== undefined ? [...this.#free, this.#block] : this.#free) {
        if (shared.length < kWritesInFlight + 1) shared.push(block)
      }
    }
    this.#block = undefined
    this.#free = []
    await fh?.close()
  }

  /** Lets writes in flight settle and closes; the file stays (callers remove it). */
  async abort (): Promise<void> {
    this.#block = undefined
    this.#free = []
    // A write's failure is already known to the caller, or beside the point of aborting.
    await this.#writes.close().catch(() => {})
    await this.#fh?.close().catch(() => {})
    this.#fh = undefined
  }

  /** Writes the current block at its position (direct: its filled part rounded up to kDirectAlign, zero-padded). */
  async #submit (): Promise<void> {
    const block = this.#block
    if (block === undefined || this.#fill === 0) return
    const length = this.direct ? Math.ceil(this.#fill / kDirectAlign) * kDirectAlign : this.#fill
    block.fill(0, this.#fill, length)
    const position = this.#position
    this.#position += length
    this.#block = undefined
    this.#fill = 0
    // Resolves once fewer than kWritesInFlight are in flight; a failed write fails this or a
    // later call.
    await this.#writes.submit(() => this.#writeAt(block, length, position))
  }

  /** Writes block[0, length) at position; resolves to the block, free again. */
  async #writeAt (block: Buffer, length: number, position: number): Promise<Buffer> {
    let done = 0
    while (done < length) {
      const { bytesWritten } = await this.#fh!.write(block, done, length - done, position + done)
      done += bytesWritten
    }
    return block
  }
}

/**
 * path opened with O_DIRECT, or undefined when this filesystem does not take direct writes
 * (EINVAL at open, or at a first aligned write: some accept the flag and refuse the I/O).
 */
async function openDirect (path: string, flags: number, mode: number, open: NonNullable<SequentialWriterOptions['open']>): Promise<FileHandle | undefined> {
  let probe: Buffer
  try {
    probe = alignedBuffer!(kDirectAlign).fill(0)
  } catch {
    return undefined
  }
  let fh: FileHandle
  try {
    fh = await open(path, flags | constants.O_DIRECT, mode)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return undefined
    throw err
  }
  try {
    await fh.write(probe, 0, kDirectAlign, 0)
    return fh
  } catch (err) {
    await fh.close().catch(() => {})
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return undefined
    await rm(path, { force: true })
    throw err
  }
}
