// The config file (README.md's configuration reference): YAML or JSON → interpolation → zod schema → semantic rules →
// a fully resolved, typed config. The only zod user in the project. Every problem is collected
// and reported by key path; nothing stops at the first one.
//
// Numbers are read as BigInt (yaml `intAsBigInt`) so an unquoted 19-digit advertiser id is seen
// exactly as written and refused with a message telling the user to quote it, instead of being
// silently rounded to a float.
import { dirname, extname, isAbsolute, resolve } from 'node:path'
import { z } from 'zod'
import { Secret } from '../pipeline/secret.js'
import { formatPath, interpolateTree, type ConfigProblem, type Env } from './config-interpolate.js'
import { checkRules, suggestKey } from './config-rules.js'
import { configError, dedupe, formatProblem, inDocumentOrder, readConfigFile, readTree, scrub } from './config-source.js'
import {
  AUDIENCE_TYPES, DATA_TYPES, DEFAULT_API_BASE_URL, DEFAULT_EVENTS_INFLIGHT, DEFAULT_EVENTS_RATE_LIMIT, DEFAULT_LOOKBACK_DAYS, MAX_EVENTS_INFLIGHT, MAX_EVENTS_PER_REQUEST, DEFAULT_AUTH_URL, DEFAULT_STATE_DIR, INTEGRATIONS, MAX_BATCH_SIZE, MAX_FILE_BYTES, MAX_SEGMENT_NAME, MIN_FILE_BYTES, DEFAULT_RETRY_BUDGET_MS, MAX_RETRY_BUDGET,
  type ParseConfigOptions, type ResolvedConfig
} from './config-types.js'
import { CONNECTION_NAME } from './state/records.js'
import { parseDuration } from './distribute/duration.js'
import { isPhoneCountry } from './hash-options.js'
import { INPUT_FORMATS, parseDelimiter, type InputFormat } from '../pipeline/column-plan.js'
import { ID_TYPES, type IdType } from '../pipeline/protocol.js'
import { CONVERSION_FIELDS, OFFLINE_EVENTS, type ConversionField } from '../pipeline/conversion-event.js'

export * from './config-types.js'
export type { ConfigProblem, Env } from './config-interpolate.js'
export { CONNECTION_NAME, configError, formatProblem }
export { MAX_CONFIG_BYTES } from './config-source.js'
export { MAX_VALUE_CHARS } from './config-interpolate.js'

// ---- schema ---------------------------------------------------------------------------------

const toNumber = (v: unknown): unknown =>
  typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v
