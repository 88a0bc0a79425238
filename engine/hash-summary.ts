// The summary of a hash run: the counts docs/cli-contract.md lists, printed as text or `--json`.
// Counts only: no identifier, value or header content ever goes in here.
import { ID_SCHEMAS, ID_TYPES, REJECT_REASONS, type IdSchema, type IdType, type RejectReason } from '../pipeline/protocol.js'
import { describeNativeStatus, nativeStatus, type NativeStatus } from '../pipeline/native-hash.js'
import { formatCount } from '../pipeline/format-count.js'

export const STAGES = ['read', 'split', 'transfer', 'parse', 'hash', 'dedupe', 'spill', 'write'] as const
export type Stage = (typeof STAGES)[number]

export interface InputSummary {
  file: string
  format: string
  gzip: boolean
  rows: number
  /** With HashJobOptions.contentDigests, for a regular file: adapters/content-digest.ts of its bytes. */
  content_sha256?: string
}

export interface HashSummary {
  rows: number
  /** Non-empty identifier cells per input type (valid + rejected). */
  identifiers: Record<IdType, number>
  identifiers_total: number
  empty: Record<IdType, number>
  valid: number
  rejected: Record<RejectReason, number>
  rejected_total: number
  /** Valid identifiers dropped as exact duplicates (null with --no-dedupe). */
  duplicates: number | null
  unique: Record<IdSchema, number | null>
  unique_total: number | null
  /** Input bytes read, as stored (compressed bytes for gzip inputs). */
  bytes: number
  spilled_bytes: number
  seconds: number
  identifiers_per_second: number
  /**
   * Busy seconds per stage. read/split/dedupe/write are main-thread wall time; parse and hash
   * are summed over worker threads (so they can exceed `seconds` with several threads).
   */
  stages: Record<Stage, number>
  /**
   * Share of the run's wall time the main thread's event loop was busy (not waiting for I/O or
   * workers), 0–1: the pipeline's one serial stage, so what bounds how far more threads help.
   */
  main_thread_busy_share: number
  /**
   * CPU seconds the main thread itself used (Linux: /proc, else null). Unlike the busy share it
   * does not count time the thread was ready but not scheduled, which a loaded machine inflates.
   */
  main_thread_cpu_seconds: number | null
  inputs: InputSummary[]
  warnings: string[]
  /**
   * Whether the native core ran the hashing, or why not (the workers load the same addon under
   * the same environment as this thread, so this thread's status is theirs).
   */
  native: NativeStatus
}

export function emptySummary (): HashSummary {
  return {
    rows: 0,
    identifiers: Object.fromEntries(ID_TYPES.map(t => [t, 0])) as Record<IdType, number>,
    identifiers_total: 0,
    empty: Object.fromEntries(ID_TYPES.map(t => [t, 0])) as Record<IdType, number>,
    valid: 0,
    rejected: Object.fromEntries(REJECT_REASONS.map(r => [r, 0])) as Record<RejectReason, number>,
    rejected_total: 0,
    duplicates: 0,
    unique: Object.fromEntries(ID_SCHEMAS.map(s => [s, 0])) as Record<IdSchema, number>,
    unique_total: 0,
    bytes: 0,
    spilled_bytes: 0,
    seconds: 0,
    identifiers_per_second: 0,
    stages: { read: 0, split: 0, transfer: 0, parse: 0, hash: 0, dedupe: 0, spill: 0, write: 0 },
    main_thread_busy_share: 0,
    main_thread_cpu_seconds: null,
    inputs: [],
    warnings: [],
    native: { ...nativeStatus }
  }
}

function n (v: number | null): string {
  return v === null ? '-' : formatCount(v)
}

export function formatSummary (s: HashSummary): string {
  const lines: string[] = []
  lines.push(`rows            ${n(s.rows)}`)
  const ids = ID_TYPES.filter(t => s.identifiers[t] > 0 || s.empty[t] > 0).map(t => `${t} ${n(s.identifiers[t])}${s.empty[t] > 0 ? ` (+${n(s.empty[t])} empty)` : ''}`)
  lines.push(`identifiers     ${n(s.identifiers_total)}${ids.length > 0 ? `  [${ids.join(', ')}]` : ''}`)
  lines.push(`valid           ${n(s.valid)}`)
  const rej = REJECT_REASONS.filter(r => s.rejected[r] > 0).map(r => `${r} ${n(s.rejected[r])}`)
  lines.push(`rejected        ${n(s.rejected_total)}${rej.length > 0 ? `  [${rej.join(', ')}]` : ''}`)
  lines.push(`duplicates      ${n(s.duplicates)}`)
  const uniq = ID_SCHEMAS.filter(k => (s.unique[k] ?? 0) > 0).map(k => `${k} ${n(s.unique[k])}`)
  lines.push(`unique          ${n(s.unique_total)}${uniq.length > 0 ? `  [${uniq.join(', ')}]` : ''}`)
  lines.push(`input           ${(s.bytes / 1048576).toFixed(1)} MiB in ${s.seconds.toFixed(2)} s, ${n(s.identifiers_per_second)} identifiers/s`)
  lines.push(`stages          ${STAGES.map(k => `${k} ${s.stages[k].toFixed(2)}s`).join(', ')}; main thread busy ${(100 * s.main_thread_busy_share).toFixed(0)}%${s.main_thread_cpu_seconds !== null ? `, ${s.main_thread_cpu_seconds.toFixed(2)} s CPU` : ''}`)
  lines.push(`native core     ${describeNativeStatus(s.native)}`)
  for (const w of s.warnings) lines.push(`warning         ${w}`)
  return lines.join('\n') + '\n'
}

// Rejects of a whole record: its identifiers were never looked at, so they are not among
// `identifiers_total`, and the reject ratio counts each such record as one more unit.
const kRecordReasons: readonly RejectReason[] = ['line_too_long', 'invalid_utf8', 'nul_byte', 'record_malformed', 'field_missing']

/**
 * Why a finished run must exit 3, or undefined: no valid identifier at all while something was
 * rejected, or rejects (cells and whole records) over `maxRatio` of everything looked at.
 */
export function rejectVerdict (s: HashSummary, maxRatio: number, option = '--max-reject-ratio'): string | undefined {
  const records = kRecordReasons.reduce((n, r) => n + s.rejected[r], 0)
  const units = s.identifiers_total + records
  if (s.rejected_total === 0 || units === 0) return undefined
  const reasons = REJECT_REASONS.filter(r => s.rejected[r] > 0).map(r => `${s.rejected[r]} ${r}`).join(', ')
  if (s.valid === 0) return `no valid identifiers: all ${s.rejected_total} rejected (${reasons}); see --rejects for where and why`
  if (s.rejected_total / units > maxRatio) {
    return `${s.rejected_total} of ${units} identifiers and records rejected (${(100 * s.rejected_total / units).toFixed(1)}%: ${reasons}), over ${option} ${maxRatio}; see --rejects for where and why`
  }
  return undefined
}
