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

  private constructor (fd: number) { this.#fd = fd }

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
    const start = position - position % kDirectAlign
    const skip = position - start
    const span = Math.min(kBlockBytes, Math.ceil((skip + length) / kDirectAlign) * kDirectAlign)
    const block = await takeBlock()
    try {
      const { bytesRead } = await readAsync(this.#fd, block, 0, span, start)
      const n = Math.max(0, Math.min(length, bytesRead - skip))
      into.set(block.subarray(skip, skip + n), offset)
      return n
    } finally {
      giveBlock(block)
    }
  }

  /** Closes on libuv's threads (freeing an unlinked file's blocks can take a while); errors are dropped. */
  close (): void { closeFd(this.#fd, () => {}) }
}