const toBoolean = (v: unknown): unknown => v === 'true' ? true : v === 'false' ? false : v
const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER): z.ZodType<number> =>
  z.preprocess(toNumber, z.number().int({ error: 'must be a whole number' }).min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` })) as z.ZodType<number>

const text = (what: string, max: number): z.ZodType<string> =>
  z.string().trim().min(1, { error: 'must not be empty' }).max(max, { error: `must be ${what}` })

/** Values that look like numbers to YAML but must stay strings. */
const quotedString = (check: (s: string) => string | undefined, numberMessage: (digits: string | undefined) => string): z.ZodType<string> =>
  z.unknown().transform((v, ctx) => {
    if (typeof v === 'number' || typeof v === 'bigint') {
      ctx.addIssue({ code: 'custom', message: numberMessage(typeof v === 'bigint' ? v.toString() : undefined) })
      return z.NEVER
    }
    if (v === undefined) { ctx.addIssue({ code: 'custom', message: 'is required' }); return z.NEVER }
    if (typeof v !== 'string') { ctx.addIssue({ code: 'custom', message: 'must be a string' }); return z.NEVER }
    const problem = check(v.trim())
    if (problem !== undefined) { ctx.addIssue({ code: 'custom', message: problem }); return z.NEVER }
    return v.trim()
  })

const advertiserId = quotedString(
  s => /^\d{19}$/.test(s) ? undefined : 'must be exactly 19 digits, as a quoted string',
  digits => `must be exactly 19 digits, as a quoted string: it is written as a number, which YAML and JSON round; quote it${digits === undefined ? '' : ` (advertiser_id: "${digits}")`}`
)

const httpUrl = z.string().trim().transform((v, ctx) => {
  let url: URL
  try { url = new URL(v) } catch { ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' }); return z.NEVER }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    ctx.addIssue({ code: 'custom', message: 'must use https (plain http is allowed only on 127.0.0.1/localhost, e.g. the emulator)' })
    return z.NEVER
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials, a query or a fragment' })
    return z.NEVER
  }
  return v.replace(/\/+$/, '')
})

// Never echoes the value: it may carry Redis's password.
const redisUrl = z.string().trim().transform((v, ctx) => {
  const problem = ((): string | undefined => {
    let url: URL
    try { url = new URL(v) } catch { return 'must be a redis:// URL, e.g. redis://127.0.0.1:6379/0' }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return 'must be a redis:// (or rediss:// for TLS) URL, e.g. redis://127.0.0.1:6379/0'
    if (url.hostname === '') return 'must name the Redis host, e.g. redis://127.0.0.1:6379/0'
    if (!/^\/?(\d+)?$/.test(url.pathname)) return 'may end only in a database number, e.g. redis://127.0.0.1:6379/0'
    if (url.search !== '' || url.hash !== '') return 'must not carry a query or a fragment'
    return undefined
  })()
  if (problem !== undefined) { ctx.addIssue({ code: 'custom', message: problem }); return z.NEVER }
  return v
})

const agreement = z.unknown().transform((v, ctx) => {
  if (v === true || (typeof v === 'string' && v.trim().toLowerCase() === 'i agree')) return true as const
  ctx.addIssue({ code: 'custom', message: v === undefined ? 'is required' : 'must be true or "I Agree"' })
  return z.NEVER
})

const kEmail = /^[^\s@,;]+@[^\s@,;.]+(?:\.[^\s@,;.]+)+$/
const contactEmails = z.union([z.string(), z.array(z.string())]).transform((v, ctx) => {
  const list = (Array.isArray(v) ? v : v.split(',')).map(s => s.trim())
  if (list.length === 0 || list.every(s => s === '')) { ctx.addIssue({ code: 'custom', message: 'must name at least one email address' }); return z.NEVER }
  const bad = list.map((s, i) => kEmail.test(s) && s.length <= 254 ? -1 : i + 1).filter(i => i > 0)
  if (bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: `${bad.length === 1 ? 'entry' : 'entries'} ${bad.join(', ')} of the comma-separated list ${bad.length === 1 ? 'is not an email address' : 'are not email addresses'}` })
    return z.NEVER
  }
  return list
})

// A percentage of media spend (LiveRamp's sellers set 10 or 15, custom segments 15); kept as the
// decimal text so the data cost is computed exactly.
const percent = z.unknown().transform((v, ctx) => {
  const text = typeof v === 'bigint' || typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim().replace(/%$/, '') : undefined
  const m = text === undefined ? null : /^(\d{1,3})(?:\.\d{1,5})?$/.exec(text)
  if (m === null || Number(text) <= 0 || Number(text) > 100) {
    ctx.addIssue({ code: 'custom', message: 'must be a percentage above 0 and at most 100, such as 15 or 12.5 (of campaign spend)' })
    return z.NEVER
  }
  return text!
})

const columns = z.record(z.string(), z.unknown()).transform((v, ctx) => {
  const out: Partial<Record<IdType, string>> = {}
  for (const [k, header] of Object.entries(v)) {
    if (!(ID_TYPES as readonly string[]).includes(k)) {
      ctx.addIssue({ code: 'custom', path: [k], message: `is not an identifier type; use ${ID_TYPES.join('|')}` })
    } else if (typeof header !== 'string' || header.trim() === '') {
      ctx.addIssue({ code: 'custom', path: [k], message: 'must be the header (column or key) name, a non-empty string' })
    } else {
      out[k as IdType] = header
    }
  }
  return out
})

const retryBudget = z.preprocess(v => typeof v === 'bigint' ? String(v) : v, z.string({ error: `must be a duration such as 90s, 10m or 1h (at least 1s, at most ${MAX_RETRY_BUDGET})` })
  .transform((v, ctx) => {
    const ms = parseDuration(v)
    if (ms === undefined || ms < 1000 || ms > parseDuration(MAX_RETRY_BUDGET)!) { ctx.addIssue({ code: 'custom', message: `must be a duration such as 90s, 10m or 1h (at least 1s, at most ${MAX_RETRY_BUDGET})` }); return z.NEVER }
    return ms
  })).default(DEFAULT_RETRY_BUDGET_MS) as z.ZodType<number>

const pathString = z.string().min(1, { error: 'must not be empty' }).refine(s => !s.includes('\0'), { error: 'must not contain NUL' })

const tiktokSchema = z.strictObject({
  api_base_url: httpUrl.default(DEFAULT_API_BASE_URL),
  auth_url: httpUrl.default(DEFAULT_AUTH_URL),
  app_id: quotedString(s => s === '' ? 'must not be empty' : /\s/.test(s) ? 'must not contain spaces' : undefined, () => 'must be a string: quote it, YAML and JSON round long numbers'),
  secret: z.unknown().transform((v, ctx) => {
    // Never echo v: it is the secret even when it is the wrong type.
    if (typeof v !== 'string') { ctx.addIssue({ code: 'custom', message: v === undefined ? 'is required' : 'must be a string (quote it)' }); return z.NEVER }
    if (v === '') { ctx.addIssue({ code: 'custom', message: 'must not be empty' }); return z.NEVER }
    return new Secret(v)
  }),
  rate_limit: z.strictObject({
    qps: wholeNumber(1).default(10),
    qpm: wholeNumber(1).default(600),
    redis_url: redisUrl.optional()
  }).default({ qps: 10, qpm: 600 }),
  events_rate_limit: z.strictObject({
    qps: wholeNumber(1, 1000).default(DEFAULT_EVENTS_RATE_LIMIT.qps),
    qpm: wholeNumber(1, 600_000).default(DEFAULT_EVENTS_RATE_LIMIT.qpm)
  }).default(DEFAULT_EVENTS_RATE_LIMIT),
  batch_size: wholeNumber(1, MAX_BATCH_SIZE).default(MAX_BATCH_SIZE),
  file_max_bytes: wholeNumber(MIN_FILE_BYTES, MAX_FILE_BYTES).default(MAX_FILE_BYTES),
  retry_budget: retryBudget,
  phone_hash_form: z.enum(['e164', 'digits']).default('e164')
})

const hashingSchema = z.strictObject({
  default_country: z.string().trim().toUpperCase().refine(isPhoneCountry, { error: 'must be an ISO 3166 alpha-2 country code that phone numbering knows, such as US or GB' }).default('US'),
  email_canonicalize: z.enum(['none', 'gmail']).default('none'),
  strip_plus_tag: z.preprocess(toBoolean, z.boolean()).default(false)
})

const destinationSchema = z.strictObject({
  name: text('fewer than 150 characters', 149),
  integration: z.enum(INTEGRATIONS),
  advertiser_id: advertiserId,
  connection: z.string().trim().regex(CONNECTION_NAME, { error: 'must be a connection name: letters, digits, . _ - (up to 64), starting with a letter or digit' }),
  region: z.string().trim().toUpperCase().regex(/^[A-Z]{2}$/, { error: 'must be a two-letter country code such as US' }).default('US'),
  audience_type: z.enum(AUDIENCE_TYPES).default('partner'),
  data_usage_reporting_requirement: agreement.optional(),
  payment_model: agreement.optional(),
  payment_requirement: agreement.optional(),
  reporting_contact_email: contactEmails.optional(),
  data_cost_percent: percent.optional()
})

// `delimiter: ';'` (or ',', '|', tab: "\t" or tab); csv only, so a format other than csv refuses it.
const delimiter = z.string().refine(v => parseDelimiter(v) !== undefined, { error: "must be one of ',' ';' '|' tab (quote it: delimiter: ';')" })
const delimiterNeedsCsv = (v: { format?: string | undefined, delimiter?: string | undefined }, ctx: z.RefinementCtx): void => {
  if (v.delimiter !== undefined && v.format !== undefined && v.format !== 'csv') ctx.addIssue({ code: 'custom', path: ['delimiter'], message: `applies to format csv only (format is ${v.format})` })
}

const segmentSchema = z.strictObject({
  name: text(`at most ${MAX_SEGMENT_NAME} characters (TikTok cuts longer audience names)`, MAX_SEGMENT_NAME),
  inputs: z.preprocess(v => typeof v === 'string' ? [v] : v, z.array(pathString).min(1, { error: 'must list at least one input file' })),
  columns: columns.optional(),
  type: z.enum(ID_TYPES).optional(),
  format: z.enum(INPUT_FORMATS as [InputFormat, ...InputFormat[]]).optional(),
  delimiter: delimiter.optional(),
  destination: z.union([z.string().trim().min(1, { error: 'must not be empty' }), z.array(z.string().trim())]).optional(),
  // Checked by the rules (refused with the integration's workaround); accepted here so the message is that one.
  destinations: z.unknown().optional(),
  data_type: z.enum(DATA_TYPES).default('first-party')
}).superRefine(delimiterNeedsCsv)

const conversionColumns = z.record(z.string(), z.unknown()).transform((v, ctx) => {
  const out: Partial<Record<ConversionField, string>> = {}
  for (const [k, header] of Object.entries(v)) {
    if (!(CONVERSION_FIELDS as readonly string[]).includes(k)) {
      const hint = suggestKey(k, CONVERSION_FIELDS)
      ctx.addIssue({ code: 'custom', path: [k], message: `is not a conversion field${hint === undefined ? '' : `; did you mean ${hint}?`} (fields: ${CONVERSION_FIELDS.join(', ')})` })
    } else if (typeof header !== 'string' || header.trim() === '') {
      ctx.addIssue({ code: 'custom', path: [k], message: 'must be the header (column or key) name, a non-empty string' })
    } else {
      out[k as ConversionField] = header
    }
  }
  return out
})

const eventSourceId = quotedString(
  s => /^\d{1,20}$/.test(s) ? undefined : 'must be the Offline Event Set ID, digits only, as a quoted string',
  digits => `must be a quoted string: it is written as a number, which YAML and JSON round; quote it${digits === undefined ? '' : ` (event_source_id: "${digits}")`}`
)

const conversionSchema = z.strictObject({
  name: z.string().trim().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be 1 to 64 letters, digits, . _ -' }),
  event_source_id: eventSourceId,
  connection: z.string().trim().regex(CONNECTION_NAME, { error: 'must be a connection name: letters, digits, . _ - (up to 64), starting with a letter or digit' }),
  inputs: z.preprocess(v => typeof v === 'string' ? [v] : v, z.array(pathString).min(1, { error: 'must list at least one input file' })),
  columns: conversionColumns,
  event: z.string().trim().refine(s => (OFFLINE_EVENTS as readonly string[]).includes(s), { error: `must be a TikTok standard event: ${OFFLINE_EVENTS.join(', ')}` }).optional(),
  lookback_days: wholeNumber(1, 28).default(DEFAULT_LOOKBACK_DAYS),
  batch_size: wholeNumber(1, MAX_EVENTS_PER_REQUEST).default(MAX_EVENTS_PER_REQUEST),
  inflight: wholeNumber(1, MAX_EVENTS_INFLIGHT).default(DEFAULT_EVENTS_INFLIGHT),
  format: z.enum(['csv', 'tsv', 'ndjson', 'json', 'parquet']).optional(),
  delimiter: delimiter.optional()
}).superRefine(delimiterNeedsCsv)

const configSchema = z.strictObject({
  state_dir: pathString.default(DEFAULT_STATE_DIR),
  tiktok: tiktokSchema,
  hashing: hashingSchema.default({ default_country: 'US', email_canonicalize: 'none', strip_plus_tag: false }),
  destinations: z.array(destinationSchema).default([]),
  segments: z.array(segmentSchema).default([]),
  conversions: z.array(conversionSchema).default([])
})

type RawConfig = z.output<typeof configSchema>

/** Keys allowed at a path, for "did you mean" hints. */
function knownKeysAt (path: ReadonlyArray<string | number>): string[] {
  const p = path.filter(k => typeof k === 'string').join('.')
  const shapes: Record<string, object> = {
    '': configSchema.shape,
    tiktok: tiktokSchema.shape,
    'tiktok.rate_limit': { qps: 0, qpm: 0, redis_url: 0 },
    'tiktok.events_rate_limit': { qps: 0, qpm: 0 },
    conversions: conversionSchema.shape,
    hashing: hashingSchema.shape,
    destinations: destinationSchema.shape,
    segments: segmentSchema.shape
  }
  return Object.keys(shapes[p] ?? {}).filter(k => k !== 'destinations' || p !== 'segments')
}

// ---- messages -------------------------------------------------------------------------------

const kExpected: Record<string, string> = { string: 'a string', number: 'a number', boolean: 'true or false', array: 'a list', object: 'a mapping (key: value)', record: 'a mapping (key: value)' }

function errorMap (iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return 'is required'
      const quote = iss.expected === 'string' && (typeof iss.input === 'number' || typeof iss.input === 'bigint') ? ' (quote it)' : ''
      return `must be ${kExpected[iss.expected] ?? iss.expected}${quote}`
    }
    case 'invalid_value': return `must be one of ${iss.values.map(String).join(', ')}`
    case 'invalid_union': return 'has the wrong type'
    default: return undefined
  }
}

function zodProblems (issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  const out: ConfigProblem[] = []
  for (const iss of issues) {
    const path = iss.path as Array<string | number>
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) {
        const hint = suggestKey(key, knownKeysAt(path))
        out.push({ path: formatPath([...path, key]), message: `unknown key${hint === undefined ? '' : `; did you mean ${hint}?`}` })
      }
    } else {
      out.push({ path: formatPath(path), message: iss.message })
    }
  }
  return out
}

// ---- entry points ---------------------------------------------------------------------------

export interface CheckResult {
  config: ResolvedConfig | undefined
  problems: ConfigProblem[]
}

/** Parses and checks without throwing: every problem, or the resolved config. */
export function checkConfig (text: string, options: ParseConfigOptions = {}): CheckResult {
  const env = options.env ?? process.env
  const file = options.path === undefined ? undefined : resolve(options.path)
  const dir = file === undefined ? process.cwd() : dirname(file)
  const format = options.format ?? (file !== undefined && extname(file).toLowerCase() === '.json' ? 'json' : 'yaml')

  const source = readTree(text, format)
  if (source.problems.length > 0) return { config: undefined, problems: source.problems }
  const interpolated = interpolateTree(source.value, env)
  if (options.secretOptional === true) withoutSecret(interpolated)
  const failed = new Set(interpolated.problems.map(p => p.path))
  const parsed = configSchema.safeParse(interpolated.value, { error: errorMap })
  const schemaProblems = parsed.success ? [] : zodProblems(parsed.error.issues).filter(p => !failed.has(p.path))
  const problems = inDocumentOrder(dedupe([...interpolated.problems, ...schemaProblems, ...checkRules(interpolated.value)]))
  const secret = (interpolated.value as { tiktok?: { secret?: unknown } } | null)?.tiktok?.secret
  const scrubbed = problems.map(p => ({ path: scrub(p.path, secret), message: scrub(p.message, secret) }))
  if (scrubbed.length > 0 || !parsed.success) return { config: undefined, problems: scrubbed }
  return { config: resolveConfig(parsed.data, file, dir), problems: [] }
}

/** Parses config text; throws ConfigError (exit 78) listing every problem by key path. */
export function parseConfig (text: string, options: ParseConfigOptions = {}): ResolvedConfig {
  const { config, problems } = checkConfig(text, options)
  if (config === undefined) throw configError(problems, options.path)
  return config
}

/** Reads and parses a config file; an unreadable file is a ConfigError too. */
export async function loadConfig (path: string, env: Env = process.env, options: Pick<ParseConfigOptions, 'secretOptional'> = {}): Promise<ResolvedConfig> {
  return parseConfig(await readConfigText(path), { path, env, ...options })
}

/** A placeholder for a secret the command does not use; its problems (unset variable, missing key) are dropped. */
function withoutSecret (interpolated: { value: unknown, problems: ConfigProblem[] }): void {
  const tiktok = (interpolated.value as { tiktok?: unknown } | null)?.tiktok
  if (tiktok === null || typeof tiktok !== 'object' || Array.isArray(tiktok)) return
  const t = tiktok as Record<string, unknown>
  const failed = interpolated.problems.some(p => p.path === 'tiktok.secret')
  if (failed || typeof t['secret'] !== 'string' || t['secret'] === '') t['secret'] = 'unused'
  interpolated.problems = interpolated.problems.filter(p => p.path !== 'tiktok.secret')
}

/** The config file's text; one over MAX_CONFIG_BYTES is refused (ConfigError) before it is read. */
export async function readConfigText (path: string): Promise<string> {
  return await readConfigFile(path)
}

function resolveConfig (raw: RawConfig, file: string | undefined, dir: string): ResolvedConfig {
  const at = (p: string): string => isAbsolute(p) ? p : resolve(dir, p)
  const t = raw.tiktok
  return {
    file,
    dir,
    stateDir: at(raw.state_dir),
    tiktok: {
      apiBaseUrl: t.api_base_url,
      authUrl: t.auth_url,
      appId: t.app_id,
      secret: t.secret,
      rateLimit: { qps: t.rate_limit.qps, qpm: t.rate_limit.qpm, ...(t.rate_limit.redis_url !== undefined ? { redisUrl: t.rate_limit.redis_url } : {}) },
      eventsRateLimit: { qps: t.events_rate_limit.qps, qpm: t.events_rate_limit.qpm },
      batchSize: t.batch_size,
      fileMaxBytes: t.file_max_bytes,
      retryBudgetMs: t.retry_budget,
      phoneHashForm: t.phone_hash_form
    },
    normalize: {
      defaultCountry: raw.hashing.default_country,
      phoneHashForm: t.phone_hash_form,
      emailCanonicalize: raw.hashing.email_canonicalize,
      stripPlusTag: raw.hashing.strip_plus_tag
    },
    destinations: raw.destinations.map(d => ({
      name: d.name,
      integration: d.integration,
      advertiserId: d.advertiser_id,
      connection: d.connection,
      region: d.region,
      audienceType: d.audience_type,
      ...(d.integration === 'data-marketplace-3pd' && d.reporting_contact_email !== undefined
        ? { marketplace: { dataUsageReportingRequirement: true, paymentModel: true, paymentRequirement: true, reportingContactEmails: d.reporting_contact_email, ...(d.data_cost_percent !== undefined ? { dataCostPercent: d.data_cost_percent } : {}) } }
        : {})
    })),
    segments: raw.segments.map(s => {
      const destination = Array.isArray(s.destination) ? s.destination[0] : s.destination
      return {
        name: s.name,
        inputs: s.inputs.map(at),
        ...(s.columns !== undefined && Object.keys(s.columns).length > 0 ? { columns: s.columns } : {}),
        ...(s.type !== undefined ? { type: s.type } : {}),
        ...(s.format !== undefined ? { format: s.format } : {}),
        ...(s.delimiter !== undefined ? { delimiter: parseDelimiter(s.delimiter)! } : {}),
        ...(destination !== undefined && destination !== '' ? { destination } : {}),
        dataType: s.data_type
      }
    }),
    conversions: raw.conversions.map(c => ({
      name: c.name,
      eventSourceId: c.event_source_id,
      connection: c.connection,
      inputs: c.inputs.map(p => p === '-' ? p : at(p)),
      columns: c.columns,
      event: c.event,
      lookbackDays: c.lookback_days,
      batchSize: c.batch_size,
      inflight: c.inflight,
      ...(c.format !== undefined ? { format: c.format } : {}),
      ...(c.delimiter !== undefined ? { delimiter: parseDelimiter(c.delimiter)! } : {})
    }))
  }
}
