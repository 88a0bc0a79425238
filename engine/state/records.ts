// The typed rows the state store hands out. Advertiser and audience ids are strings end to end
// (19-digit int64 values don't fit a JS number); timestamps are ISO-8601 UTC strings.
import type { IdSchema } from '../../pipeline/protocol.js'

/** Connection names double as token file names, hence the narrow alphabet. */
export const CONNECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export interface ConnectionRecord {
  name: string
  /** Ad accounts the token reaches, as TikTok listed them at connect time. */
  advertiserIds: string[]
  /** TikTok permission scope ids granted (31 = write audiences). */
  scopes: number[]
  createdAt: string
  updatedAt: string
}

export interface DestinationRecord {
  name: string
  advertiserId: string
  integration: string
  connection: string
  region: string
  /** ADMIN | OPERATOR | ANALYST from Business Center assets; null where TikTok doesn't expose it. */
  role: string | null
  /** Set when activation checks passed. */
  activatedAt: string | null
  updatedAt: string
}

export interface SegmentRecord {
  name: string
  dataType: string
  firstSeenAt: string
  lastSeenAt: string
}

export interface DistributionRecord {
  id: number
  segment: string
  destination: string
  advertiserId: string
  /** TikTok's audience id: set once, never replaced. */
  audienceId: string | null
  /** The name a create request used, recorded before the request (to find the audience after a crash). */
  audienceName: string | null
  audienceRequestedAt: string | null
  audienceCreatedAt: string | null
  createdAt: string
  /** Path of the snapshot of what TikTok holds (the delivered set), replaced atomically on commit. */
  deliveredSnapshot: string | null
  /** Delivered identifiers per id schema. */
  deliveredCounts: Partial<Record<IdSchema, number>>
  deliveredAt: string | null
  /** TikTok's cover_num and when it was read. */
  matchedReach: number | null
  matchedReachAt: string | null
  /** Why the last attempt failed; cleared when a delivery commits. */
  lastError: DistributionError | null
  /** The kind of audience audienceId is (null while there is none); fixed once it exists. */
  audienceType: 'partner' | 'customer_file' | null
  /** A customer-file audience TikTok was processing (is_valid false) when last seen, since then. */
  processingSince: string | null
  lastReplaceAt: string | null
}

/** `at` is null only for an error recorded before errors carried their time. */
export interface DistributionError { code: string, message: string, at: string | null }

export const RUN_OUTCOMES = ['running', 'succeeded', 'failed', 'abandoned'] as const
export type RunOutcome = (typeof RUN_OUTCOMES)[number]

export interface RunError { code: string, message: string }

export interface RunRecord {
  id: string
  distributionId: number
  startedAt: string
  finishedAt: string | null
  /** `running` also after a crash: the next run resumes it (or abandons it with --restart). */
  outcome: RunOutcome
  phase: string | null
  dryRun: boolean
  counts: Record<string, number>
  error: RunError | null
}

export type BatchAction = 'add' | 'delete'
export type BatchStatus = 'pending' | 'acked'

export interface BatchKey {
  runId: string
  idSchema: IdSchema
  action: BatchAction
  batchIndex: number
}

/** One mapping request's worth of a run's plan. No identifiers: a position, a count, a checksum. */
export interface BatchRecord extends BatchKey {
  /** Index of the batch's first digest in the plan's sorted list for (idSchema, action). */
  firstOffset: number
  count: number
  /** Caller-computed checksum of the batch contents, to detect a changed plan on resume. */
  checksum: string | null
  status: BatchStatus
  attempts: number
  sentAt: string
  ackedAt: string | null
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
