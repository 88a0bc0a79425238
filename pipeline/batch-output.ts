// What one batch produces, as the record loops fill it: digests and their schema codes in input
// order (digest i is 32 bytes at i * 32 and belongs to schemas[i]), the counts per type and
// reason, and the reject records. Both record loops (record-loop.ts, native-scan-pass.ts) write
// here and nowhere else; BatchProcessor reads the result.
import {
  DIGEST_BYTES, ID_TYPES, REJECT_REASONS, type BatchTask, type RejectRecord
} from './protocol.js'
import { isPrehashed, kEmpty } from './normalize.js'
import { DigestStaging } from './digest-staging.js'
import type { FieldSlot } from './field-slots.js'
import type { HashMany } from './native-hash.js'
import { kHole } from './native-layout.js'

/** cell()'s answer when the cell was not rejected (valid, or empty). */
export const kNotRejected = -1

export class BatchOutput {
  digests = Buffer.alloc(0)
  schemas = new Uint8Array(0)
  count = 0
  rows = 0
  seen: number[] = []
  valid: number[] = []
  empty: number[] = []
  rejected: number[] = []
  rejects: RejectRecord[] = []
  /** Slots reserved by the native scanner whose cells turned out empty or invalid (schema kHole). */
  holes = 0
  #firstByte = 0
  readonly #includeValues: boolean
  readonly #staging: DigestStaging

  constructor (includeValues: boolean, hashMany: HashMany) {
    this.#includeValues = includeValues
    this.#staging = new DigestStaging(hashMany)
  }

  reset (task: BatchTask): void {
    // Worst case is one identifier per two bytes ("a\n"): size for a typical row instead and grow.
    const capacity = Math.max(64, task.byteLength >> 4)
    // Kept from the last batch unless they went to the main thread with its result (detached).
    if (this.schemas.length < capacity) {
      this.digests = Buffer.from(new ArrayBuffer(capacity * DIGEST_BYTES))
      this.schemas = new Uint8Array(new ArrayBuffer(capacity))
    }
    this.count = 0
    this.rows = 0
    this.seen = new Array(ID_TYPES.length).fill(0)
    this.valid = new Array(ID_TYPES.length).fill(0)
    this.empty = new Array(ID_TYPES.length).fill(0)
    this.rejected = new Array(REJECT_REASONS.length).fill(0)
    this.rejects = []
    this.holes = 0
    this.#firstByte = task.firstByte
    this.#staging.reset(task.byteLength, capacity)
  }

  /**
   * Normalizes and counts one cell. A valid value goes to digest slot `at`, or to the next free
   * slot when `at` is -1 (a slot the native scanner reserved is left a hole if the cell is not
   * valid). Returns the reject reason code, or kNotRejected; the caller records the reject, as
   * only it knows where the record starts. `latin1`: the text is ASCII and stays so.
   */
  cell (slot: FieldSlot, raw: string, latin1: boolean, at: number): number {
    const result = slot.normalize(raw)
    if (typeof result === 'number') {
      if (at >= 0) this.holes++
      if (result === kEmpty) { this.empty[slot.typeIndex]!++; return kNotRejected }
      this.seen[slot.typeIndex]!++
      return result
    }
    this.seen[slot.typeIndex]!++
    this.valid[slot.typeIndex]!++
    if (at < 0) {
      if (this.count === this.schemas.length) this.grow()
      at = this.count++
    }
    if (isPrehashed(slot.type, result)) this.digests.write(result, at * DIGEST_BYTES, DIGEST_BYTES, 'hex')
    else this.#staging.add(result, at, latin1)
    this.schemas[at] = slot.schema
    return kNotRejected
  }

  /** Doubles the digest capacity, keeping what is there. */
  grow (): void {
    const capacity = this.schemas.length * 2
    const digests = Buffer.from(new ArrayBuffer(capacity * DIGEST_BYTES))
    digests.set(this.digests)
    const schemas = new Uint8Array(new ArrayBuffer(capacity))
    schemas.set(this.schemas)
    this.digests = digests
    this.schemas = schemas
  }

  /** A reject, counted and recorded. `byteOffset` is within the batch. */
  reject (line: number, byteOffset: number, field: string, reason: number, raw: string | undefined): void {
    this.rejected[reason]!++
    this.record(line, byteOffset, field, reason, raw)
  }

  /** The reject record alone (the native scanner counts its own rejects). */
  record (line: number, byteOffset: number, field: string, reason: number, raw: string | undefined): void {
    const record: RejectRecord = { line, byteOffset: this.#firstByte + byteOffset, field, reason: REJECT_REASONS[reason]! }
    if (this.#includeValues && raw !== undefined) record.value = raw
    this.rejects.push(record)
  }

  /** Hashes the staged values into their slots. */
  hashStaged (): void {
    this.#staging.hashInto(this.digests)
  }

  /** Closes the holes deferred cells left, keeping input order. */
  closeHoles (): void {
    if (this.holes === 0) return
    const schemas = this.schemas
    const words = new Uint32Array(this.digests.buffer, this.digests.byteOffset, schemas.length * 8)
    let w = 0
    for (let r = 0; r < this.count; r++) {
      if (schemas[r] === kHole) continue
      if (w !== r) {
        schemas[w] = schemas[r]!
        words.copyWithin(w * 8, r * 8, r * 8 + 8)
      }
      w++
    }
    this.count = w
    this.holes = 0
  }
}
