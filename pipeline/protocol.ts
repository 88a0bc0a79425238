// Shapes shared by the main thread and the hash workers: identifier types, TikTok id schemas,
// reject reasons, and the task/result layout of one batch. Both sides import this file, so it
// holds data and types only (it is loaded in every worker: keep its import graph empty).
//
// Digests travel packed: result.digests holds `count` SHA-256 digests of 32 bytes each, in
// input order, and result.schemas[i] is the id schema code of digest i.

export const DIGEST_BYTES = 32

/** Input identifier types, as named on the command line and in config `columns`. */
export const ID_TYPES = ['email', 'email_sha256', 'phone', 'phone_sha256', 'maid', 'idfa', 'gaid'] as const
export type IdType = (typeof ID_TYPES)[number]

/** TikTok id_schema values we send. The index is the compact code used in packed results. */
export const ID_SCHEMAS = ['EMAIL_SHA256', 'PHONE_SHA256', 'IDFA_SHA256', 'AAID_SHA256'] as const
export type IdSchema = (typeof ID_SCHEMAS)[number]
export const SCHEMA_EMAIL = 0
export const SCHEMA_PHONE = 1
export const SCHEMA_IDFA = 2
export const SCHEMA_AAID = 3

export const ID_TYPE_SCHEMA: Readonly<Record<IdType, number>> = {
  email: SCHEMA_EMAIL,
  email_sha256: SCHEMA_EMAIL,
  phone: SCHEMA_PHONE,
  phone_sha256: SCHEMA_PHONE,
  maid: SCHEMA_IDFA,
  idfa: SCHEMA_IDFA,
  gaid: SCHEMA_AAID
}

/**
 * Stable reject reason codes: users' scripts and dashboards match on them, so never rename one.
 * The index is the compact code used in packed results and metrics slots.
 */
export const REJECT_REASONS = [
  'email_invalid',
  'phone_invalid',
  'maid_invalid',
  'maid_zero',
  'hash_invalid',
  'line_too_long',
  'invalid_utf8',
  'nul_byte',
  'field_missing',
  'record_malformed'
] as const
export type RejectReason = (typeof REJECT_REASONS)[number]
export const REASON_CODE: Readonly<Record<RejectReason, number>> = Object.fromEntries(
  REJECT_REASONS.map((r, i) => [r, i])
) as Record<RejectReason, number>

/** Record formats a worker parses. JSON arrays are re-encoded by the main thread as `ndjson`. */
export type RecordFormat = 'csv' | 'tsv' | 'lines' | 'ndjson'

/** Where the identifiers of one input are: a field index (csv/tsv/lines) or key (ndjson) per type. */
export interface ColumnPlan {
  format: RecordFormat
  /** csv/tsv: field indexes; lines: [0]; ndjson: object keys ('' for a bare string element). */
  fields: Array<{ index: number, key: string, name: string, type: IdType }>
  /** csv: the field delimiter's byte (`,` when absent); one of DELIMITERS. */
  delimiter?: number
}

/** Field delimiters `format: csv` takes, by byte: comma, semicolon, pipe, tab. */
export const DELIMITERS: readonly number[] = [44, 59, 124, 9]

export type PhoneHashForm = 'e164' | 'digits'

/** Normalization options that change what is hashed. Part of WorkerOptions: passed once per pool, not per task. */
export interface NormalizeOptions {
  defaultCountry: string
  phoneHashForm: PhoneHashForm
  emailCanonicalize: 'none' | 'gmail'
  stripPlusTag: boolean
}

/** One batch: whole records from one input, in an owned, transferable ArrayBuffer. */
export interface BatchTask {
  kind?: 'batch'
  seq: number
  /** Index of the input in the run's input list (results name the file from it). */
  input: number
  buffer: ArrayBuffer
  byteLength: number
  /** Byte offset of the first record in the (decompressed) input. Line numbers are made absolute by the main thread, in order. */
  firstByte: number
  plan: ColumnPlan
  /**
   * Return the digests grouped by dedupe partition (id schema × first digest byte, PARTITIONS of
   * them) instead of in input order, with result.partitions giving each group's end, so the main
   * thread adds a batch to the dedupe store with one copy per partition instead of one per digest.
   */
  partition?: boolean
  /** With partition: the digests buffer of an earlier result, handed back to hold this one's. */
  spare?: ArrayBuffer
}

/** Dedupe partitions: id schema × first digest byte. */
export const PARTITIONS = ID_SCHEMAS.length * 256

/**
 * Everything a worker needs besides the bytes, identical for every task of a run: given once,
 * when the pool is created (the worker threads' workerData), never with a task.
 */
export interface WorkerOptions extends NormalizeOptions {
  /** Records longer than this (in bytes) are rejected as line_too_long. */
  maxRecordBytes: number
  /** Include raw values in reject records (`--rejects-include-values`). */
  includeValues: boolean
}

/** A rejected identifier or record. `field` is the column name ('' for a whole record). */
export interface RejectRecord {
  /** Line number relative to the batch's first line (0-based); the main thread makes it absolute. */
  line: number
  byteOffset: number
  field: string
  reason: RejectReason
  value?: string
}

export interface BatchResult {
  seq: number
  input: number
  rows: number
  /** Physical lines the batch spanned (records plus newlines inside quoted fields, blank lines). */
  lines: number
  count: number
  digests: ArrayBuffer
  /** Schema code per digest, in input order; with partitions, empty (a digest's partition gives its schema). */
  schemas: ArrayBuffer
  /** Identifiers seen per input type index (ID_TYPES order), empty cells excluded. */
  seen: number[]
  /** Valid identifiers per input type index (seen minus rejected). */
  valid: number[]
  /** Empty cells per input type index. */
  empty: number[]
  /** Rejects per reason index (REJECT_REASONS order). */
  rejected: number[]
  rejects: RejectRecord[]
  /** With task.partition: Uint32Array of PARTITIONS ends (digests of partition p are [ends[p-1], ends[p])). */
  partitions?: ArrayBuffer
  /** The input buffer handed back for reuse. */
  buffer: ArrayBuffer
  /** Worker seconds spent parsing and normalizing, and hashing (the batched part; inline hashing counts as parse). */
  parseSeconds: number
  hashSeconds: number
}

/** Output row formats (`--out-format`). */
export type RowFormat = 'csv' | 'ndjson'

/** Rows wanted from a sort: their format and schema, and optionally a buffer to put them in. */
export interface SortRows { format: RowFormat, schema: number, into?: ArrayBuffer }

/** Sort and dedupe one partition of packed digests (they share their first keyOffset bytes). */
export interface SortTask {
  kind: 'sort'
  buffer: ArrayBuffer
  count: number
  keyOffset: number
  /** Also format the sorted digests as output rows of this schema. */
  rows?: { format: RowFormat, schema: number }
  /** Where to put the rows, if it holds count * maxRowBytes (a buffer handed back earlier, reused). */
  into?: ArrayBuffer
}

/**
 * `buffer` is the task's, handed back: it holds the sorted distinct digests when no rows were
 * asked for (with rows, its content is unspecified; it comes back only to be reused).
 */
export interface SortResult { buffer: ArrayBuffer, count: number, rows?: ArrayBuffer, rowsLength?: number }
