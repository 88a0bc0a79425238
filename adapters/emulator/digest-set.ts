// A set of 32-byte digests held as sorted Buffers (32 bytes an entry, no per-entry object),
// so an emulated audience of 10^8 identifiers takes 3.2 GB, not the 2^24-entry ceiling of a
// JavaScript Set of strings. Set operations are linear merges; building one sorts by radix on
// the first two bytes, then each bucket natively on the next three (ties by the whole digest),
// so a 10 M-entry file costs no object per entry and no JavaScript comparator call per pair.
const W = 32
/** 2^29: the bucket-local index packed below a 24-bit key, exactly, in one float64. */
const kIndexSpan = 536_870_912

/** Byte order of the digests at a and b (offsets in entries). */
function cmp (x: Buffer, a: number, y: Buffer, b: number): number {
  let i = a * W
  let j = b * W
  const end = i + W
  for (; i < end; i++, j++) {
    const d = x[i]! - y[j]!
    if (d !== 0) return d
  }
  return 0
}

/** One entry copied inline: cheaper than Buffer#copy's call per 32 bytes. */
function put (from: Buffer, e: number, to: Buffer, m: number): void {
  const s = e * W
  const d = m * W
  for (let k = 0; k < W; k++) to[d + k] = from[s + k]!
}

export class DigestSet {
  /** Sorted, disjoint runs in order (an audience made of files cut from one sorted list keeps one per file, uncopied). */
  #parts: Buffer[]
  readonly size: number

  private constructor (buf: Buffer | Buffer[]) {
    this.#parts = Array.isArray(buf) ? buf.filter(b => b.length > 0) : [buf]
    this.size = this.#parts.reduce((n, b) => n + b.length, 0) / W
  }

  /** Every member, sorted, in one buffer (joined on first use). */
  get buf (): Buffer {
    if (this.#parts.length !== 1) this.#parts = [Buffer.concat(this.#parts)]
    return this.#parts[0]!
  }

  /** Byte order of this set's last member and the other's first. */
  #before (other: DigestSet): boolean {
    const last = this.#parts[this.#parts.length - 1]!
    return cmp(last, last.length / W - 1, other.#parts[0]!, 0) < 0
  }

  #first (): Buffer { return this.#parts[0]! }

  static empty (): DigestSet { return new DigestSet(Buffer.alloc(0)) }

  /** From digests in any order, with repeats. */
  static from (digests: Buffer): DigestSet {
    const n = digests.length / W
    let sorted = true
    for (let i = 1; i < n && sorted; i++) sorted = cmp(digests, i - 1, digests, i) < 0
    if (sorted) return new DigestSet(digests)
    // Counting sort of entry numbers by the first 16 bits.
    const starts = new Uint32Array(65_537)
    for (let i = 0; i < n; i++) starts[((digests[i * W]! << 8) | digests[i * W + 1]!) + 1]!++
    for (let k = 1; k <= 65_536; k++) starts[k]! += starts[k - 1]!
    const fill = starts.slice(0, 65_536)
    const order = new Uint32Array(n)
    for (let i = 0; i < n; i++) order[fill[(digests[i * W]! << 8) | digests[i * W + 1]!]!++] = i
    const out = Buffer.allocUnsafe(digests.length)
    let m = 0
    let largest = 0
    for (let k = 0; k < 65_536; k++) largest = Math.max(largest, starts[k + 1]! - starts[k]!)
    const keys = new Float64Array(largest)
    const run: number[] = []
    for (let k = 0; k < 65_536; k++) {
      const s = starts[k]!
      const len = starts[k + 1]! - s
      if (len === 0) continue
      const ks = keys.subarray(0, len)
      for (let l = 0; l < len; l++) {
        const e = order[s + l]! * W
        ks[l] = ((digests[e + 2]! << 16) | (digests[e + 3]! << 8) | digests[e + 4]!) * kIndexSpan + l
      }
      ks.sort()
      // Entries whose first five bytes agree are rare in digests (repeats among them): sorted whole.
      for (let l = 0; l < len;) {
        const key = Math.floor(ks[l]! / kIndexSpan)
        let r = l + 1
        while (r < len && Math.floor(ks[r]! / kIndexSpan) === key) r++
        if (r - l === 1) put(digests, order[s + (ks[l]! % kIndexSpan)]!, out, m++)
        else {
          run.length = 0
          for (let q = l; q < r; q++) run.push(order[s + (ks[q]! % kIndexSpan)]!)
          run.sort((a, b) => cmp(digests, a, digests, b))
          for (let q = 0; q < run.length; q++) {
            if (q > 0 && cmp(digests, run[q - 1]!, digests, run[q]!) === 0) continue
            put(digests, run[q]!, out, m++)
          }
        }
        l = r
      }
    }
    return new DigestSet(out.subarray(0, m * W))
  }

  static fromHex (hex: string[]): DigestSet {
    const b = Buffer.allocUnsafe(hex.length * W)
    hex.forEach((h, i) => b.write(h, i * W, 'hex'))
    return DigestSet.from(b)
  }

  /**
   * The union of many (a create or update of up to 500 files): sets that follow one another
   * (files cut from one sorted list) are joined in one copy, not one growing copy per file.
   */
  static unionAll (sets: DigestSet[]): DigestSet {
    const some = sets.filter(x => x.size > 0).sort((x, y) => cmp(x.#first(), 0, y.#first(), 0))
    if (some.length === 0) return DigestSet.empty()
    if (some.length === 1) return some[0]!
    let ordered = true
    for (let i = 1; i < some.length && ordered; i++) ordered = some[i - 1]!.#before(some[i]!)
    if (ordered) return new DigestSet(some.flatMap(x => x.#parts))
    return some.reduce((acc, x) => acc.union(x))
  }

  /** The union (APPEND). */
  union (other: DigestSet): DigestSet {
    if (other.size === 0) return this
    if (this.size === 0) return other
    // Disjoint ranges (files cut from one sorted snapshot) are kept as they are, uncopied.
    if (this.#before(other)) return new DigestSet([...this.#parts, ...other.#parts])
    if (other.#before(this)) return new DigestSet([...other.#parts, ...this.#parts])
    const a = this.buf
    const b = other.buf
    const na = this.size
    const nb = other.size
    const out = Buffer.allocUnsafe(a.length + b.length)
    let i = 0; let j = 0; let m = 0
    while (i < na && j < nb) {
      const c = cmp(a, i, b, j)
      if (c <= 0) { put(a, i, out, m); i++; if (c === 0) j++ } else { put(b, j, out, m); j++ }
      m++
    }
    if (i < na) { a.copy(out, m * W, i * W); m += na - i }
    if (j < nb) { b.copy(out, m * W, j * W); m += nb - j }
    return new DigestSet(out.subarray(0, m * W))
  }

  /** This set without the other's members (REMOVE). */
  difference (other: DigestSet): DigestSet {
    if (other.size === 0 || this.size === 0) return this
    const a = this.buf
    const b = other.buf
    const out = Buffer.allocUnsafe(a.length)
    let j = 0; let m = 0
    for (let i = 0; i < this.size; i++) {
      while (j < other.size && cmp(b, j, a, i) < 0) j++
      if (j < other.size && cmp(b, j, a, i) === 0) continue
      put(a, i, out, m)
      m++
    }
    return new DigestSet(out.subarray(0, m * W))
  }

  /** Lowercase hex of every member, sorted (the inspection route; small audiences). */
  hex (): string[] {
    const out = new Array<string>(this.size)
    const b = this.buf
    for (let i = 0; i < this.size; i++) out[i] = b.toString('hex', i * W, (i + 1) * W)
    return out
  }
}
