// Runs of a distribution and their checkpoints. A run stays `running` until it finishes, also
// across a crash: the next `distribute` finds it with unfinished() and resumes it, or abandons
// it on --restart. The schema allows one unfinished run per distribution.
// Checkpoints are small JSON values per (run, key): phase positions, the inputs' fingerprint,
// the plan's shape. Anything per batch goes to the BatchLedger.
import type { Database } from 'better-sqlite3'
import { StateError } from '../../pipeline/errors.js'
import type { Json, RunError, RunOutcome, RunRecord } from './records.js'
import { StateTable } from './state-table.js'

interface RunRow {
  id: string,
  distribution_id: number,
  started_at: string,
  finished_at: string | null,
  outcome: RunOutcome
  phase: string | null,
  dry_run: number,
  counts: string,
  error_code: string | null,
  error_message: string | null
}

export interface StartRun {
  id: string
  distributionId: number
  dryRun?: boolean
}

export interface FinishRun {
  counts?: Record<string, number>
  error?: RunError
}

const kSql = {
  insert: "INSERT INTO runs (id, distribution_id, started_at, outcome, dry_run) VALUES (?, ?, ?, 'running', ?)",
  get: 'SELECT * FROM runs WHERE id = ?',
  unfinished: "SELECT * FROM runs WHERE distribution_id = ? AND outcome = 'running'",
  last: 'SELECT * FROM runs WHERE distribution_id = ? ORDER BY started_at DESC, rowid DESC LIMIT 1',
  history: 'SELECT * FROM runs WHERE distribution_id = ? ORDER BY started_at DESC, rowid DESC LIMIT ?',
  phase: "UPDATE runs SET phase = ? WHERE id = ? AND outcome = 'running'",
  counts: "UPDATE runs SET counts = ? WHERE id = ? AND outcome = 'running'",
  finish: "UPDATE runs SET outcome = ?, finished_at = ?, counts = coalesce(?, counts), error_code = ?, error_message = ? WHERE id = ? AND outcome = 'running'",
  putCheckpoint: `INSERT INTO checkpoints (run_id, key, value, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  getCheckpoint: 'SELECT value FROM checkpoints WHERE run_id = ? AND key = ?',
  allCheckpoints: 'SELECT key, value FROM checkpoints WHERE run_id = ? ORDER BY key'
}

export class RunStore extends StateTable<keyof typeof kSql> {
  constructor (db: Database, now: () => string) {
    super(db, now, kSql)
  }

  /** Starts a run; refused while the distribution has an unfinished one (resume or abandon it first). */
  start (run: StartRun): RunRecord {
    const open = this.unfinished(run.distributionId)
    if (open !== undefined) {
      throw new StateError('HP_ERR_STATE_CONFLICT', `distribution ${run.distributionId} has an unfinished run ${open.id} (started ${open.startedAt}); resume it, or abandon it (--restart)`)
    }
    this.q.insert.run(run.id, run.distributionId, this.now(), run.dryRun === true ? 1 : 0)
    return this.get(run.id)
  }

  get (id: string): RunRecord {
    const row = this.q.get.get(id) as RunRow | undefined
    if (row === undefined) throw new StateError('HP_ERR_STATE_MISSING', `no run with id ${id}`)
    return runOf(row)
  }

  /** The run a crash (or kill) interrupted, if any. */
  unfinished (distributionId: number): RunRecord | undefined {
    const row = this.q.unfinished.get(distributionId) as RunRow | undefined
    return row === undefined ? undefined : runOf(row)
  }

  last (distributionId: number): RunRecord | undefined {
    const row = this.q.last.get(distributionId) as RunRow | undefined
    return row === undefined ? undefined : runOf(row)
  }

  history (distributionId: number, limit = 20): RunRecord[] {
    return (this.q.history.all(distributionId, limit) as RunRow[]).map(runOf)
  }

  setPhase (id: string, phase: string): void {
    this.#mustChange(this.q.phase.run(phase, id).changes, id)
  }

  setCounts (id: string, counts: Record<string, number>): void {
    this.#mustChange(this.q.counts.run(JSON.stringify(counts), id).changes, id)
  }

  /** Closes a running run. `succeeded` normally comes through DistributionStore.commitDelivered. */
  finish (id: string, outcome: Exclude<RunOutcome, 'running'>, result: FinishRun = {}): RunRecord {
    const counts = result.counts === undefined ? null : JSON.stringify(result.counts)
    const changes = this.q.finish.run(outcome, this.now(), counts, result.error?.code ?? null, result.error?.message ?? null, id).changes
    this.#mustChange(changes, id)
    return this.get(id)
  }

  /** `--restart`: the interrupted run is closed as abandoned; its ledger is kept for history. */
  abandon (id: string): RunRecord {
    return this.finish(id, 'abandoned')
  }

  putCheckpoint (runId: string, key: string, value: Json): void {
    this.q.putCheckpoint.run(runId, key, JSON.stringify(value), this.now())
  }

  checkpoint<T extends Json = Json> (runId: string, key: string): T | undefined {
    const row = this.q.getCheckpoint.get(runId, key) as { value: string } | undefined
    return row === undefined ? undefined : JSON.parse(row.value) as T
  }

  checkpoints (runId: string): Record<string, Json> {
    const rows = this.q.allCheckpoints.all(runId) as Array<{ key: string, value: string }>
    return Object.fromEntries(rows.map(r => [r.key, JSON.parse(r.value) as Json]))
  }

  /** Several writes as one transaction (e.g. a phase change with its checkpoint). */
  atomically<T> (fn: () => T): T {
    return this.db.transaction(fn).immediate()
  }

  #mustChange (changes: number, id: string): void {
    if (changes > 0) return
    const run = this.get(id)
    throw new StateError('HP_ERR_STATE_CONFLICT', `run ${id} is already ${run.outcome}; it can't be changed`)
  }
}

const runOf = (r: RunRow): RunRecord => ({
  id: r.id,
  distributionId: r.distribution_id,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  outcome: r.outcome,
  phase: r.phase,
  dryRun: r.dry_run === 1,
  counts: JSON.parse(r.counts) as Record<string, number>,
  error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? '' }
})
