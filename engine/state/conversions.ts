// Runs of `conversions send` and their batch ledger. Events are cut into batches in input order
// with the run's reference time, so an interrupted run rebuilt from the same input meets the
// same batches: acked ones are skipped, pending ones (in flight at the kill) are sent again, and
// TikTok's dedupe on event_id makes that re-send harmless. A batch whose checksum differs from
// the ledger's means the input is not what the run saw.
import type { Database } from 'better-sqlite3'
import { StateError } from '../../pipeline/errors.js'
import type { FileFingerprint } from '../distribute/input-fingerprint.js'
import { StateTable } from './state-table.js'

export type ConversionOutcome = 'running' | 'succeeded' | 'failed' | 'abandoned'

export interface ConversionRun {
  id: string
  name: string
  eventSourceId: string
  startedAt: string
  finishedAt: string | null
  outcome: ConversionOutcome
  /** Unix seconds the time rules were checked against; a resumed run keeps it. */
  referenceTime: number
  fingerprint: FileFingerprint[] | null
  counts: Record<string, number>
  error: { code: string, message: string } | null
}

export interface ConversionBatch { index: number, count: number, checksum: string, status: 'pending' | 'acked', sent: number, attempts: number }

interface RunRow {
  id: string,
  name: string,
  event_source_id: string,
  started_at: string,
  finished_at: string | null,
  outcome: ConversionOutcome
  reference_time: number,
  fingerprint: string,
  counts: string,
  error_code: string | null,
  error_message: string | null
}

const kSql = {
  insert: "INSERT INTO conversion_runs (id, name, event_source_id, started_at, outcome, reference_time, fingerprint) VALUES (?, ?, ?, ?, 'running', ?, ?)",
  get: 'SELECT * FROM conversion_runs WHERE id = ?',
  unfinished: "SELECT * FROM conversion_runs WHERE name = ? AND outcome = 'running'",
  history: 'SELECT * FROM conversion_runs WHERE name = ? ORDER BY started_at DESC, rowid DESC LIMIT ?',
  finish: "UPDATE conversion_runs SET outcome = ?, finished_at = ?, counts = ?, error_code = ?, error_message = ? WHERE id = ? AND outcome = 'running'",
  error: "UPDATE conversion_runs SET error_code = ?, error_message = ?, counts = ? WHERE id = ? AND outcome = 'running'",
  batch: 'SELECT * FROM conversion_batches WHERE run_id = ? AND batch_index = ?',
  pending: `INSERT INTO conversion_batches (run_id, batch_index, count, checksum, status, sent_at) VALUES (?, ?, ?, ?, 'pending', ?)
    ON CONFLICT (run_id, batch_index) DO UPDATE SET attempts = attempts + 1, sent_at = excluded.sent_at`,
  ack: "UPDATE conversion_batches SET status = 'acked', sent = ?, acked_at = ? WHERE run_id = ? AND batch_index = ? AND status = 'pending'"
}

export class ConversionStore extends StateTable<keyof typeof kSql> {
  constructor (db: Database, now: () => string) {
    super(db, now, kSql)
  }

  start (run: { id: string, name: string, eventSourceId: string, referenceTime: number, fingerprint: FileFingerprint[] | null }): ConversionRun {
    const open = this.unfinished(run.name)
    if (open !== undefined) throw new StateError('HP_ERR_STATE_CONFLICT', `conversions '${run.name}' has an unfinished run ${open.id}; resume it, or abandon it (--restart)`)
    this.q.insert.run(run.id, run.name, run.eventSourceId, this.now(), run.referenceTime, JSON.stringify(run.fingerprint))
    return this.get(run.id)
  }

  get (id: string): ConversionRun {
    const row = this.q.get.get(id) as RunRow | undefined
    if (row === undefined) throw new StateError('HP_ERR_STATE_MISSING', `no conversions run with id ${id}`)
    return runOf(row)
  }

  unfinished (name: string): ConversionRun | undefined {
    const row = this.q.unfinished.get(name) as RunRow | undefined
    return row === undefined ? undefined : runOf(row)
  }

  history (name: string, limit = 5): ConversionRun[] {
    return (this.q.history.all(name, limit) as RunRow[]).map(runOf)
  }

  finish (id: string, outcome: Exclude<ConversionOutcome, 'running'>, counts: Record<string, number>, error?: { code: string, message: string }): void {
    const changes = this.q.finish.run(outcome, this.now(), JSON.stringify(counts), error?.code ?? null, error?.message ?? null, id).changes
    if (changes === 0) throw new StateError('HP_ERR_STATE_CONFLICT', `conversions run ${id} is already finished; it can't be changed`)
  }

  /** The error that stopped a run; the run stays unfinished and resumes when run again. */
  setError (id: string, error: { code: string, message: string }, counts: Record<string, number>): void {
    this.q.error.run(error.code, error.message, JSON.stringify(counts), id)
  }

  batch (runId: string, index: number): ConversionBatch | undefined {
    const r = this.q.batch.get(runId, index) as { batch_index: number, count: number, checksum: string, status: 'pending' | 'acked', sent: number, attempts: number } | undefined
    return r === undefined ? undefined : { index: r.batch_index, count: r.count, checksum: r.checksum, status: r.status, sent: r.sent, attempts: r.attempts }
  }

  /** Recorded before the request leaves, so a kill after it is known to be in flight. */
  markPending (runId: string, index: number, count: number, checksum: string): void {
    this.q.pending.run(runId, index, count, checksum, this.now())
  }

  markAcked (runId: string, index: number, sent: number): void {
    this.db.transaction(() => { this.q.ack.run(sent, this.now(), runId, index) }).immediate()
  }

  /** Events TikTok acknowledged so far in a run, and when last (status of a running or interrupted run). */
  acknowledged (runId: string): { sent: number, lastAckAt: string | null } {
    const row = this.db.prepare("SELECT coalesce(sum(sent), 0) AS sent, max(acked_at) AS at FROM conversion_batches WHERE run_id = ? AND status = 'acked'").get(runId) as { sent: number, at: string | null }
    return { sent: row.sent, lastAckAt: row.at }
  }
}

const runOf = (r: RunRow): ConversionRun => ({
  id: r.id,
  name: r.name,
  eventSourceId: r.event_source_id,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  outcome: r.outcome,
  referenceTime: r.reference_time,
  fingerprint: JSON.parse(r.fingerprint) as FileFingerprint[] | null,
  counts: JSON.parse(r.counts) as Record<string, number>,
  error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? '' }
})
