// Streaming merge of two ascending, distinct digest streams: what is only in `next` (adds) and
// only in `previous` (removes). Memory is two read chunks and two output blocks, whatever the
// set sizes, so a 100 M-identifier snapshot diffs in constant memory.
import { DIGEST_BYTES } from './protocol.js'

const kOutRecords = 32768

class Cursor {
  readonly #it: AsyncIterator<Uint8Array>
  chunk: Uint8Array = new Uint8Array(0)
  pos = 0
  done = false

  constructor (source: AsyncIterable<Uint8Array>) { this.#it = source[Symbol.asyncIterator]() }

  /** Ensures a current record unless the stream is exhausted. */
  async fill (): Promise<void> {
    while (!this.done && this.pos >= this.chunk.length) {
      const r = await this.#it.next()
      if (r.done === true) { this.done = true; return }
      this.chunk = r.value
      this.pos = 0
    }
  }
}

class Block {
  readonly #emit: (digests: Uint8Array, count: number) => Promise<void>
  #buf = new Uint8Array(kOutRecords * DIGEST_BYTES)
  #n = 0
  total = 0
  constructor (emit: (digests: Uint8Array, count: number) => Promise<void>) { this.#emit = emit }
  /** True when the block is full and must be flushed before the next push. */
  push (src: Uint8Array, at: number): boolean {
    this.#buf.set(src.subarray(at, at + DIGEST_BYTES), this.#n * DIGEST_BYTES)
    this.#n++
    this.total++
    return this.#n === kOutRecords
  }

  async flush (): Promise<void> {
    if (this.#n === 0) return
    const out = this.#buf.subarray(0, this.#n * DIGEST_BYTES)
    const n = this.#n
    this.#buf = new Uint8Array(kOutRecords * DIGEST_BYTES)
    this.#n = 0
    await this.#emit(out, n)
  }
}

function compareAt (a: Uint8Array, ia: number, b: Uint8Array, ib: number): number {
  for (let k = 0; k < DIGEST_BYTES; k++) {
    const d = a[ia + k]! - b[ib + k]!
    if (d !== 0) return d
  }
  return 0
}

export interface DiffSinks {
  added: (digests: Uint8Array, count: number) => Promise<void>
  removed: (digests: Uint8Array, count: number) => Promise<void>
}

export async function diffSorted (next: AsyncIterable<Uint8Array>, previous: AsyncIterable<Uint8Array>, sinks: DiffSinks): Promise<{ added: number, removed: number, kept: number }> {
  const a = new Cursor(next)
  const b = new Cursor(previous)
  const adds = new Block(sinks.added)
  const removes = new Block(sinks.removed)
  let kept = 0
  // Awaiting only at chunk and block boundaries: a microtask per record would dominate.
  await a.fill()
  await b.fill()
  while (!a.done && !b.done) {
    const c = compareAt(a.chunk, a.pos, b.chunk, b.pos)
    if (c < 0) {
      if (adds.push(a.chunk, a.pos)) await adds.flush()
      a.pos += DIGEST_BYTES
    } else if (c > 0) {
      if (removes.push(b.chunk, b.pos)) await removes.flush()
      b.pos += DIGEST_BYTES
    } else {
      kept++
      a.pos += DIGEST_BYTES
      b.pos += DIGEST_BYTES
    }
    if (a.pos >= a.chunk.length) await a.fill()
    if (b.pos >= b.chunk.length) await b.fill()
  }
  for (; !a.done; await a.fill()) {
    for (; a.pos < a.chunk.length; a.pos += DIGEST_BYTES) if (adds.push(a.chunk, a.pos)) await adds.flush()
  }
  for (; !b.done; await b.fill()) {
    for (; b.pos < b.chunk.length; b.pos += DIGEST_BYTES) if (removes.push(b.chunk, b.pos)) await removes.flush()
  }
  await adds.flush()
  await removes.flush()
  return { added: adds.total, removed: removes.total, kept }
}
