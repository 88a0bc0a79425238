// Decides an input's format and where its identifiers are: explicit columns (`--columns`), a header row
// recognised by name, or `--type` for one-column files. Runs once per input on the main thread.
//
// A first row that is not a recognised header is data: its values are identifiers, so they are
// never echoed in an error message (only its field count is).
import { extname } from 'node:path'
import { InputError } from './errors.js'
import type { ColumnPlan, IdType, RecordFormat } from './protocol.js'

export type InputFormat = RecordFormat | 'json'
export const INPUT_FORMATS: readonly InputFormat[] = ['csv', 'tsv', 'lines', 'ndjson', 'json']

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
