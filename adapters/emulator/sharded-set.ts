// A set of strings split over 256 JavaScript Sets by an FNV-1a hash of the whole string (the
// last two characters alone left half the shards empty for hex digests, and would put every
// address of one domain in one). A Set rehashes all its entries when it doubles, synchronously:
// 34 ms at 262,144 digests and 74 ms at 524,288 on the 2-core bench machine. An emulated
// audience filling up then froze the emulator's event loop, and the arrival stamps of the
// requests that came in meanwhile, longer than the clients' 30 ms margin (a 40100 in the
// shared-quota bench). Split, each doubling moves a 256th of the entries.
const kShards = 256

export class ShardedSet implements Iterable<string> {
  readonly #shards: Array<Set<string>> = Array.from({ length: kShards }, () => new Set<string>())
  #size = 0

  constructor (values: Iterable<string> = []) {
    for (const v of values) this.add(v)
  }

  get size (): number { return this.#size }

  #of (v: string): Set<string> {
    let h = 0x811c9dc5
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 16777619)
    return this.#shards[(h ^ (h >>> 16)) & (kShards - 1)]!
  }

  has (v: string): boolean { return this.#of(v).has(v) }

  add (v: string): this {
    const s = this.#of(v)
    if (!s.has(v)) { s.add(v); this.#size++ }
    return this
  }

  delete (v: string): boolean {
    const gone = this.#of(v).delete(v)
    if (gone) this.#size--
    return gone
  }

  * [Symbol.iterator] (): Iterator<string> {
    for (const s of this.#shards) yield * s
  }
}
