// A set of 32-byte digests held as one sorted Buffer (32 bytes an entry, no per-entry object),
// so an emulated audience of 10^8 identifiers takes 3.2 GB, not the 2^24-entry ceiling of a
// JavaScript Set of strings. Set operations are linear merges.
const W = 32

export class DigestSet {
  readonly buf: Buffer

  private constructor (buf: Buffer) { this.buf = buf }

  static empty (): DigestSet { return new DigestSet(Buffer.alloc(0)) }

  /** From digests in any order, with repeats. */
  static from (digests: Buffer): DigestSet {
    const n = digests.length / W
    let sorted = true
    for (let i = 1; i < n && sorted; i++) sorted = Buffer.compare(digests.subarray((i - 1) * W, i * W), digests.subarray(i * W, (i + 1) * W)) < 0
    if (sorted) return new DigestSet(digests)
    const views = Array.from({ length: n }, (_, i) => digests.subarray(i * W, (i + 1) * W)).sort(Buffer.compare)
    const out = Buffer.allocUnsafe(digests.length)
    let m = 0
    for (const v of views) {
      if (m > 0 && Buffer.compare(out.subarray((m - 1) * W, m * W), v) === 0) continue
      v.copy(out, m * W)
      m++
    }
    return new DigestSet(out.subarray(0, m * W))
  }

  static fromHex (hex: string[]): DigestSet {
    const b = Buffer.allocUnsafe(hex.length * W)
    hex.forEach((h, i) => b.write(h, i * W, 'hex'))
    return DigestSet.from(b)
  }

  get size (): number { return this.buf.length / W }

  #at (i: number): Buffer { return this.buf.subarray(i * W, (i + 1) * W) }

  /** The union (APPEND). */
  union (other: DigestSet): DigestSet {
    if (other.size === 0) return this
    if (this.size === 0) return other
    const out = Buffer.allocUnsafe(this.buf.length + other.buf.length)
    let i = 0; let j = 0; let m = 0
    while (i < this.size || j < other.size) {
      const c = i >= this.size ? 1 : j >= other.size ? -1 : Buffer.compare(this.#at(i), other.#at(j))
      if (c <= 0) { this.#at(i).copy(out, m * W); i++; if (c === 0) j++ } else { other.#at(j).copy(out, m * W); j++ }
      m++
    }
    return new DigestSet(out.subarray(0, m * W))
  }

  /** This set without the other's members (REMOVE). */
  difference (other: DigestSet): DigestSet {
    if (other.size === 0 || this.size === 0) return this
    const out = Buffer.allocUnsafe(this.buf.length)
    let j = 0; let m = 0
    for (let i = 0; i < this.size; i++) {
      while (j < other.size && Buffer.compare(other.#at(j), this.#at(i)) < 0) j++
      if (j < other.size && Buffer.compare(other.#at(j), this.#at(i)) === 0) continue
      this.#at(i).copy(out, m * W)
      m++
    }
    return new DigestSet(out.subarray(0, m * W))
  }

  /** Lowercase hex of every member, sorted (the inspection route; small audiences). */
  hex (): string[] {
    const out = new Array<string>(this.size)
    for (let i = 0; i < this.size; i++) out[i] = this.#at(i).toString('hex')
    return out
  }
}
