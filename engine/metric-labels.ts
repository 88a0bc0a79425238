// The closed sets every metric label value comes from, and the one function that maps a value
// onto its set. A value outside its set becomes 'other', so a caller that passes an identifier,
// an audience name or an error message by mistake adds one 'other' series, never a new one
// per value (Prometheus cardinality guidance; docs/operational-rules.md F2).
import { ID_SCHEMAS, ID_TYPES, REJECT_REASONS } from '../pipeline/protocol.js'
import { CONVERSION_REJECT_REASONS } from '../pipeline/conversion-event.js'

export const OTHER = 'other'

export const OUTCOMES = ['valid', 'rejected', 'empty', 'duplicate'] as const
export const STAGES = ['read', 'split', 'transfer', 'parse', 'hash', 'dedupe', 'write'] as const
export const OPERATIONS = ['add', 'delete'] as const
export const COMMANDS = ['hash', 'distribute', 'emulator', 'validate', 'connect', 'status', 'doctor', 'segments', 'conversions'] as const
export const CONVERSION_OUTCOMES = ['sent', 'rejected', 'duplicate'] as const
export const CONVERSION_REASONS = ['none', ...CONVERSION_REJECT_REASONS] as const
export const RUN_RESULTS = ['ok', 'failed', 'usage', 'rejects_over_limit', 'reauthorize', 'unavailable', 'config', 'aborted'] as const
export const RATE_LIMIT_SCOPES = ['app', 'advertiser'] as const
/** How a customer-file upload ended: answered with a file_path, failed, or its path expired (40910) and it went again. */
export const UPLOAD_OUTCOMES = ['ok', 'failed', 'expired'] as const
export const RETRY_REASONS = ['rate_limited', 'server_error', 'network', 'timeout', 'invalid_response'] as const

/**
 * The outcome of one API call, from the envelope as much as from HTTP (TikTok answers most
 * errors with HTTP 200 and a non-zero `code`): ok (code 0, 20001 partial), rate_limited
 * (40100/40016/40133), auth (40001, 40102–40107: re-authorize), client_error (other 4xxxx or HTTP 4xx),
 * server_error (5xxxx or HTTP 5xx), network (reset, timeout, no response), invalid_response
 * (HTML or truncated body).
 */
export const CODE_CLASSES = ['ok', 'rate_limited', 'auth', 'client_error', 'server_error', 'network', 'invalid_response'] as const

/** TikTok API paths the client calls, without the `/open_api/v1.3` prefix. */
export const ENDPOINTS = [
  '/segment/audience/',
  '/segment/mapping/',
  '/dmp/custom_audience/get/',
  '/dmp/custom_audience/delete/',
  '/dmp/custom_audience/list/',
  '/dmp/custom_audience/file/upload/',
  '/dmp/custom_audience/create/',
  '/dmp/custom_audience/update/',
  '/oauth2/access_token/',
  '/oauth2/advertiser/get/',
  '/user/info/',
  '/advertiser/info/',
  '/bc/get/',
  '/bc/asset/get/',
  '/event/track/'
] as const

export type Outcome = (typeof OUTCOMES)[number]
export type Stage = (typeof STAGES)[number]
export type Operation = (typeof OPERATIONS)[number]
export type CommandName = (typeof COMMANDS)[number]
export type RunResult = (typeof RUN_RESULTS)[number]
export type RateLimitScope = (typeof RATE_LIMIT_SCOPES)[number]
export type RetryReason = (typeof RETRY_REASONS)[number]
export type CodeClass = (typeof CODE_CLASSES)[number]
export type Endpoint = (typeof ENDPOINTS)[number]

/** Every label name the registry uses, with its allowed values ('other' is always allowed). */
export const LABEL_VALUES = {
  id_type: ID_TYPES,
  id_schema: ID_SCHEMAS,
  outcome: OUTCOMES,
  upload_outcome: UPLOAD_OUTCOMES,
  reason: REJECT_REASONS,
  stage: STAGES,
  operation: OPERATIONS,
  command: COMMANDS,
  result: RUN_RESULTS,
  scope: RATE_LIMIT_SCOPES,
  retry_reason: RETRY_REASONS,
  code_class: CODE_CLASSES,
  endpoint: ENDPOINTS,
  conversion_outcome: CONVERSION_OUTCOMES,
  conversion_reason: CONVERSION_REASONS
} as const satisfies Record<string, readonly string[]>
export type LabelSet = keyof typeof LABEL_VALUES

