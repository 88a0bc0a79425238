// Sorts packed 32-byte digests and drops duplicates: the exact dedupe of record, run once per
// (id schema, digest-prefix partition) when a partition spills and when it is finalized.
//
// LSD radix sort on a 32-bit key taken from the digest (two 16-bit passes over an index array),
// then the rare runs of equal keys are ordered by a full 32-byte comparison. SHA-256 output is
// uniform, so the passes are balanced and equal keys are almost always true duplicates.
// Precondition: all records share bytes [0, keyOffset) (the partition prefix).
//
// The native addon's sortUnique (pipeline/native/sort_unique.cc) runs the same algorithm ~4x
// faster and is used when loaded; tests check both give identical bytes.
import { DIGEST_BYTES } from './protocol.js'
import { nativeAddon } from './native-hash.js'

type NativeSortUnique = (records: Uint8Array, count: number, keyOffset: number, out: Uint8Array) => number
const nativeSortUnique = typeof nativeAddon?.sortUnique === 'function' ? nativeAddon.sortUnique as NativeSortUnique : undefined

const kSmall = 2048

function compareRecords (a: Uint8Array, ia: number, ib: number): number {
  const oa = ia * DIGEST_BYTES
  const ob = ib * DIGEST_BYTES
  for (let k = 0; k < DIGEST_BYTES; k++) {
    const d = a[oa + k]! - a[ob + k]!
    if (d !== 0) return d
  }
  return 0
}

function keyAt (a: Uint8Array, i: number, keyOffset: number): number {
  const o = i * DIGEST_BYTES + keyOffset
  return ((a[o]! << 24) | (a[o + 1]! << 16) | (a[o + 2]! << 8) | a[o + 3]!) >>> 0
}

function sortedIndex (records: Uint8Array, n: number, keyOffset: number): Uint32Array {
  const idx = new Uint32Array(n)
  for (let i = 0; i < n; i++) idx[i] = i
  if (n < kSmall) return idx.sort((x, y) => compareRecords(records, x, y))
  const keys = new Uint32Array(n)
  for (let i = 0; i < n; i++) keys[i] = keyAt(records, i, keyOffset)
  const tmp = new Uint32Array(n)
  const count = new Uint32Array(65536)
  for (let i = 0; i < n; i++) count[keys[i]! & 0xffff]!++
  for (let b = 0, sum = 0; b < 65536; b++) { const c = count[b]!; count[b] = sum; sum += c }
  for (let i = 0; i < n; i++) tmp[count[keys[i]! & 0xffff]!++] = i
  count.fill(0)
  for (let i = 0; i < n; i++) count[keys[i]! >>> 16]!++
  for (let b = 0, sum = 0; b < 65536; b++) { const c = count[b]!; count[b] = sum; sum += c }
  for (let j = 0; j < n; j++) { const i = tmp[j]!; idx[count[keys[i]! >>> 16]!++] = i }
  // Order runs of equal keys by the whole digest (insertion sort: runs are tiny).
  for (let start = 0; start < n;) {
    let end = start + 1
    const k = keys[idx[start]!]!
    while (end < n && keys[idx[end]!] === k) end++
    for (let i = start + 1; i < end; i++) {
      const v = idx[i]!
      let j = i - 1
      while (j >= start && compareRecords(records, idx[j]!, v) > 0) { idx[j + 1] = idx[j]!; j-- }
      idx[j + 1] = v
    }
    start = end
  }
  return idx
}

/**
 * Returns a new buffer holding the distinct records of `records[0, n)` in ascending byte order,
 * and how many there are. `engine: 'js'` forces the JavaScript path (tests compare the two).
 */
export function sortUnique (records: Uint8Array, n: number, keyOffset = 0, engine?: 'js'): { records: Uint8Array, count: number } {
  const out = new Uint8Array(n * DIGEST_BYTES)
  const count = sortUniqueInto(records, n, keyOffset, out, engine)
  return { records: out.subarray(0, count * DIGEST_BYTES), count }
}

/**
 * sortUnique into `out` (at least n * 32 bytes, 4-byte aligned, not overlapping records), so a
 * caller that sorts many partitions can reuse one buffer. Returns the distinct count.
 */
export function sortUniqueInto (records: Uint8Array, n: number, keyOffset: number, out: Uint8Array, engine?: 'js'): number {
  if (n === 0) return 0
  if (nativeSortUnique !== undefined && engine !== 'js') return nativeSortUnique(records, n, keyOffset, out)
  const idx = sortedIndex(records, n, keyOffset)
  // Word copies (records are 32-byte aligned in their own buffers when byteOffset is a multiple
  // of 4): a subarray per record would allocate tens of millions of views.
  const aligned = records.byteOffset % 4 === 0
  const src32 = aligned ? new Uint32Array(records.buffer, records.byteOffset, n * 8) : undefined
  const dst32 = new Uint32Array(out.buffer, out.byteOffset, n * 8)
  let count = 0
  let prev = -1
  for (let j = 0; j < n; j++) {
    const i = idx[j]!
    if (prev !== -1 && compareRecords(records, prev, i) === 0) continue
    if (src32 !== undefined) {
      const s = i * 8
      const d = count * 8
      for (let w = 0; w < 8; w++) dst32[d + w] = src32[s + w]!
    } else {
      out.set(records.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES), count * DIGEST_BYTES)
    }
    count++
    prev = i
  }
  return count
}
