// The resolved config's types and the constants its schema (config.ts) enforces. No zod here:
// modules that only need the types or limits import this file.
import type { Secret } from '../pipeline/secret.js'
import type { Env } from './config-interpolate.js'
import type { InputFormat } from '../pipeline/column-plan.js'
import type { IdType, NormalizeOptions, PhoneHashForm } from '../pipeline/protocol.js'
import type { ConversionField } from '../pipeline/conversion-event.js'

export const INTEGRATIONS = ['first-party', 'first-party-record-sync', 'data-marketplace-3pd'] as const
export type Integration = (typeof INTEGRATIONS)[number]
export const AUDIENCE_TYPES = ['partner', 'customer_file'] as const
export type AudienceType = (typeof AUDIENCE_TYPES)[number]
export const DATA_TYPES = ['first-party', 'third-party'] as const
export type DataType = (typeof DATA_TYPES)[number]

/** Fields TikTok's Advertiser Direct (data-marketplace-3pd) destinations require (docs/integration-rules.md). */
export const MARKETPLACE_AGREEMENTS = ['data_usage_reporting_requirement', 'payment_model', 'payment_requirement'] as const

/** TikTok documents no per-request maximum for /segment/mapping/ (docs/tiktok-api-notes.md §3.2); 1000 is the largest batch peers are known to send. */
export const MAX_BATCH_SIZE = 1000
/** TikTok's size limit per customer-file upload (250 MB). */
export const MAX_FILE_BYTES = 250_000_000
/** The smallest upload file limit: room for a header and 150 digest lines (tests split small inputs). */
export const MIN_FILE_BYTES = 10_000
export const DEFAULT_API_BASE_URL = 'https://business-api.tiktok.com/open_api/v1.3'
export const DEFAULT_AUTH_URL = 'https://business-api.tiktok.com/portal/auth'
export const DEFAULT_STATE_DIR = '.hashpipe'
/** tiktok.retry_budget unless the config or --retry-budget says otherwise. */
export const DEFAULT_RETRY_BUDGET_MS = 10 * 60_000
export const MAX_RETRY_BUDGET = '24h'
/** TikTok cuts longer audience names to 67 characters + '...'; keeping segment names within it keeps names aligned. */
export const MAX_SEGMENT_NAME = 70

export interface MarketplaceAgreement {
  dataUsageReportingRequirement: true
  paymentModel: true
  paymentRequirement: true
  reportingContactEmails: string[]
  /** The data cost as a % of campaign spend (data_cost_percent), decimal text such as "15"; absent when not given. */
  dataCostPercent?: string
}

export interface DestinationConfig {
  name: string
  integration: Integration
  /** 19 digits, always a string: never a JS number (> 2^53). */
  advertiserId: string
  connection: string
  region: string
  /** partner: /segment/ streaming batches; customer_file: uploaded files (/dmp/custom_audience/). */
  audienceType: AudienceType
  /** Present exactly when integration is data-marketplace-3pd. */
  marketplace?: MarketplaceAgreement
}

export interface SegmentConfig {
  name: string
  /** Absolute paths (resolved against the config file's directory): files, directories or globs, expanded when read. */
  inputs: string[]
  columns?: Partial<Record<IdType, string>>
  type?: IdType
  format?: InputFormat
  /** csv: the field delimiter's byte (`delimiter:` key); ',' when absent. */
  delimiter?: number
  /** Absent for a segment not (yet) distributed, e.g. a fresh clone. */
  destination?: string
  dataType: DataType
}

/** Events API requests per second and minute unless tiktok.events_rate_limit says otherwise (well under TikTok's 1,000 QPS / 600,000 QPM). */
export const DEFAULT_EVENTS_RATE_LIMIT = { qps: 50, qpm: 3000 }
export const DEFAULT_LOOKBACK_DAYS = 28
/** TikTok rejects a /event/track/ request with more events whole. */
export const MAX_EVENTS_PER_REQUEST = 1000
/**
 * Requests of one conversions entry out at once unless conversions[].inflight says otherwise:
 * enough that TikTok's answer latency does not bound the rate below the limiter's, few enough
 * that a kill re-sends little (up to this many batches, which TikTok dedupes by event_id).
 */
export const DEFAULT_EVENTS_INFLIGHT = 4
export const MAX_EVENTS_INFLIGHT = 16

export interface ConversionConfig {
  name: string
  /** The Offline Event Set ID: digits, always a string. */
  eventSourceId: string
  connection: string
  /** Absolute paths, or '-' for stdin. */
  inputs: string[]
  /** Conversion field → header (column or key) name. */
  columns: Partial<Record<ConversionField, string>>
  event: string | undefined
  lookbackDays: number
  batchSize: number
  /** Batches sent and not yet acknowledged at most: what a kill may send twice. */
  inflight: number
  format?: InputFormat
  /** csv: the field delimiter's byte; ',' when absent. */
  delimiter?: number
}

export interface TikTokConfig {
  apiBaseUrl: string
  authUrl: string
  appId: string
  secret: Secret
  /** redisUrl: every process of the app shares the quota through this Redis (otherwise each paces itself). */
  rateLimit: { qps: number, qpm: number, redisUrl?: string }
  eventsRateLimit: { qps: number, qpm: number }
  batchSize: number
  /** Customer-file uploads are split at this many bytes. */
  fileMaxBytes: number
  /** tiktok.retry_budget: how long one TikTok call may keep retrying before the run stops (exit 5, resumable). */
  retryBudgetMs: number
  phoneHashForm: PhoneHashForm
}

export interface ResolvedConfig {
  /** Absolute path of the config file, when it came from one. */
  file: string | undefined
  /** Directory relative paths were resolved against. */
  dir: string
  stateDir: string
  tiktok: TikTokConfig
  /** Options for the hashing pipeline (hashing.* plus tiktok.phone_hash_form). */
  normalize: NormalizeOptions
  destinations: DestinationConfig[]
  segments: SegmentConfig[]
  conversions: ConversionConfig[]
}

export interface ParseConfigOptions {
  /** The config file's path: names it in errors, picks JSON for `.json`, anchors relative paths. */
  path?: string
  env?: Env
  /** Defaults to the extension of `path` (`.json` → json), else yaml. */
  format?: 'yaml' | 'json'
  /** Commands that never call TikTok with the app secret (status): a missing or unset tiktok.secret is no problem. */
  secretOptional?: boolean
}
