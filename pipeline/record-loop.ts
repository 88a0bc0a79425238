// The JavaScript record loop: every record of a batch, split into cells that are normalized into
// a BatchOutput. It takes what the native scanner does not (NDJSON, plans past 64 columns,
// batches holding NUL bytes or invalid UTF-8) and everything when the native core is inactive;
// pipeline/native/scan_tokenizer.cc is its port, and test/pipeline/scan-batch.test.ts checks
// both give the same results.
//
// Line numbers, here and in the native scanner, are physical lines from the start of the batch
// (0-based): every newline counts, those inside quoted fields and blank lines included. A
// reject's byte offset is where its record starts in the batch.
import { isAscii, isUtf8 } from 'node:buffer'
import { REASON_CODE, type ColumnPlan } from './protocol.js'
import { parseRecord } from './csv-record.js'
import { BatchOutput, kNotRejected } from './batch-output.js'
import type { FieldSlot } from './field-slots.js'

const kNewline = 10

type ByteOffsetOf = (charPos: number) => number
/** One cell of the record starting at text position `pos` on `line`, into the output. */
type CellSink = (slot: FieldSlot, raw: string, line: number, pos: number) => void

export class RecordLoop {
  readonly #maxRecordBytes: number

  constructor (maxRecordBytes: number) {
    this.#maxRecordBytes = maxRecordBytes
  }

  /**
   * Records one at a time on their bytes, for batches holding NUL bytes or invalid UTF-8: a bad
   * record is rejected whole (nul_byte, invalid_utf8), never decoded with U+FFFD replacement and
   * hashed. Returns the lines consumed.
   */
  dirty (bytes: Buffer, plan: ColumnPlan, slots: FieldSlot[], out: BatchOutput): number {
    let pos = 0
    let line = 0
    // Record boundaries here ignore quotes: a batch this damaged is resynchronised at each newline.
    while (pos < bytes.length) {
      let nl = bytes.indexOf(kNewline, pos)
      if (nl === -1) nl = bytes.length
      const record = bytes.subarray(pos, nl)
      if (record.indexOf(0) !== -1) {
        out.rows++
        out.reject(line, pos, '', REASON_CODE.nul_byte, undefined)
      } else if (!isUtf8(record)) {
        out.rows++
        out.reject(line, pos, '', REASON_CODE.invalid_utf8, undefined)
      } else {
        const ascii = isAscii(record)
        this.text(ascii ? record.toString('latin1') : record.toString('utf8'), ascii, pos, line, plan, slots, out)
      }
      line++
      pos = nl + 1
    }
    return line
  }

  /**
   * Every record of `text`, which starts at byte `byteBase` and line `lineBase` of the batch.
   * Returns the line just past it.
   */
  text (text: string, ascii: boolean, byteBase: number, lineBase: number, plan: ColumnPlan, slots: FieldSlot[], out: BatchOutput): number {
    // Normalizing ASCII (lowercase, trim, E.164) stays ASCII, so it can be staged as latin1.
    // JSON escapes (\u00e9) can turn ASCII text into non-ASCII values: NDJSON is always staged as UTF-8.
    const latin1 = ascii && plan.format !== 'ndjson'
    const n = text.length
    const format = plan.format
    const delim = format === 'tsv' ? '\t' : plan.delimiter !== undefined ? String.fromCharCode(plan.delimiter) : ','
    const maxBytes = this.#maxRecordBytes
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
    const cell: CellSink = (slot, raw, line, pos) => {
      const reason = out.cell(slot, raw, latin1, -1)
      if (reason !== kNotRejected) out.reject(line, byteOffsetOf(pos), slot.name, reason, raw)
    }
    while (pos < n) {
      let nl = text.indexOf('\n', pos)
      if (nl === -1) nl = n
      let end = nl
      if (end > pos && text.charCodeAt(end - 1) === 13) end--
      if (end === pos) { line++; pos = nl + 1; continue } // blank line: nothing to count
      out.rows++
      const length = ascii ? end - pos : (end - pos) * 3 > maxBytes ? Buffer.byteLength(text.slice(pos, end)) : 0
      if (length > maxBytes) {
        out.reject(line, byteOffsetOf(pos), '', REASON_CODE.line_too_long, undefined)
        line++
        pos = nl + 1
        continue
      }
      // The next quote's position is cached: searching from every record would rescan the batch.
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = text.indexOf('"', pos)
      if (nextQuote !== -1 && nextQuote < nl) {
        const rec = parseRecord(text, pos, delim)
        if (rec.malformed) {
          out.reject(line, byteOffsetOf(pos), '', REASON_CODE.record_malformed, undefined)
        } else {
          for (const slot of slots) {
            const value = rec.fields[slot.index]
            if (value === undefined) out.reject(line, byteOffsetOf(pos), slot.name, REASON_CODE.field_missing, undefined)
            else cell(slot, value, line, pos)
          }
        }
        line += 1 + rec.newlines
        pos = rec.next
        continue
      }
      if (format === 'ndjson') {
        this.#jsonRecord(text.slice(pos, end), slots, line, pos, byteOffsetOf, cell, out)
      } else if (format === 'lines') {
        cell(slots[0]!, text.slice(pos, end), line, pos)
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
            out.reject(line, byteOffsetOf(pos), slot.name, REASON_CODE.field_missing, undefined)
            continue
          }
          let stop = text.indexOf(delim, start)
          if (stop === -1 || stop > end) stop = end
          cell(slot, text.slice(start, stop), line, pos)
        }
      }
      line++
      pos = nl + 1
    }
    return line
  }

  #jsonRecord (record: string, slots: FieldSlot[], line: number, pos: number, byteOffsetOf: ByteOffsetOf,
    cell: CellSink, out: BatchOutput): void {
    let value: unknown
    try {
      value = JSON.parse(record)
    } catch {
      out.reject(line, byteOffsetOf(pos), '', REASON_CODE.record_malformed, undefined)
      return
    }
    for (const slot of slots) {
      let v: unknown
      if (slot.key === '') v = value
      else if (value !== null && typeof value === 'object' && !Array.isArray(value)) v = (value as Record<string, unknown>)[slot.key]
      else { out.reject(line, byteOffsetOf(pos), slot.name, REASON_CODE.record_malformed, undefined); continue }
      // NDJSON commonly omits keys: an absent or null value is an empty cell, not a reject.
      if (v === undefined || v === null) { out.empty[slot.typeIndex]!++; continue }
      if (typeof v === 'string') cell(slot, v, line, pos)
      else if (typeof v === 'number' && Number.isSafeInteger(v)) cell(slot, String(v), line, pos)
      else out.reject(line, byteOffsetOf(pos), slot.name, REASON_CODE.record_malformed, undefined)
    }
  }
}
