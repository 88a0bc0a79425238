// Turns one batch of whole records into packed digests, counts and reject records. Runs inside
// a hash worker (hash-worker.ts is the thin entry); plain synchronous code, no I/O.
//
// Fast path: the batch is valid UTF-8 without NUL bytes (checked natively over the whole batch),
// so it is decoded once and split with indexOf. Otherwise each record is checked on its own
// bytes, and bad records are rejected whole (invalid_utf8, nul_byte): never decoded with U+FFFD
// replacement and hashed.
//
// Output invariant: digest i (32 bytes at i * 32) belongs to schemas[i], in input order.
//
// Hashing: with the native addon, normalized values are staged in one buffer and hashed in a
// single call at the end of the batch (~50 ns each instead of ~300 ns for crypto.hash plus the
// copy); their digests are then placed in their slots. Without it, each value is hashed as it
// is found. Both give identical digests (test/pipeline/native-hash.test.ts).
import { hash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { isAscii, isUtf8 } from 'node:buffer'
import {
  DIGEST_BYTES, ID_TYPES, ID_TYPE_SCHEMA, PARTITIONS, REASON_CODE, REJECT_REASONS,
  type BatchResult, type BatchTask, type ColumnPlan, type IdType, type RejectReason, type RejectRecord, type WorkerOptions
} from './protocol.js'
import { createNormalizers, isPrehashed, kEmpty, type Normalizer } from './normalize.js'
import { parseRecord } from './csv-record.js'
import { nativeAddon, nativeHashMany } from './native-hash.js'
import {
  kEvReject, kEventInts, kHole, kSrcScratch, kStatCount, kStatDone, kStatEmpty, kStatEvents, kStatLength, kStatLine,
  kStatRejected, kStatRows, kStatSeen, kStatValid, nanpTable, nativeScanBatch, scanConfig
} from './native-scan.js'

const kNewline = 10

// Buffer's own encoders without the argument-normalizing wrapper of write(): present on every
// Node Buffer, absent from @types/node.
interface RawWrites { latin1Write: (s: string, offset: number) => number, utf8Write: (s: string, offset: number) => number }

type PartitionDigests = (digests: Uint8Array, schemas: Uint8Array, count: number, out: Uint8Array, ends: Uint32Array) => number
const nativePartition = typeof nativeAddon?.partitionDigests === 'function' ? nativeAddon.partitionDigests as PartitionDigests : undefined

interface FieldSlot { index: number, key: string, name: string, type: IdType, typeIndex: number, schema: number, normalize: Normalizer }

export class BatchProcessor {
  readonly #normalizers: Readonly<Record<IdType, Normalizer>>
  readonly #options: WorkerOptions
  // Per-batch state, reset by run().
  #digests = Buffer.alloc(0)
  #schemas = new Uint8Array(0)
  #count = 0
  #rows = 0
  #seen: number[] = []
  #valid: number[] = []
  #empty: number[] = []
  #rejected: number[] = []
  #rejects: RejectRecord[] = []
  #firstByte = 0
  #ascii = true
  // Native staging: values to hash, their byte ranges, and the digest slot each one fills.
  #stage = Buffer.alloc(0)
  #stageEnd = 0
  #offsets = new Uint32Array(1)
  #slotOf = new Uint32Array(0)
  #staged = 0
  // Native scan: its in/out state, events and scratch (unescaped quoted fields), reused.
  readonly #stats = new Int32Array(kStatLength)
  #events = new Int32Array(1024 * kEventInts)
  #scratch = Buffer.alloc(0)
  #holes = 0

  readonly #scan: boolean
  readonly #nativePartition: boolean

  /**
   * `scan: false` forces the JavaScript loop where the native scanner would run, `partition:
   * false` the JavaScript grouping by partition (tests compare the two).
   */
  constructor (options: WorkerOptions, engine: { scan?: boolean, partition?: boolean } = {}) {
    this.#options = options
    this.#normalizers = createNormalizers(options)
    this.#scan = nativeScanBatch !== undefined && engine.scan !== false
    this.#nativePartition = nativePartition !== undefined && engine.partition !== false
  }

  run (task: BatchTask): BatchResult {
    const started = performance.now()
    const bytes = Buffer.from(task.buffer, 0, task.byteLength)
    this.#reset(task)
    const slots = this.#slots(task.plan)
    const config = this.#scan ? scanConfig(task.plan, slots, this.#options) : undefined
    const clean = bytes.indexOf(0) === -1
    const ascii = clean && isAscii(bytes)
    let lines: number
    if (clean && (ascii || isUtf8(bytes))) {
      lines = config !== undefined
        ? this.#processNative(bytes, ascii, config, slots)
        : this.#processText(bytes.toString(ascii ? 'latin1' : 'utf8'), ascii, 0, 0, task.plan, slots)
    } else {
      lines = this.#processDirty(bytes, task.plan, slots)
    }
    const parsed = performance.now()
    if (this.#staged > 0) this.#hashStaged()
    let partitions: Uint32Array | undefined
    // Without partitions the result carries #digests itself; with them, a grouped copy.
    let digests: Buffer = this.#digests
    if (task.partition === true && this.#nativePartition) {
      ({ ends: partitions, grouped: digests } = this.#partitionNative(task.spare))
    } else {
      if (this.#holes > 0) this.#compact()
      if (task.partition === true) ({ ends: partitions, grouped: digests } = this.#partition(task.spare))
    }
    const hashed = performance.now()
    return {
      parseSeconds: (parsed - started) / 1000,
      hashSeconds: (hashed - parsed) / 1000,
      seq: task.seq,
      input: task.input,
      rows: this.#rows,
      lines,
      count: this.#count,
      digests: digests.buffer as ArrayBuffer,
      schemas: partitions !== undefined ? new ArrayBuffer(0) : this.#schemas.buffer as ArrayBuffer,
      seen: this.#seen,
      valid: this.#valid,
      empty: this.#empty,
      rejected: this.#rejected,
      rejects: this.#rejects,
      ...(partitions !== undefined ? { partitions: partitions.buffer as ArrayBuffer } : {}),
      buffer: task.buffer
    }
  }

  #reset (task: BatchTask): void {
    // Worst case is one identifier per two bytes ("a\n"): size for a typical row instead and grow.
    const capacity = Math.max(64, task.byteLength >> 4)
    // Kept from the last batch unless they went to the main thread with its result (detached).
    if (this.#schemas.length < capacity) {
      this.#digests = Buffer.from(new ArrayBuffer(capacity * DIGEST_BYTES))
      this.#schemas = new Uint8Array(new ArrayBuffer(capacity))
    }
    this.#count = 0
    this.#rows = 0
    this.#seen = new Array(ID_TYPES.length).fill(0)
    this.#valid = new Array(ID_TYPES.length).fill(0)
    this.#empty = new Array(ID_TYPES.length).fill(0)
    this.#rejected = new Array(REJECT_REASONS.length).fill(0)
    this.#rejects = []
    this.#firstByte = task.firstByte
    if (nativeHashMany !== undefined) {
      // Normalized values are rarely longer than their cells; #stageValue grows the stage if one is.
      if (this.#stage.length < task.byteLength + 256) this.#stage = Buffer.allocUnsafeSlow(task.byteLength + 256)
      if (this.#offsets.length < capacity + 1) this.#offsets = new Uint32Array(capacity + 1)
      if (this.#slotOf.length < capacity) this.#slotOf = new Uint32Array(capacity)
    }
    this.#stageEnd = 0
    this.#staged = 0
    this.#holes = 0
  }

  #stageValue (value: string, slot: number): void {
    const worst = this.#ascii ? value.length : value.length * 3
    if (this.#stageEnd + worst > this.#stage.length) {
      const grown = Buffer.allocUnsafeSlow((this.#stage.length + worst) * 2)
      this.#stage.copy(grown, 0, 0, this.#stageEnd)
      this.#stage = grown
    }
    if (this.#staged + 1 >= this.#offsets.length) {
      const offsets = new Uint32Array(this.#offsets.length * 2)
      offsets.set(this.#offsets)
      this.#offsets = offsets
      const slots = new Uint32Array(this.#slotOf.length * 2)
      slots.set(this.#slotOf)
      this.#slotOf = slots
    }
    this.#offsets[this.#staged] = this.#stageEnd
    const stage = this.#stage as unknown as RawWrites
    this.#stageEnd += this.#ascii ? stage.latin1Write(value, this.#stageEnd) : stage.utf8Write(value, this.#stageEnd)
    this.#slotOf[this.#staged++] = slot
  }

  #hashStaged (): void {
    const n = this.#staged
    this.#offsets[n] = this.#stageEnd
    const hashed = new Uint8Array(n * DIGEST_BYTES)
    nativeHashMany!(this.#stage, this.#offsets, n, hashed)
    // Word copies into the slots: the digests of pre-hashed values already sit between them.
    const src = new Uint32Array(hashed.buffer, 0, n * 8)
    const dst = new Uint32Array(this.#digests.buffer, this.#digests.byteOffset, this.#schemas.length * 8)
    for (let i = 0; i < n; i++) {
      const d = this.#slotOf[i]! * 8
      const s = i * 8
      for (let w = 0; w < 8; w++) dst[d + w] = src[s + w]!
    }
  }

  #slots (plan: ColumnPlan): FieldSlot[] {
    return plan.fields
      .map(f => ({ ...f, typeIndex: ID_TYPES.indexOf(f.type), schema: ID_TYPE_SCHEMA[f.type], normalize: this.#normalizers[f.type] }))
      .sort((a, b) => a.index - b.index)
  }

  /**
   * A clean (valid UTF-8, NUL-free) CSV/TSV/lines batch through the native scanner. It fills
   * digests and counts itself and hands back, as events, the rejects to report and the cells it
   * deferred (non-ASCII text, phones off the NANP fast path, canonicalized emails): those are
   * normalized here by the same functions as the JavaScript loop, into the slots it reserved.
   */
  #processNative (bytes: Buffer, ascii: boolean, config: Int32Array, slots: FieldSlot[]): number {
    const scan = nativeScanBatch!
    const stats = this.#stats.fill(0)
    if (this.#scratch.length < bytes.length) this.#scratch = Buffer.allocUnsafeSlow(Math.max(bytes.length, 1 << 16))
    if (this.#events.length < (slots.length + 1) * kEventInts) this.#events = new Int32Array((slots.length + 1) * kEventInts)
    // Deferred values are staged for hashing like the JavaScript loop's (ASCII stays ASCII).
    this.#ascii = ascii
    const encoding = ascii ? 'latin1' : 'utf8'
    const scratch = this.#scratch
    const events = this.#events
    const dfa = nanpTable()
    for (;;) {
      stats[kStatCount] = this.#count
      scan(bytes, config, dfa, this.#digests, this.#schemas, events, scratch, stats)
      this.#count = stats[kStatCount]!
      const n = stats[kStatEvents]! * kEventInts
      for (let o = 0; o < n; o += kEventInts) {
        const line = events[o + 1]!
        const at = events[o + 2]!
        const slot = events[o + 3]!
        const source = events[o + 7]! === kSrcScratch ? scratch : bytes
        if (events[o] === kEvReject) {
          const raw = this.#options.includeValues && events[o + 7]! >= 0 ? source.toString(encoding, events[o + 5], events[o + 6]) : undefined
          this.#record(line, at, slot < 0 ? '' : slots[slot]!.name, REJECT_REASONS[events[o + 4]!]!, raw)
        } else {
          this.#deferred(slots[slot]!, source.toString(encoding, events[o + 5], events[o + 6]), line, at, events[o + 4]!)
        }
      }
      if (stats[kStatDone] === 1) break
      // Stopped for room: events are consumed; digests may need more.
      if (this.#count + slots.length > this.#schemas.length) this.#grow()
    }
    this.#rows += stats[kStatRows]!
    for (let t = 0; t < ID_TYPES.length; t++) {
      this.#seen[t]! += stats[kStatSeen + t]!
      this.#valid[t]! += stats[kStatValid + t]!
      this.#empty[t]! += stats[kStatEmpty + t]!
    }
    for (let k = 0; k < REJECT_REASONS.length; k++) this.#rejected[k]! += stats[kStatRejected + k]!
    return stats[kStatLine]!
  }

  /** A cell the scanner deferred, into the digest slot it reserved (left a hole if not valid). */
  #deferred (slot: FieldSlot, raw: string, line: number, pos: number, at: number): void {
    const result = slot.normalize(raw)
    if (typeof result === 'number') {
      this.#holes++
      if (result === kEmpty) { this.#empty[slot.typeIndex]!++; return }
      this.#seen[slot.typeIndex]!++
      this.#reject(line, pos, slot.name, REJECT_REASONS[result]!, raw)
      return
    }
    this.#seen[slot.typeIndex]!++
    this.#valid[slot.typeIndex]!++
    this.#place(slot, result, at)
  }

  /**
   * Groups the digests by dedupe partition (a stable counting sort; input order is kept within a
   * partition) and returns the partition ends. Done here because workers run in parallel and the
   * main thread, which owns the dedupe store, is the pipeline's one serial stage.
   */
  #partition (spare: ArrayBuffer | undefined): { ends: Uint32Array, grouped: Buffer } {
    const n = this.#count
    const schemas = this.#schemas
    const bytes = this.#digests
    const ends = new Uint32Array(PARTITIONS)
    for (let i = 0; i < n; i++) ends[schemas[i]! * 256 + bytes[i * DIGEST_BYTES]!]!++
    const next = new Uint32Array(PARTITIONS)
    let at = 0
    for (let p = 0; p < PARTITIONS; p++) { next[p] = at; at += ends[p]!; ends[p] = at }
    const src = new Uint32Array(bytes.buffer, bytes.byteOffset, n * 8)
    const grouped = groupedBuffer(n, spare)
    const dst = new Uint32Array(grouped.buffer, 0, n * 8)
    for (let i = 0; i < n; i++) {
      const d = next[schemas[i]! * 256 + bytes[i * DIGEST_BYTES]!]!++
      const from = i * 8
      const to = d * 8
      for (let w = 0; w < 8; w++) dst[to + w] = src[from + w]!
    }
    return { ends, grouped }
  }

  /** #compact() then #partition() in one native pass. */
  #partitionNative (spare: ArrayBuffer | undefined): { ends: Uint32Array, grouped: Buffer } {
    const ends = new Uint32Array(PARTITIONS)
    const grouped = groupedBuffer(this.#count, spare)
    this.#count = nativePartition!(this.#digests, this.#schemas, this.#count, grouped, ends)
    return { ends, grouped }
  }

  /** Closes the holes deferred cells left, keeping input order. */
  #compact (): void {
    const schemas = this.#schemas
    const words = new Uint32Array(this.#digests.buffer, this.#digests.byteOffset, schemas.length * 8)
    let w = 0
    for (let r = 0; r < this.#count; r++) {
      if (schemas[r] === kHole) continue
      if (w !== r) {
        schemas[w] = schemas[r]!
        words.copyWithin(w * 8, r * 8, r * 8 + 8)
      }
      w++
    }
    this.#count = w
  }

  /** Records one at a time on their bytes, for batches holding NUL bytes or invalid UTF-8. */
  #processDirty (bytes: Buffer, plan: ColumnPlan, slots: FieldSlot[]): number {
    let pos = 0
    let line = 0
    // Record boundaries here ignore quotes: a batch this damaged is resynchronised at each newline.
    while (pos < bytes.length) {
      let nl = bytes.indexOf(kNewline, pos)
      if (nl === -1) nl = bytes.length
      const record = bytes.subarray(pos, nl)
      if (record.indexOf(0) !== -1) {
        this.#rows++
        this.#reject(line, pos, '', 'nul_byte', undefined)
      } else if (!isUtf8(record)) {
        this.#rows++
        this.#reject(line, pos, '', 'invalid_utf8', undefined)
      } else {
        const ascii = isAscii(record)
        const text = ascii ? record.toString('latin1') : record.toString('utf8')
        this.#processText(text, ascii, pos, line, plan, slots)
      }
      line++
      pos = nl + 1
    }
    return line
  }

  /**
   * Every record of `text`. `byteBase`/`lineBase` place text[0] within the batch.
   * Returns the number of physical lines consumed.
   */
  #processText (text: string, ascii: boolean, byteBase: number, lineBase: number, plan: ColumnPlan, slots: FieldSlot[]): number {
    // Normalizing ASCII (lowercase, trim, E.164) stays ASCII, so it can be staged as latin1.
    // JSON escapes (\u00e9) can turn ASCII text into non-ASCII values: NDJSON is always staged as UTF-8.
    this.#ascii = ascii && plan.format !== 'ndjson'
    const n = text.length
    const format = plan.format
    const delim = format === 'tsv' ? '\t' : ','
    const maxBytes = this.#options.maxRecordBytes
    let pos = 0
    let line = lineBase
    let nextQuote = format === 'csv' ? text.indexOf('"') : -1
    // Byte offsets of records in non-ASCII text are computed lazily, only when a reject needs one.
    let offChar = 0
    let offByte = byteBase
    const byteOffsetOf = (charPos: number): number => {
      if (ascii) return byteBase + charPos
      offByte += Buffer.byteLength(text.slice(offChar, charPos))
      offChar = charPos
      return offByte
    }
    while (pos < n) {
      let nl = text.indexOf('\n', pos)
      if (nl === -1) nl = n
      let end = nl
      if (end > pos && text.charCodeAt(end - 1) === 13) end--
      if (end === pos) { line++; pos = nl + 1; continue } // blank line: nothing to count
      this.#rows++
      const length = ascii ? end - pos : (end - pos) * 3 > maxBytes ? Buffer.byteLength(text.slice(pos, end)) : 0
      if (length > maxBytes) {
        this.#reject(line - lineBase, byteOffsetOf(pos), '', 'line_too_long', undefined)
        line++
        pos = nl + 1
        continue
      }
      // The next quote's position is cached: searching from every record would rescan the batch.
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = text.indexOf('"', pos)
      if (nextQuote !== -1 && nextQuote < nl) {
        const rec = parseRecord(text, pos, delim)
        if (rec.malformed) {
          this.#reject(line - lineBase, byteOffsetOf(pos), '', 'record_malformed', undefined)
        } else {
          for (const slot of slots) {
            const value = rec.fields[slot.index]
            if (value === undefined) this.#reject(line - lineBase, byteOffsetOf(pos), slot.name, 'field_missing', undefined)
            else this.#cell(slot, value, line - lineBase, pos, byteOffsetOf)
          }
        }
        line += 1 + rec.newlines
        pos = rec.next
        continue
      }
      if (format === 'ndjson') {
        this.#jsonRecord(text.slice(pos, end), slots, line - lineBase, pos, byteOffsetOf)
      } else if (format === 'lines') {
        this.#cell(slots[0]!, text.slice(pos, end), line - lineBase, pos, byteOffsetOf)
      } else {
        // Walk delimiters only as far as the highest mapped column.
        let field = 0
        let start = pos
        for (const slot of slots) {
          while (field < slot.index && start <= end) {
            const d = text.indexOf(delim, start)
            start = d === -1 || d >= end ? end + 1 : d + 1
            field++
          }
          if (start > end) {
            this.#reject(line - lineBase, byteOffsetOf(pos), slot.name, 'field_missing', undefined)
            continue
          }
          let stop = text.indexOf(delim, start)
          if (stop === -1 || stop > end) stop = end
          this.#cell(slot, text.slice(start, stop), line - lineBase, pos, byteOffsetOf)
        }
      }
      line++
      pos = nl + 1
    }
    return line - lineBase
  }

  #jsonRecord (record: string, slots: FieldSlot[], line: number, pos: number, byteOffsetOf: (p: number) => number): void {
    let value: unknown
    try {
      value = JSON.parse(record)
    } catch {
      this.#reject(line, byteOffsetOf(pos), '', 'record_malformed', undefined)
      return
    }
    for (const slot of slots) {
      let cell: unknown
      if (slot.key === '') cell = value
      else if (value !== null && typeof value === 'object' && !Array.isArray(value)) cell = (value as Record<string, unknown>)[slot.key]
      else { this.#reject(line, byteOffsetOf(pos), slot.name, 'record_malformed', undefined); continue }
      // NDJSON commonly omits keys: an absent or null value is an empty cell, not a reject.
      if (cell === undefined || cell === null) { this.#empty[slot.typeIndex]!++; continue }
      if (typeof cell === 'string') this.#cell(slot, cell, line, pos, byteOffsetOf)
      else if (typeof cell === 'number' && Number.isSafeInteger(cell)) this.#cell(slot, String(cell), line, pos, byteOffsetOf)
      else this.#reject(line, byteOffsetOf(pos), slot.name, 'record_malformed', undefined)
    }
  }

  #cell (slot: FieldSlot, raw: string, line: number, pos: number, byteOffsetOf: (p: number) => number): void {
    const result = slot.normalize(raw)
    if (typeof result === 'number') {
      if (result === kEmpty) { this.#empty[slot.typeIndex]!++; return }
      this.#seen[slot.typeIndex]!++
      this.#reject(line, byteOffsetOf(pos), slot.name, REJECT_REASONS[result]!, raw)
      return
    }
    this.#seen[slot.typeIndex]!++
    this.#valid[slot.typeIndex]!++
    if (this.#count === this.#schemas.length) this.#grow()
    this.#place(slot, result, this.#count++)
  }

  /** The digest of a normalized value into slot `at`: decoded if pre-hashed, else hashed (now or staged). */
  #place (slot: FieldSlot, value: string, at: number): void {
    const offset = at * DIGEST_BYTES
    if (isPrehashed(slot.type, value)) this.#digests.write(value, offset, DIGEST_BYTES, 'hex')
    else if (nativeHashMany !== undefined) this.#stageValue(value, at)
    else this.#digests.write(hash('sha256', value, 'binary'), offset, DIGEST_BYTES, 'latin1')
    this.#schemas[at] = slot.schema
  }

  #grow (): void {
    const capacity = this.#schemas.length * 2
    const digests = Buffer.from(new ArrayBuffer(capacity * DIGEST_BYTES))
    digests.set(this.#digests)
    const schemas = new Uint8Array(new ArrayBuffer(capacity))
    schemas.set(this.#schemas)
    this.#digests = digests
    this.#schemas = schemas
  }

  #reject (line: number, byteOffset: number, field: string, reason: RejectReason, raw: string | undefined): void {
    this.#rejected[REASON_CODE[reason]]!++
    this.#record(line, byteOffset, field, reason, raw)
  }

  /** The reject record alone (the native scanner counts its own rejects). */
  #record (line: number, byteOffset: number, field: string, reason: RejectReason, raw: string | undefined): void {
    const record: RejectRecord = { line, byteOffset: this.#firstByte + byteOffset, field, reason }
    if (this.#options.includeValues && raw !== undefined) record.value = raw
    this.#rejects.push(record)
  }
}

/** A buffer for `count` grouped digests: the spare handed back by the main thread if it fits. */
function groupedBuffer (count: number, spare: ArrayBuffer | undefined): Buffer {
  const bytes = Math.max(count, 1) * DIGEST_BYTES
  return spare !== undefined && spare.byteLength >= bytes ? Buffer.from(spare, 0, bytes) : Buffer.from(new ArrayBuffer(bytes))
}
