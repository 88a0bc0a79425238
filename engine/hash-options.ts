// The hash job's options, in one place: what a caller may set (HashOptions), the frozen defaults
// (kHashDefaults), the bounds of every number (kHashBounds), and fillHashOptions, which fills in
// the defaults and refuses anything out of bounds before a thread starts or a file is opened.
// `hashpipe hash`, `hashpipe distribute` and the programmatic API all go through it; the job
// itself trusts what it gets.
//
// Errors name the option the way the caller spelled it: `--batch-bytes` on the command line,
// `hashing.default_country` in a config, `options.batchBytes` in the API (the default).
import { availableParallelism, tmpdir, totalmem } from 'node:os'
import { getCountries } from 'libphonenumber-js/max'
import { UsageError } from '../pipeline/errors.js'
import { INPUT_FORMATS, parseDelimiter, type InputFormat } from '../pipeline/column-plan.js'
import { ID_TYPES, type IdType, type NormalizeOptions } from '../pipeline/protocol.js'

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

/** What a caller may set. Everything but `inputs` has a default in kHashDefaults. */
/** Optional keys that may also be given as `undefined` (callers often spread optional values). */
type Loose<T> = { [K in keyof T]?: T[K] | undefined }

export interface HashOptions {
  /** Files to read, or '-' (once) for stdin. */
  inputs: string[]
  format?: InputFormat | undefined
  /** csv field delimiter: ',' ';' '|' or 'tab' (a format other than csv refuses it). */
  delimiter?: string | undefined
  /** Identifier type of a one-column file without header. */
  type?: IdType | undefined
  /** Header name per identifier type. */
  columns?: Partial<Record<IdType, string>> | undefined
  threads?: number | undefined
  batchBytes?: number | undefined
  /** Records longer than this are rejected as line_too_long (`--max-line-bytes`). */
  maxRecordBytes?: number | undefined
  memoryBudgetBytes?: number | undefined
  tmpDir?: string | undefined
  normalize?: Loose<NormalizeOptions> | undefined
  /** Put the raw value in reject records (PII). */
  includeValues?: boolean | undefined
  dedupe?: boolean | undefined
}

/** HashOptions with every default filled in and every value checked. */
export interface FilledHashOptions {
  inputs: string[]
  format?: InputFormat
  /** csv: the delimiter's byte. */
  delimiter?: number
  type?: IdType
  columns?: Partial<Record<IdType, string>>
  threads: number
  batchBytes: number
  maxRecordBytes: number
  memoryBudgetBytes: number
  tmpDir: string
  normalize: NormalizeOptions
  includeValues: boolean
  dedupe: boolean
  /** How the caller names columns and type, for the column planner's messages. */
  optionNames?: { columns: string, type: string }
}

export interface Bound { readonly min: number, readonly max: number }

/**
 * Why these maxima:
 * - threads ≤ 4 × the machine's parallelism: hashing is CPU-bound, so past one thread per core
 *   more threads only take turns; each also keeps two batches in flight (2·threads+1 in all)
 *   and runs dedupe sorts, so oversubscription costs memory and gains nothing. 4× leaves room
 *   for cores a container hides from availableParallelism().
 * - batchBytes ≤ 256 MiB: throughput stops growing past about 1 MiB (the per-task cost is tens
 *   of microseconds against milliseconds of hashing), while memory grows with it: 2·threads+1
 *   batches are in flight and a worker's digest buffer is up to 2× its batch (more for short
 *   identifiers). At 256 MiB a two-core run already holds over a GiB in batches; much above it
 *   a digest buffer passes the runtime's largest buffer and the run dies with a RangeError.
 *   At least 1 KiB: below it, messaging each batch costs more than hashing it.
 * - maxRecordBytes ≤ 16 MiB: the limit exists to reject broken records cheaply. Rows of wide
 *   CSV exports stay far under 1 MiB; a 16 MiB "line" is a file with a stray quote or without
 *   newlines, and every such record is held whole in one batch. At least 64 bytes, so a
 *   hex SHA-256 (the longest fixed-width identifier) always fits.
 * - memoryBudgetBytes ≤ the machine's memory (os.totalmem()): a budget past physical memory
 *   ends in swapping or the OOM killer instead of spilling. At least 64 KiB: each spill writes
 *   a run per partition (1,024 of them), so a smaller budget spills after nearly every batch
 *   and the final merge opens thousands of runs.
 */
export const kHashBounds: Readonly<Record<'threads' | 'batchBytes' | 'maxRecordBytes' | 'memoryBudgetBytes', Bound>> = Object.freeze({
  threads: Object.freeze({ min: 1, max: availableParallelism() * 4 }),
  batchBytes: Object.freeze({ min: KiB, max: 256 * MiB }),
  maxRecordBytes: Object.freeze({ min: 64, max: 16 * MiB }),
  memoryBudgetBytes: Object.freeze({ min: 64 * KiB, max: totalmem() })
})

