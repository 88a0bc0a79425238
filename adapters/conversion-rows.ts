// Conversions inputs read one row at a time on the main thread: a row is an event with several
// columns, not a column of identifiers, so the hash worker pool's splitting does not fit. Memory
// stays bounded by one decoded chunk plus the longest record. CSV/TSV (RFC 4180, header row),
// NDJSON and JSON arrays of objects, gzip or not, stdin as '-'; Parquet as CSV records of every
// column under a header of the column names (adapters/parquet-source.ts, a row group at a time).
import type { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { openInput } from './file-source.js'
import { hasParquetMagic, isParquetName, openParquet } from './parquet-source.js'
import { detectFormat, type InputFormat } from '../pipeline/column-plan.js'
import { parseRecord } from '../pipeline/csv-record.js'
import { jsonArrayAsLines } from '../pipeline/json-elements.js'
import { InputError } from '../pipeline/errors.js'

export interface InputRow {
  /** 1-based physical line of the record's start (element number for JSON arrays). */
  line: number
  /** Cell by lower-cased, trimmed header or key name. */
  cells: Map<string, string>
}

/** 1-based line of a malformed record; the row is reported, never its content. */
export interface MalformedRow { line: number, malformed: true }

/** Rows in blocks (one per decoded chunk): a promise per block, not per row. */
export async function * readRows (name: string, stdin: Readable, format?: InputFormat, delimiter?: number): AsyncGenerator<Array<InputRow | MalformedRow>> {
  if (format === 'parquet' || (format === undefined && (isParquetName(name) || await hasParquetMagic(name)))) {
    const parquet = await openParquet(name)
    const header = parquet.columns.map(c => /[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c).join(',') + '\n'
    const records = parquet.records(parquet.columns).chunks
    yield * delimited((async function * () { yield Buffer.from(header); yield * records })(), ',')
    return
  }
  const source = await openInput(name, stdin)
  const iterator = source.chunks[Symbol.asyncIterator]()
  const first = await iterator.next()
  if (first.done === true) return
  const head: Buffer = first.value
  async function * all (): AsyncGenerator<Buffer> {
    yield head
    for (let r = await iterator.next(); r.done !== true; r = await iterator.next()) yield r.value
  }
  const fmt = detectFormat(name, head, format ?? (delimiter !== undefined ? 'csv' : undefined))
  if (fmt === 'lines') {
    throw new InputError('HP_ERR_INPUT_FORMAT', `'${name}' is not CSV, TSV, NDJSON or JSON (no delimiter in its first line); conversions need a header row or keyed objects — set format: in the conversions entry`, { file: name })
  }
  if (fmt === 'csv' || fmt === 'tsv') yield * delimited(all(), fmt === 'csv' ? String.fromCharCode(delimiter ?? 44) : '\t')
  else yield * ndjson(fmt === 'json' ? jsonArrayAsLines(name, all()) : all())
}

async function * delimited (chunks: AsyncIterable<Buffer>, delim: string): AsyncGenerator<Array<InputRow | MalformedRow>> {
  const decoder = new StringDecoder('utf8')
  let text = ''
  let line = 1
  let header: string[] | undefined
  const emit = (out: Array<InputRow | MalformedRow>, fields: string[], at: number, malformed: boolean): void => {
    if (header === undefined) {
      header = fields.map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, '') : h).trim().toLowerCase())
      return
    }
    if (fields.length === 1 && fields[0]!.trim() === '') return
    if (malformed) { out.push({ line: at, malformed: true }); return }
    const cells = new Map<string, string>()
    const n = Math.min(header.length, fields.length)
    for (let i = 0; i < n; i++) cells.set(header[i]!, fields[i]!)
    out.push({ line: at, cells })
  }
  const drain = (final: boolean): Array<InputRow | MalformedRow> => {
    const out: Array<InputRow | MalformedRow> = []
    let pos = 0
    while (pos < text.length) {
      // An incomplete last record waits for the next chunk (a quoted field may span lines).
      if (!final && text.indexOf('\n', pos) === -1) break
      const r = parseRecord(text, pos, delim)
      if (!final && r.next >= text.length && !text.endsWith('\n')) break
      if (!final && r.malformed && r.next >= text.length) break
      emit(out, r.fields, line, r.malformed)
      line += 1 + r.newlines
      pos = r.next
    }
    text = text.slice(pos)
    return out
  }
  for await (const chunk of chunks) {
    text += decoder.write(chunk)
    yield drain(false)
  }
  text += decoder.end()
  yield drain(true)
}

async function * ndjson (chunks: AsyncIterable<Buffer>): AsyncGenerator<Array<InputRow | MalformedRow>> {
  const decoder = new StringDecoder('utf8')
  let text = ''
  let line = 0
  const one = (s: string): InputRow | MalformedRow | undefined => {
    line++
    if (s.trim() === '') return undefined
    let v: unknown
    try { v = JSON.parse(s) } catch { return { line, malformed: true } }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { line, malformed: true }
    const cells = new Map<string, string>()
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      cells.set(k.trim().toLowerCase(), x === null || x === undefined ? '' : typeof x === 'string' ? x : typeof x === 'object' ? JSON.stringify(x) : String(x as number | boolean))
    }
    return { line, cells }
  }
  for await (const chunk of chunks) {
    text += decoder.write(chunk)
    const out: Array<InputRow | MalformedRow> = []
    let nl = text.indexOf('\n')
    let pos = 0
    while (nl !== -1) {
      const r = one(text.slice(pos, nl))
      if (r !== undefined) out.push(r)
      pos = nl + 1
      nl = text.indexOf('\n', pos)
    }
    text = text.slice(pos)
    yield out
  }
  text += decoder.end()
  if (text !== '') {
    const r = one(text)
    if (r !== undefined) yield [r]
  }
}
