// An exact set of 16-byte keys (prefixes of SHA-256 digests) held off the JavaScript heap: 256
// open-addressing tables chosen by the key's first byte, each doubling on its own, 32 to 64 bytes
// a key. A Set of a million strings is a million heap objects and one hash table rehashed whole
// when it doubles (230 ms at half a million keys in the emulator); in the conversions sender the
// Set kept the heap at 450 MB instead of 150, and both held the event loop that times requests
// against TikTok's one-second windows. An all-zero key cannot be stored (it marks an empty
// slot); for a digest prefix that is a 2^-128 chance.
const kKey = 16

export class DigestTable {
  readonly #tables: Array<{ slots: Buffer, count: number }> = Array.from({ length: 256 }, () => ({ slots: Buffer.alloc(kKey << 6), count: 0 }))
  #size = 0

  get size (): number { return this.#size }

  /** Adds the first 16 bytes of digest; returns false when they were there already. */
  add (digest: Buffer): boolean {
    const key = digest.subarray(0, kKey)
    const table = this.#tables[key[0]!]!
    let at = find(key, table.slots)
    if (at >= 0) return false
    if ((table.count + 1) * 2 > table.slots.length / kKey) {
      table.slots = grow(table.slots)
      at = find(key, table.slots)
    }
    key.copy(table.slots, -at - 1)
    table.count++
    this.#size++
    return true
  }

  has (digest: Buffer): boolean {
    const key = digest.subarray(0, kKey)
    return find(key, this.#tables[key[0]!]!.slots) >= 0
  }
}

const empty = (slots: Buffer, at: number): boolean => slots.readBigUInt64LE(at) === 0n && slots.readBigUInt64LE(at + 8) === 0n

/** The slot offset holding key, or −(offset of the empty slot where it belongs) − 1. Probing starts from bytes 1–4: byte 0 chose the table. */
function find (key: Buffer, slots: Buffer): number {
  const mask = slots.length / kKey - 1
  for (let i = key.readUInt32LE(1) & mask; ; i = (i + 1) & mask) {
    const at = i * kKey
    if (empty(slots, at)) return -at - 1
    if (slots.compare(key, 0, kKey, at, at + kKey) === 0) return at
  }
}

function grow (old: Buffer): Buffer {
  const next = Buffer.alloc(old.length * 2)
  for (let at = 0; at < old.length; at += kKey) {
    if (empty(old, at)) continue
    const key = old.subarray(at, at + kKey)
    key.copy(next, -find(key, next) - 1)
  }
  return next
}
