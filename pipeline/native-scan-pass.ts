// One clean (valid UTF-8, NUL-free) CSV/TSV/lines batch through the native scanner, into a
// BatchOutput. The scanner fills digests and counts itself and hands back, as events, the rejects
// to record and the cells it deferred (non-ASCII text, phones off the NANP fast path,
// canonicalized emails): those are normalized here by the same functions as the JavaScript
// record loop, into the slots it reserved. Its line numbers are the record loop's.
import { ID_TYPES, REJECT_REASONS } from './protocol.js'
import { nanpTable, type ScanBatch } from './native-scan.js'
import { BatchOutput, kNotRejected } from './batch-output.js'
import type { FieldSlot } from './field-slots.js'
import {
  kEvReject, kEventInts, kSrcScratch, kStatCount, kStatDone, kStatEmpty, kStatEvents, kStatLength, kStatLine,
  kStatRejected, kStatRows, kStatSeen, kStatValid
} from './native-layout.js'

export class NativeScanPass {
  readonly #scan: ScanBatch
  readonly #includeValues: boolean
  // The scanner's in/out state, events and scratch (unescaped quoted fields), reused.
  readonly #stats = new Int32Array(kStatLength)
  #events = new Int32Array(1024 * kEventInts)
  #scratch = Buffer.alloc(0)

  constructor (scan: ScanBatch, includeValues: boolean) {
    this.#scan = scan
    this.#includeValues = includeValues
  }

  /** Returns the lines consumed. */
  run (bytes: Buffer, ascii: boolean, config: Int32Array, slots: FieldSlot[], out: BatchOutput): number {
    const stats = this.#stats.fill(0)
    if (this.#scratch.length < bytes.length) this.#scratch = Buffer.allocUnsafeSlow(Math.max(bytes.length, 1 << 16))
    if (this.#events.length < (slots.length + 1) * kEventInts) this.#events = new Int32Array((slots.length + 1) * kEventInts)
    // Deferred values are staged for hashing like the record loop's (ASCII stays ASCII).
    const encoding = ascii ? 'latin1' : 'utf8'
    const scratch = this.#scratch
    const events = this.#events
    const dfa = nanpTable()
    for (;;) {
      stats[kStatCount] = out.count
      this.#scan(bytes, config, dfa, out.digests, out.schemas, events, scratch, stats)
      out.count = stats[kStatCount]!
      const n = stats[kStatEvents]! * kEventInts
      for (let o = 0; o < n; o += kEventInts) {
        const line = events[o + 1]!
        const at = events[o + 2]!
        const slot = events[o + 3]!
        const source = events[o + 7]! === kSrcScratch ? scratch : bytes
        if (events[o] === kEvReject) {
          const raw = this.#includeValues && events[o + 7]! >= 0 ? source.toString(encoding, events[o + 5], events[o + 6]) : undefined
          out.record(line, at, slot < 0 ? '' : slots[slot]!.name, events[o + 4]!, raw)
        } else {
          const s = slots[slot]!
          const raw = source.toString(encoding, events[o + 5], events[o + 6])
          const reason = out.cell(s, raw, ascii, events[o + 4]!)
          if (reason !== kNotRejected) out.reject(line, at, s.name, reason, raw)
        }
      }
      if (stats[kStatDone] === 1) break
      // Stopped for room: events are consumed; digests may need more.
      if (out.count + slots.length > out.schemas.length) out.grow()
    }
    out.rows += stats[kStatRows]!
    for (let t = 0; t < ID_TYPES.length; t++) {
      out.seen[t]! += stats[kStatSeen + t]!
      out.valid[t]! += stats[kStatValid + t]!
      out.empty[t]! += stats[kStatEmpty + t]!
    }
    for (let k = 0; k < REJECT_REASONS.length; k++) out.rejected[k]! += stats[kStatRejected + k]!
    return stats[kStatLine]!
  }
}