/** The defaults, frozen: every caller shares them and none can change them for the others. */
export const kHashDefaults = Object.freeze({
  threads: availableParallelism(),
  batchBytes: MiB,
  maxRecordBytes: 8 * KiB,
  // 1 GiB, or the machine's memory where that is less (the default must be within its bound).
  memoryBudgetBytes: Math.min(GiB, kHashBounds.memoryBudgetBytes.max),
  tmpDir: tmpdir(),
  normalize: Object.freeze<NormalizeOptions>({ defaultCountry: 'US', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: false }),
  includeValues: false,
  dedupe: true
})

// The countries libphonenumber-js has numbering plans for: any other code would make every
// phone without a country code phone_invalid.
const kCountries: ReadonlySet<string> = new Set(getCountries())
// Codes people type for a country whose ISO code differs, and a few alpha-3 codes.
const kCountryAliases: Readonly<Record<string, string>> = Object.freeze({
  UK: 'GB', EL: 'GR', EN: 'GB', USA: 'US', GBR: 'GB', DEU: 'DE', FRA: 'FR', ESP: 'ES', ITA: 'IT', CAN: 'CA', AUS: 'AU', MEX: 'MX', BRA: 'BR', JPN: 'JP', IND: 'IN', NLD: 'NL'
})

/** True for an ISO 3166 alpha-2 code libphonenumber-js has a numbering plan for. */
export function isPhoneCountry (code: string): boolean {
  return kCountries.has(code)
}

/** Every option fillHashOptions checks, by its API path. */
export type HashOptionKey =
  | 'inputs' | 'format' | 'delimiter' | 'type' | 'columns'
  | 'threads' | 'batchBytes' | 'maxRecordBytes' | 'memoryBudgetBytes' | 'tmpDir'
  | 'normalize.defaultCountry' | 'normalize.phoneHashForm' | 'normalize.emailCanonicalize' | 'normalize.stripPlusTag'
  | 'includeValues' | 'dedupe'

export interface OptionSource {
  /** How the caller names each option in errors; unnamed ones are `options.<path>`. */
  names?: Partial<Record<HashOptionKey, string>>
  /** The text the user typed, quoted back in errors instead of the parsed value. */
  given?: Partial<Record<HashOptionKey, string>>
}

/** The command line's names, for `hashpipe hash`. */
export const kCliNames: Readonly<Partial<Record<HashOptionKey, string>>> = Object.freeze({
  inputs: '<input...>',
  format: '--format',
  delimiter: '--delimiter',
  type: '--type',
  columns: '--columns',
  threads: '--threads',
  batchBytes: '--batch-bytes',
  maxRecordBytes: '--max-line-bytes',
  memoryBudgetBytes: '--memory-budget',
  tmpDir: '--tmp-dir',
  'normalize.defaultCountry': '--default-country',
  'normalize.phoneHashForm': '--phone-hash-form',
  'normalize.emailCanonicalize': '--email-canonicalize',
  'normalize.stripPlusTag': '--strip-plus-tag',
  includeValues: '--rejects-include-values',
  dedupe: '--no-dedupe'
})

/** 1048576 → "1MiB"; sizes that are no whole binary unit stay in bytes. */
export function formatSize (bytes: number): string {
  for (const [unit, size] of [['GiB', GiB], ['MiB', MiB], ['KiB', KiB]] as const) {
    if (bytes >= size && Number.isInteger(bytes / size)) return `${bytes / size}${unit}`
  }
  return `${bytes} bytes`
}

const kSizes: ReadonlySet<HashOptionKey> = new Set(['batchBytes', 'maxRecordBytes', 'memoryBudgetBytes'])

function nameOf (source: OptionSource, key: HashOptionKey): string {
  return source.names?.[key] ?? `options.${key}`
}

function shown (source: OptionSource, key: HashOptionKey, value: unknown): string {
  const typed = source.given?.[key]
  if (typed !== undefined) return typed
  if (typeof value === 'number' && kSizes.has(key) && Number.isFinite(value)) return formatSize(value)
  return typeof value === 'string' ? `'${value}'` : String(value)
}

function fail (source: OptionSource, key: HashOptionKey, rule: string, value: unknown): never {
  throw new UsageError(`${nameOf(source, key)} ${rule}; got ${shown(source, key, value)}`)
}

/** One bounded number (its default when undefined), checked against kHashBounds. */
export function checkHashNumber (key: keyof typeof kHashBounds, value: unknown, source: OptionSource = {}): number {
  const v = value ?? kHashDefaults[key]
  const { min, max } = kHashBounds[key]
  const size = kSizes.has(key)
  const show = size ? formatSize : String
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(source, key, size ? 'must be a whole number of bytes' : 'must be a whole number', v)
  if (v < min) fail(source, key, `must be at least ${show(min)}`, v)
  const why = key === 'threads' ? ` (4 × this machine's parallelism, ${availableParallelism()})` : key === 'memoryBudgetBytes' ? ' (this machine\'s memory)' : ''
  if (v > max) fail(source, key, `must be at most ${show(max)}${why}`, v)
  return v
}

