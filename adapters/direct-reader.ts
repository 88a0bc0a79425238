// Positional reads of a file through O_DIRECT, into any buffer at any offset: each read takes the
// aligned span around what was asked into a reused 4096-aligned block, then copies the asked part
// out. Used for the dedupe spill files, which the final pass reads once.
//
// Why: read through the page cache, the final pass of the 1 GiB bench spent ~4.6 s of CPU in the
// kernel copying 1.1 GB of spill out of freshly allocated cache pages (first touch of fresh memory
// runs at ~230 MB/s on this project's VM; perf: _copy_to_iter under pread, 15% of all samples),
// and removing the files at the end took 0.65 s more to drop those pages. Direct reads land in
// blocks that are already touched, and leave nothing in the cache.
//
// At most kBlocks blocks exist; a read waits for one to be free. The final pass may ask for
// hundreds of reads at once (a unit reads its run from every spill), so without the bound a
// billion-identifier run would hold hundreds of MiB of blocks.
//
// A reader can also read ahead: fill a buffer of its own, `readAhead` bytes from the aligned start
// of an ask, and serve the asks that follow from it. Why: the final pass reads each spill file
// front to back in small pieces (one per spill per unit: ~16 KB each at a billion identifiers,
// ~1.9 M reads), and on this project's VM a direct read's cost is mostly its latency: dd with
// iflag=direct reads 117 MB/s in 16 KiB blocks, 384 MB/s in 64 KiB, 1.6 GB/s in 256 KiB.
import { close as closeFd, constants, openSync, read } from 'node:fs'
import { promisify } from 'node:util'
import { alignedBuffer, kDirectAlign } from './aligned-buffer.js'

const readAsync = promisify(read)

const kBlockBytes = 1 << 20
// More than libuv's four threads can run at once, so one is always being filled while copied.
const kBlocks = 8

const free: Buffer[] = []
let made = 0
const waiting: Array<(block: Buffer) => void> = []

async function takeBlock (): Promise<Buffer> {
  const block = free.pop()
  if (block !== undefined) return block
  if (made < kBlocks) {
    made++
    return alignedBuffer!(kBlockBytes)
  }
  return await new Promise(resolve => waiting.push(resolve))
}

function giveBlock (block: Buffer): void {
  const next = waiting.shift()
  if (next !== undefined) next(block)
  else free.push(block)
}

export class DirectReader {
  readonly #fd: number
  #ahead = 0
  // What the last fill read: file bytes [#cacheStart, #cacheStart + #cacheBytes) (fewer than
  // #ahead only at the end of the file).
  #cache: Buffer | undefined
  #cacheStart = 0
  #cacheBytes = 0
  // Asks served by read-ahead run one after another, so a fill never overwrites what an earlier
  // ask still has to copy out. The spill files' asks come in file order anyway.
  #queue: Promise<unknown> = Promise.resolve()
  #reads = 0

  private constructor (fd: number) { this.#fd = fd }

  /**
   * Bytes each fill reads ahead (rounded down to kDirectAlign; 0, the default, reads only what
   * is asked). Asks longer than a fill can serve take the shared blocks, as without read-ahead.
   */
  set readAhead (bytes: number) {
    this.#ahead = Math.max(0, Math.floor(bytes / kDirectAlign) * kDirectAlign)
    if (this.#cache !== undefined && this.#cache.length !== this.#ahead) {
      this.#cache = undefined
      this.#cacheBytes = 0
    }
  }

  get readAhead (): number { return this.#ahead }

  /** Reads this reader has asked the kernel for: for tests. */
  get reads (): number { return this.#reads }

  /** Aligned blocks made so far, by all readers (never more than kBlocks): for tests. */
  static get blocks (): number { return made }

  /**
   * path opened for direct reads, or undefined when that is not possible here (no native
   * addon, or the filesystem refuses O_DIRECT): the caller then reads through the page cache.
   */
  static open (path: string): DirectReader | undefined {
    if (alignedBuffer === undefined || constants.O_DIRECT === undefined) return undefined
    try {
      return new DirectReader(openSync(path, constants.O_RDONLY | constants.O_DIRECT))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EINVAL') return undefined
      throw err
    }
  }

  /**
   * Reads up to `length` bytes at `position` into into[offset…] (at most one block's worth per
   * call, fewer at the end of the file); 0 at or past the end.
   */
  async read (into: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    if (length <= this.#ahead - kDirectAlign) {
      const served = this.#queue.then(async () => await this.#readAhead(into, offset, length, position))
      this.#queue = served.catch(() => {})
      return await served
    }
    return await this.#readBlock(into, offset, length, position)
  }

  /** One read into a shared block, copied out: no read-ahead. */
  async #readBlock (into: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const start = position - position % kDirectAlign
    const skip = position - start
    const span = Math.min(kBlockBytes, Math.ceil((skip + length) / kDirectAlign) * kDirectAlign)
    const block = await takeBlock()
    try {
      this.#reads++
      const { bytesRead } = await readAsync(this.#fd, block, 0, span, start)
      const n = Math.max(0, Math.min(length, bytesRead - skip))
      into.set(block.subarray(skip, skip + n), offset)
      return n
    } finally {
      giveBlock(block)
    }
  }

  async #readAhead (into: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    // The read-ahead was made smaller while this ask waited its turn.
    if (length > this.#ahead - kDirectAlign) return await this.#readBlock(into, offset, length, position)
    let cache = this.#cache
    let skip = position - this.#cacheStart
    // Served when the ask lies in what the last fill read, or starts in it when that fill
    // reached the end of the file.
    const hit = cache !== undefined && this.#cacheBytes > 0 && skip >= 0 &&
      (skip + length <= this.#cacheBytes || this.#cacheBytes < this.#ahead)
    if (!hit) {
      cache = this.#cache ??= alignedBuffer!(this.#ahead)
      const start = position - position % kDirectAlign
      // Empty until the fill lands: a failed fill leaves nothing to serve from.
      this.#cacheBytes = 0
      this.#reads++
      const { bytesRead } = await readAsync(this.#fd, cache, 0, cache.length, start)
      if (this.#cache === cache) {
        this.#cacheStart = start
        this.#cacheBytes = bytesRead
      }
      skip = position - start
      const n = Math.max(0, Math.min(length, bytesRead - skip))
      into.set(cache.subarray(skip, skip + n), offset)
      return n
    }
    const n = Math.max(0, Math.min(length, this.#cacheBytes - skip))
    into.set(cache!.subarray(skip, skip + n), offset)
    return n
  }

  /** Closes on libuv's threads (freeing an unlinked file's blocks can take a while); errors are dropped. */
  /** Closes the descriptor on libuv's threads; resolves when it is closed (errors ignored: the file is unlinked). */
  async close (): Promise<void> {
    this.#cache = undefined
    this.#cacheBytes = 0
    await new Promise<void>(resolve => { closeFd(this.#fd, () => { resolve() }) })
  }
}