// Words the TikTok client's own classification (success / retry / re-authorize / terminal) and
// common HTTP spellings use for the same classes.
const kAliases: Partial<Record<LabelSet, Readonly<Record<string, string>>>> = {
  code_class: {
    success: 'ok',
    '2xx': 'ok',
    reauthorize: 'auth',
    terminal: 'client_error',
    '4xx': 'client_error',
    retry: 'server_error',
    '5xx': 'server_error',
    transport: 'network',
    timeout: 'network'
  },
  operation: { remove: 'delete', removes: 'delete', adds: 'add' },
  id_schema: { EMAIL: 'EMAIL_SHA256', PHONE: 'PHONE_SHA256', IDFA: 'IDFA_SHA256', AAID: 'AAID_SHA256', GAID: 'AAID_SHA256' },
  retry_reason: { rate_limit: 'rate_limited', '5xx': 'server_error', reset: 'network', transport: 'network' },
  result: { success: 'ok', error: 'failed' }
}

const kSets: Record<string, ReadonlySet<string>> = Object.fromEntries(
  Object.entries(LABEL_VALUES).map(([k, v]) => [k, new Set<string>(v)])
)

/** Maps `value` onto the allowed set of `label`; anything unknown (or not a string) becomes 'other'. */
export function safeLabel (label: LabelSet, value: unknown): string {
  if (typeof value !== 'string') return OTHER
  const v = label === 'endpoint' ? canonicalEndpoint(value) : (kAliases[label]?.[value] ?? value)
  return kSets[label]!.has(v) ? v : OTHER
}

/**
 * Reduces a URL or path to the endpoint form used as a label: no origin, no query, no
 * `/open_api/v1.3` prefix, leading and trailing slash (TikTok paths end in `/`).
 */
export function canonicalEndpoint (value: string): string {
  let p = value
  const scheme = p.indexOf('://')
  if (scheme !== -1) {
    const slash = p.indexOf('/', scheme + 3)
    p = slash === -1 ? '/' : p.slice(slash)
  }
  const q = p.search(/[?#]/)
  if (q !== -1) p = p.slice(0, q)
  p = p.replace(/^\/?open_api\/v\d+(\.\d+)?/, '')
  if (!p.startsWith('/')) p = '/' + p
  if (!p.endsWith('/')) p += '/'
  return p
}

/**
 * Classifies one API call for `code_class`. `apiCode` is the envelope's `code` when a JSON
 * envelope was parsed; `httpStatus` is undefined when no response arrived.
 */
export function codeClassOf (httpStatus: number | undefined, apiCode?: number): CodeClass {
  if (httpStatus === undefined) return 'network'
  if (httpStatus >= 500) return 'server_error'
  if (httpStatus === 429) return 'rate_limited'
  if (httpStatus === 401 || httpStatus === 403) return 'auth'
  if (httpStatus >= 400) return 'client_error'
  if (apiCode === undefined || !Number.isFinite(apiCode)) return 'invalid_response'
  if (apiCode === 0 || apiCode === 20001) return 'ok'
  if (apiCode === 40100 || apiCode === 40016 || apiCode === 40133) return 'rate_limited'
  if (apiCode === 40001 || (apiCode >= 40102 && apiCode <= 40107)) return 'auth'
  if (apiCode >= 50000) return 'server_error'
  return 'client_error'
}

/** The `result` label for a process exit code (docs/cli-contract.md). */
export function runResultOf (exitCode: number, aborted = false): RunResult {
  if (aborted) return 'aborted'
  switch (exitCode) {
    case 0: return 'ok'
    case 2: return 'usage'
    case 3: return 'rejects_over_limit'
    case 4: return 'reauthorize'
    case 5: return 'unavailable'
    case 78: return 'config'
    case 130: return 'aborted'
    default: return 'failed'
  }
}