/** Fills in kHashDefaults and checks every value; throws UsageError naming the first bad option. */
export function fillHashOptions (options: HashOptions, source: OptionSource = {}): FilledHashOptions {
  if (options === null || typeof options !== 'object') throw new UsageError(`options must be an object with at least inputs; got ${String(options)}`)
  const name = (key: HashOptionKey): string => nameOf(source, key)
  const number = (key: keyof typeof kHashBounds, value: number | undefined): number => checkHashNumber(key, value, source)
  const oneOf = <T extends string>(key: HashOptionKey, value: unknown, allowed: readonly T[]): T => {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) fail(source, key, `must be one of ${allowed.join('|')}`, value)
    return value as T
  }
  const flag = (key: HashOptionKey, value: boolean | undefined, fallback: boolean): boolean => {
    if (value !== undefined && typeof value !== 'boolean') fail(source, key, 'must be true or false', value)
    return value ?? fallback
  }

  const inputs: unknown = options.inputs
  if (!Array.isArray(inputs) || inputs.length === 0) fail(source, 'inputs', 'must list at least one file, or - for stdin', inputs)
  for (const input of inputs as unknown[]) {
    if (typeof input !== 'string' || input === '') fail(source, 'inputs', 'must hold file paths (non-empty strings)', input)
  }
  if ((inputs as string[]).filter(i => i === '-').length > 1) throw new UsageError(`${name('inputs')} names stdin (-) more than once; it can be read only once`)

  const n = options.normalize ?? {}
  const d = kHashDefaults.normalize
  const country = n.defaultCountry ?? d.defaultCountry
  if (typeof country !== 'string' || !kCountries.has(country.toUpperCase())) {
    const alias = typeof country === 'string' ? kCountryAliases[country.toUpperCase()] : undefined
    fail(source, 'normalize.defaultCountry', `must be an ISO 3166 alpha-2 country code that phone numbering knows, such as US or GB${alias === undefined ? '' : ` (for ${String(country).toUpperCase()} use ${alias})`}`, country)
  }

  let columns: Partial<Record<IdType, string>> | undefined
  if (options.columns !== undefined) {
    if (options.columns === null || typeof options.columns !== 'object') fail(source, 'columns', 'must map identifier types to header names', options.columns)
    columns = {}
    for (const [type, header] of Object.entries(options.columns)) {
      if (!(ID_TYPES as readonly string[]).includes(type)) fail(source, 'columns', `maps types ${ID_TYPES.join('|')} only`, type)
      if (typeof header !== 'string' || header.trim() === '') fail(source, 'columns', `must name a header for ${type}`, header)
      columns[type as IdType] = header
    }
  }
  let delimiter: number | undefined
  if (options.delimiter !== undefined) {
    delimiter = typeof options.delimiter === 'string' ? parseDelimiter(options.delimiter) : undefined
    if (delimiter === undefined) fail(source, 'delimiter', "must be one of ',' ';' '|' tab", options.delimiter)
    if (options.format !== undefined && options.format !== 'csv') fail(source, 'delimiter', `applies to csv only (the format is ${String(options.format)})`, options.delimiter)
  }
  const tmpDir = options.tmpDir ?? kHashDefaults.tmpDir
  if (typeof tmpDir !== 'string' || tmpDir === '') fail(source, 'tmpDir', 'must be a directory path', tmpDir)

  return {
    inputs: [...inputs as string[]],
    ...(options.format !== undefined ? { format: oneOf<InputFormat>('format', options.format, INPUT_FORMATS) } : {}),
    ...(delimiter !== undefined ? { delimiter } : {}),
    ...(options.type !== undefined ? { type: oneOf<IdType>('type', options.type, ID_TYPES) } : {}),
    ...(columns !== undefined ? { columns } : {}),
    threads: number('threads', options.threads),
    batchBytes: number('batchBytes', options.batchBytes),
    maxRecordBytes: number('maxRecordBytes', options.maxRecordBytes),
    memoryBudgetBytes: number('memoryBudgetBytes', options.memoryBudgetBytes),
    tmpDir,
    normalize: {
      defaultCountry: country.toUpperCase(),
      phoneHashForm: oneOf('normalize.phoneHashForm', n.phoneHashForm ?? d.phoneHashForm, ['e164', 'digits'] as const),
      emailCanonicalize: oneOf('normalize.emailCanonicalize', n.emailCanonicalize ?? d.emailCanonicalize, ['none', 'gmail'] as const),
      stripPlusTag: flag('normalize.stripPlusTag', n.stripPlusTag, d.stripPlusTag)
    },
    includeValues: flag('includeValues', options.includeValues, kHashDefaults.includeValues),
    dedupe: flag('dedupe', options.dedupe, kHashDefaults.dedupe),
    ...(source.names?.columns !== undefined || source.names?.type !== undefined ? { optionNames: { columns: name('columns'), type: name('type') } } : {})
  }
}
