// Decides an input's format and where its identifiers are: explicit columns (`--columns`), a header row
// recognised by name, or `--type` for one-column files. Runs once per input on the main thread.
//
// A first row that is not a recognised header is data: its values are identifiers, so they are
// never echoed in an error message (only its field count is).
import { extname } from 'node:path'
import { InputError } from './errors.js'
import type { ColumnPlan, IdType, RecordFormat } from './protocol.js'

export type InputFormat = RecordFormat | 'json' | 'parquet'
export const INPUT_FORMATS: readonly InputFormat[] = ['csv', 'tsv', 'lines', 'ndjson', 'json', 'parquet']

const kHeaderNames: Record<IdType, string[]> = {
  email: ['email', 'emails', 'emailaddress', 'mail', 'eml'],
  email_sha256: ['emailsha256', 'sha256email', 'hashedemail', 'emailhash', 'hashedemailaddress', 'emailsha'],
  phone: ['phone', 'phonenumber', 'mobile', 'mobilephone', 'mobilenumber', 'cell', 'cellphone', 'telephone', 'tel', 'msisdn'],
  phone_sha256: ['phonesha256', 'sha256phone', 'hashedphone', 'phonehash', 'phonesha'],
  maid: ['maid', 'madid', 'mobileadid', 'mobileadvertisingid', 'adid', 'advertisingid', 'deviceid'],
  idfa: ['idfa'],
  gaid: ['gaid', 'aaid', 'googleadid', 'androidadid']
}

const kByHeader = new Map<string, IdType>()
for (const [type, names] of Object.entries(kHeaderNames) as Array<[IdType, string[]]>) {
  for (const n of names) kByHeader.set(n, type)
}

function headerKey (name: string): string {
  return name.trim().toLowerCase().replace(/[^a-z0-9]/g, '')
}

/** The id type a header name denotes, if any. */
export function idTypeForHeader (name: string): IdType | undefined {
  return kByHeader.get(headerKey(name))
}

/** Format from `--format`, else the extension (under .gz), else a sniff of the first bytes. */
export function detectFormat (name: string, head: Buffer, override?: InputFormat): InputFormat {
  if (override !== undefined) return override
  const base = name.toLowerCase().replace(/\.(gz|gzip)$/, '')
  const ext = name === '-' ? '' : extname(base)
  if (ext === '.csv') return 'csv'
  if (ext === '.tsv' || ext === '.tab') return 'tsv'
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson'
  if (ext === '.json') return 'json'
  if (ext === '.parquet') return 'parquet'
  if (ext === '.txt' || ext === '.lst' || ext === '.lines') return 'lines'
  let i = 0
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09 || head[i] === 0xef || head[i] === 0xbb || head[i] === 0xbf)) i++
  if (head[i] === 0x5b) return 'json'
  if (head[i] === 0x7b) return 'ndjson'
  const nl = head.indexOf(0x0a)
  const first = head.subarray(0, nl === -1 ? head.length : nl)
  if (first.includes(0x09)) return 'tsv'
  if (first.includes(0x2c)) return 'csv'
  return 'lines'
}

export interface PlanRequest {
  file: string
  format: RecordFormat
  /** Fields of the first record (csv/tsv/lines) or keys of the first object (ndjson); null when the input is empty. */
  firstRecord: string[]
  /** The first element was a bare string (JSON array of strings, or NDJSON of strings). */
  bareValues?: boolean
  columns?: Partial<Record<IdType, string>>
  type?: IdType
  /** How the caller names the columns and type settings in messages (default `--columns`, `--type`; a config's `segments[0].columns`). */
  names?: { columns: string, type: string }
}

export interface PlanDecision { plan: ColumnPlan, headerRow: boolean }

