// Normalized values waiting to be hashed, packed in one buffer with their offsets and the digest
// slot each one fills, then hashed in a single hashMany call at the end of the batch (~50 ns
// each through the addon instead of ~300 ns for a crypto.hash per value plus the copy).
//
// The same staging serves both backends: without the addon, hashManyJs hashes the very same
// bytes, so the fallback production uses is the one test/pipeline/native-hash.test.ts checks.
import { DIGEST_BYTES } from './protocol.js'
import type { HashMany } from './native-hash.js'

// Buffer's own encoders without the argument-normalizing wrapper of write(): present on every
// Node Buffer, absent from @types/node.
interface RawWrites { latin1Write: (s: string, offset: number) => number, utf8Write: (s: string, offset: number) => number }

export class DigestStaging {
  readonly #hashMany: HashMany
  #stage = Buffer.alloc(0)
  #end = 0
  #offsets = new Uint32Array(1)
  #slotOf = new Uint32Array(0)
  #count = 0
  // Where hashMany puts the digests before they go to their slots, kept across batches: a fresh
  // one per batch is a megabyte of new pages to fault in (and unmap) every time.
  #hashed = new Uint8Array(0)

  constructor (hashMany: HashMany) {
    this.#hashMany = hashMany
  }

  get count (): number { return this.#count }

  /** Sized for a batch of `byteLength` bytes and `capacity` digests; grows past that if needed. */
  reset (byteLength: number, capacity: number): void {
    // Normalized values are rarely longer than their cells; add() grows the stage if one is.
    if (this.#stage.length < byteLength + 256) this.#stage = Buffer.allocUnsafeSlow(byteLength + 256)
    if (this.#offsets.length < capacity + 1) this.#offsets = new Uint32Array(capacity + 1)
    if (this.#slotOf.length < capacity) this.#slotOf = new Uint32Array(capacity)
    this.#end = 0
    this.#count = 0
  }

  /** `value` (UTF-8; `latin1` when it is known to be ASCII, a faster encoder) for digest slot `slot`. */
  add (value: string, slot: number, latin1: boolean): void {
    const worst = latin1 ? value.length : value.length * 3
    if (this.#end + worst > this.#stage.length) {
      const grown = Buffer.allocUnsafeSlow((this.#stage.length + worst) * 2)
      this.#stage.copy(grown, 0, 0, this.#end)
      this.#stage = grown
    }
    if (this.#count + 1 >= this.#offsets.length) {
      const offsets = new Uint32Array(this.#offsets.length * 2)
      offsets.set(this.#offsets)
      this.#offsets = offsets
      const slots = new Uint32Array(Math.max(this.#slotOf.length * 2, 1))
      slots.set(this.#slotOf)
      this.#slotOf = slots
    }
    this.#offsets[this.#count] = this.#end
    const stage = this.#stage as unknown as RawWrites
    this.#end += latin1 ? stage.latin1Write(value, this.#end) : stage.utf8Write(value, this.#end)
    this.#slotOf[this.#count++] = slot
  }

  /** Hashes everything staged into its slot of `digests` (32 bytes per slot). */
  hashInto (digests: Buffer): void {
    const n = this.#count
    if (n === 0) return
    this.#offsets[n] = this.#end
    if (this.#hashed.length < n * DIGEST_BYTES) this.#hashed = new Uint8Array(Math.ceil(n * 1.25) * DIGEST_BYTES)
    const hashed = this.#hashed.subarray(0, n * DIGEST_BYTES)
    this.#hashMany(this.#stage, this.#offsets, n, hashed)
    // Word copies into the slots: the digests of pre-hashed values already sit between them.
    const src = new Uint32Array(hashed.buffer, 0, n * 8)
    const dst = new Uint32Array(digests.buffer, digests.byteOffset, digests.length >> 2)
    for (let i = 0; i < n; i++) {
      const d = this.#slotOf[i]! * 8
      const s = i * 8
      for (let w = 0; w < 8; w++) dst[d + w] = src[s + w]!
    }
    this.#count = 0
    this.#end = 0
  }
}
