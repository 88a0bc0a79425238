// A batch's digests grouped by dedupe partition (id schema × first digest byte) for the main
// thread's DigestStore.addPartitioned: a stable counting sort (input order is kept within a
// partition) that drops holes (slots of deferred cells that were not valid). Done in the workers
// because they run in parallel and the main thread, which owns the dedupe store, is the
// pipeline's one serial stage.
//
// The addon's partitionDigests does it in one native pass; the JavaScript loops here are the
// fallback, and test/pipeline/scan-batch.test.ts checks both give the same bytes.
import { DIGEST_BYTES, PARTITIONS } from './protocol.js'
import { nativeAddon } from './native-hash.js'
import { kHole } from './native-layout.js'
import { releaseBuffer } from './release-buffer.js'

const kGrain = 4096

export type PartitionDigests = (digests: Uint8Array, schemas: Uint8Array, count: number, out: Uint8Array, ends: Uint32Array) => number

/** The addon's partitionDigests, when the native core is active. */
export const nativePartitionDigests: PartitionDigests | undefined = nativeAddon?.partitionDigests as PartitionDigests | undefined

export interface Partitioned {
  /** ends[p] is the end of partition p in grouped. */
  ends: Uint32Array
  grouped: Buffer
  /** Digests kept (holes dropped). */
  count: number
}

/** The JavaScript grouping, with partitionDigests's contract. */
export function partitionDigestsJs (digests: Uint8Array, schemas: Uint8Array, count: number, out: Uint8Array, ends: Uint32Array): number {
  const next = new Uint32Array(PARTITIONS)
  for (let i = 0; i < count; i++) {
    const s = schemas[i]!
    if (s !== kHole) next[s * 256 + digests[i * DIGEST_BYTES]!]!++
  }
  let at = 0
  for (let p = 0; p < PARTITIONS; p++) { const c = next[p]!; next[p] = at; at += c; ends[p] = at }
  const src = new Uint32Array(digests.buffer, digests.byteOffset, count * 8)
  const dst = new Uint32Array(out.buffer, out.byteOffset, at * 8)
  for (let i = 0; i < count; i++) {
    const s = schemas[i]!
    if (s === kHole) continue
    const to = next[s * 256 + digests[i * DIGEST_BYTES]!]!++ * 8
    const from = i * 8
    for (let w = 0; w < 8; w++) dst[to + w] = src[from + w]!
  }
  return at
}

/**
 * Groups digests[0, count) into a new buffer, or into `spare` (a digests buffer handed back by
 * the main thread) when it fits.
 */
export function groupByPartition (digests: Buffer, schemas: Uint8Array, count: number, spare: ArrayBuffer | undefined,
  partition: PartitionDigests): Partitioned {
  const bytes = Math.max(count, 1) * DIGEST_BYTES
  // A fresh buffer gets ~6% of slack, in pages: batches of one run yield similar counts,
  // so it can serve a later, slightly fuller batch when the store hands it back as a spare.
  const fits = spare !== undefined && spare.byteLength >= bytes
  // A spare too small for this batch is let go here, in the worker (release-buffer.ts).
  if (spare !== undefined && !fits) releaseBuffer(spare)
  const grouped = fits
    ? Buffer.from(spare, 0, bytes)
    : Buffer.from(new ArrayBuffer(Math.ceil(bytes * 1.0625 / kGrain) * kGrain), 0, bytes)
  const ends = new Uint32Array(PARTITIONS)
  const kept = partition(digests, schemas, count, grouped, ends)
  return { ends, grouped, count: kept }
}