export function planColumns (req: PlanRequest): PlanDecision {
  const { file, format, firstRecord } = req
  const keyed = format === 'ndjson'
  const where = { file }
  const columnsName = req.names?.columns ?? '--columns'
  const typeName = req.names?.type ?? '--type'
  // A flag takes `email=Email`; a config key is a mapping (`segments[0].columns.email: Email`).
  const flag = columnsName.startsWith('--')
  if (req.bareValues === true || format === 'lines') {
    const recognised = format === 'lines' && firstRecord.length === 1 ? idTypeForHeader(firstRecord[0]!) : undefined
    const type = req.type ?? (req.columns !== undefined ? Object.keys(req.columns)[0] as IdType : undefined) ?? recognised
    if (type === undefined) {
      throw new InputError('HP_ERR_INPUT_NO_COLUMNS', `cannot tell which identifier '${file}' holds: it has one value per ${format === 'lines' ? 'line' : 'element'} and no recognised header; ${flag ? 'pass' : 'set'} ${typeName} ${flag ? '' : 'to '}email|phone|maid|idfa|gaid|email_sha256|phone_sha256`, where)
    }
    // A lines file may open with a header naming its type ("email"): skip it rather than reject it.
    const headerRow = format === 'lines' && recognised !== undefined
    return { plan: { format, fields: [{ index: 0, key: '', name: type, type }] }, headerRow }
  }
  if (req.columns !== undefined && Object.keys(req.columns).length > 0) {
    const lower = firstRecord.map(h => h.trim().toLowerCase())
    const fields: ColumnPlan['fields'] = []
    const missing: string[] = []
    for (const [type, header] of Object.entries(req.columns) as Array<[IdType, string]>) {
      const index = lower.indexOf(header.trim().toLowerCase())
      if (index === -1) missing.push(flag ? `${type}=${header}` : `${columnsName}.${type} '${header}'`)
      else fields.push({ index, key: firstRecord[index]!, name: firstRecord[index]!.trim(), type })
    }
    if (missing.length > 0) {
      const known = firstRecord.filter(h => idTypeForHeader(h) !== undefined || h.length < 40)
      throw new InputError('HP_ERR_INPUT_NO_COLUMNS', `${flag ? `${columnsName} ${missing.join(',')}` : missing.join(', ')}: no such ${keyed ? 'key in the first object' : 'column in the header row'} of '${file}' (${known.length} ${keyed ? 'keys' : 'columns'}); check the spelling against the ${keyed ? 'keys' : 'header'}`, where)
    }
    return { plan: { format, fields }, headerRow: !keyed }
  }
  const fields: ColumnPlan['fields'] = []
  firstRecord.forEach((name, index) => {
    const type = idTypeForHeader(name)
    if (type !== undefined) fields.push({ index, key: name, name: name.trim(), type })
  })
  if (fields.length > 0) return { plan: { format, fields }, headerRow: !keyed }
  if (req.type !== undefined && !keyed && firstRecord.length === 1) {
    return { plan: { format, fields: [{ index: 0, key: '', name: req.type, type: req.type }] }, headerRow: false }
  }
  const what = keyed ? `no key of the first object of '${file}' names an identifier` : `the first row of '${file}' (${firstRecord.length} fields) is not a header naming an identifier column`
  throw new InputError('HP_ERR_INPUT_NO_COLUMNS', `${what}; ${flag ? `map columns with ${columnsName} email=<name>,phone=<name>,maid=<name>` : `map columns with ${columnsName} (email: <name>, phone: <name>, maid: <name>)`}${keyed ? '' : `, or ${flag ? 'pass' : 'set'} ${typeName} for a one-column file without header`}`, where)
}

const kDelimiterNames: Record<number, string> = { 44: "','", 59: "';'", 124: "'|'", 9: 'tab' }

/** A delimiter as written in a config or on the command line (`;`, `|`, `,`, `tab` or a tab) to its byte. */
export function parseDelimiter (value: string): number | undefined {
  if (value === 'tab' || value === '\t' || value === '\\t') return 9
  if (value.length === 1 && [44, 59, 124].includes(value.charCodeAt(0))) return value.charCodeAt(0)
  return undefined
}

/**
 * For a first row that gave no identifier column: the delimiter (other than `used`) it splits on
 * into the most fields, in words, or undefined. Counts only: the row may be data.
 */
export function delimiterHint (firstLine: string, used: number): string | undefined {
  let best: number | undefined
  let bestFields = 1
  for (const d of [44, 59, 124, 9]) {
    if (d === used) continue
    const fields = firstLine.split(String.fromCharCode(d)).length
    if (fields > bestFields) { best = d; bestFields = fields }
  }
  if (best === undefined) return undefined
  const name = kDelimiterNames[best]!
  return `the first row splits into ${bestFields} fields on ${name}: set delimiter: ${name} (--delimiter ${name})`
}

export interface EncodingProblem { message: string, byteOffset: number }

/**
 * Where the start of an input shows it is not UTF-8, in words with the fix, or undefined.
 * UTF-16 is told by its byte-order mark or by NULs in every other byte (ASCII text in UTF-16).
 * Other bytes invalid as UTF-8 (Latin-1, Windows-1252) make the input an encoding error when
 * they are in its first line or in at least half of the lines of `head`: a few bad records in a
 * UTF-8 file stay invalid_utf8 rejects. A sequence cut at the end of `head` is not counted.
 */
export function encodingProblem (file: string, head: Uint8Array, baseOffset = 0): EncodingProblem | undefined {
  const fix16 = `convert it first: iconv -f UTF-16 -t UTF-8 '${file}' > '${file}.utf8'`
  if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) {
    return { byteOffset: baseOffset, message: `input '${file}' is UTF-16 (${head[0] === 0xff ? 'little' : 'big'}-endian, by its byte-order mark), not UTF-8; ${fix16}` }
  }
  const probe = Math.min(head.length, 4096)
  let evenNul = 0
  let oddNul = 0
  for (let i = 0; i < probe; i++) if (head[i] === 0) { if (i % 2 === 0) evenNul++; else oddNul++ }
  const pairs = Math.floor(probe / 2)
  // One half of the bytes mostly NUL and the other mostly not: NULs everywhere (a zeroed or
  // binary file) are no text encoding, and stay nul_byte rejects.
  const utf16 = (nul: number, other: number): boolean => nul >= pairs * 0.4 && other <= pairs * 0.1
  if (pairs >= 2 && (utf16(evenNul, oddNul) || utf16(oddNul, evenNul))) {
    return { byteOffset: baseOffset, message: `input '${file}' looks like UTF-16 ${oddNul > evenNul ? 'little' : 'big'}-endian without a byte-order mark (a NUL in every other byte), not UTF-8; ${fix16}` }
  }
  let lines = 0
  let bad = 0
  let first = -1
  let firstLine = 0
  for (let pos = 0; pos < head.length;) {
    let nl = head.indexOf(10, pos)
    if (nl === -1) nl = head.length
    const at = firstInvalidUtf8(head.subarray(pos, nl))
    lines++
    if (at !== -1) {
      bad++
      if (first === -1) { first = pos + at; firstLine = lines }
    }
    pos = nl + 1
  }
  if (first === -1 || (firstLine !== 1 && bad * 2 < lines)) return undefined
  const byte = head[first]!.toString(16).toUpperCase().padStart(2, '0')
  return {
    byteOffset: baseOffset + first,
    message: `input '${file}' is not UTF-8: byte 0x${byte} at byte offset ${baseOffset + first} (line ${firstLine}${bad > 1 ? `, and ${bad - 1} more of the first ${lines} lines` : ''}) is invalid UTF-8 — likely Latin-1 or Windows-1252; convert it first: iconv -f LATIN1 -t UTF-8 '${file}' > '${file}.utf8' (or -f WINDOWS-1252)`
  }
}

/** Offset of the first byte that cannot start or continue a UTF-8 sequence, or -1. */
function firstInvalidUtf8 (b: Uint8Array): number {
  const n = b.length
  let i = 0
  while (i < n) {
    const c = b[i]!
    if (c < 0x80) { i++; continue }
    let need: number
    let min: number
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80 } else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800 } else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000 } else return i
    if (i + need >= n) {
      // Cut at the end of the head: valid so far is enough.
      for (let k = 1; i + k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i
      return -1
    }
    let cp = c & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07)
    for (let k = 1; k <= need; k++) {
      const x = b[i + k]!
      if ((x & 0xc0) !== 0x80) return i
      cp = (cp << 6) | (x & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i
    i += need + 1
  }
  return -1
}
