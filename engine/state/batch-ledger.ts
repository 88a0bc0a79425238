// The batch ledger makes delivery resumable with the smallest possible re-send. A run's plan is
// a sorted list of digests per (id_schema, action), cut into batches by index. Before a batch is
// sent it is recorded `pending`; when TikTok acknowledges it, `acked` (with an optional
// checkpoint in the same transaction). After a crash:
//   acked   → skipped
//   pending → in flight at the crash: sent again (harmless, TikTok add/delete are set operations)
//   absent  → never sent
// so at most the in-flight batches are sent twice. Rows hold a position, a count and a checksum,
// never identifiers.
import type { Database } from 'better-sqlite3'
import { StateError } from '../../pipeline/errors.js'
import type { BatchAction, BatchKey, BatchRecord, BatchStatus, Json } from './records.js'
import type { RunStore } from './runs.js'
import type { IdSchema } from '../../pipeline/protocol.js'
import { StateTable } from './state-table.js'

interface BatchRow {
  run_id: string,
  id_schema: IdSchema,
  action: BatchAction,
  batch_index: number,
  first_offset: number,
  count: number
  checksum: string | null,
  status: BatchStatus,
  attempts: number,
  sent_at: string,
  acked_at: string | null
}

export interface BatchSend extends BatchKey {
  firstOffset: number
  count: number
  checksum?: string
}

export interface LedgerTotals {
  idSchema: IdSchema
  action: BatchAction
  batches: number
  acked: number
  /** Identifiers in acknowledged batches. */
  ackedIdentifiers: number
}

const kKey = 'run_id = @runId AND id_schema = @idSchema AND action = @action AND batch_index = @batchIndex'
const kSql = {
  get: `SELECT * FROM batches WHERE ${kKey}`,
  insert: `INSERT INTO batches (run_id, id_schema, action, batch_index, first_offset, count, checksum, status, attempts, sent_at)
    VALUES (@runId, @idSchema, @action, @batchIndex, @firstOffset, @count, @checksum, 'pending', 1, @now)`,
  resend: `UPDATE batches SET attempts = attempts + 1, sent_at = @now WHERE ${kKey}`,
  ack: `UPDATE batches SET status = 'acked', acked_at = @now WHERE ${kKey} AND status = 'pending'`,
  list: 'SELECT * FROM batches WHERE run_id = ? ORDER BY id_schema, action, batch_index',
  acked: "SELECT batch_index FROM batches WHERE run_id = ? AND id_schema = ? AND action = ? AND status = 'acked'",
  pending: "SELECT * FROM batches WHERE run_id = ? AND status = 'pending' ORDER BY id_schema, action, batch_index",
  lastAck: "SELECT max(acked_at) AS at FROM batches WHERE run_id = ? AND status = 'acked'",
  totals: `SELECT id_schema, action, count(*) AS batches, sum(status = 'acked') AS acked, sum(CASE WHEN status = 'acked' THEN count ELSE 0 END) AS ids
    FROM batches WHERE run_id = ? GROUP BY id_schema, action ORDER BY id_schema, action`
}

export class BatchLedger extends StateTable<keyof typeof kSql> {
  readonly #runs: RunStore

  constructor (db: Database, now: () => string, runs: RunStore) {
    super(db, now, kSql)
    this.#runs = runs
  }

  /**
   * Records that a batch is about to be sent (pending). Sending it again after a crash counts an
   * attempt; the same index with a different offset, count or checksum means the plan changed
   * under the run, which is refused. Returns the row; an already acked batch is returned as is.
   */
  sending (b: BatchSend): BatchRecord {
    return this.db.transaction((): BatchRecord => {
      const params = { ...keyOf(b), firstOffset: b.firstOffset, count: b.count, checksum: b.checksum ?? null, now: this.now() }
      const existing = this.q.get.get(params) as BatchRow | undefined
      if (existing === undefined) {
        this.q.insert.run(params)
      } else {
        if (existing.first_offset !== b.firstOffset || existing.count !== b.count || (b.checksum !== undefined && existing.checksum !== b.checksum)) {
          throw new StateError('HP_ERR_STATE_CONFLICT', `batch ${b.batchIndex} of ${b.idSchema} ${b.action} in run ${b.runId} no longer matches the plan it was sent from; rerun with --restart`)
        }
        if (existing.status === 'acked') return batchOf(existing)
        this.q.resend.run(params)
      }
      return this.get(b)!
    }).immediate()
  }

  /** TikTok acknowledged the batch: mark it, and write the run's checkpoint in the same transaction. */
  acked (b: BatchKey, checkpoint?: { key: string, value: Json }): BatchRecord {
    return this.db.transaction((): BatchRecord => {
      const changes = this.q.ack.run({ ...keyOf(b), now: this.now() }).changes
      if (changes === 0) {
        const row = this.get(b)
        if (row === undefined) throw new StateError('HP_ERR_STATE_MISSING', `batch ${b.batchIndex} of ${b.idSchema} ${b.action} in run ${b.runId} was never recorded as sent`)
      }
      if (checkpoint !== undefined) this.#runs.putCheckpoint(b.runId, checkpoint.key, checkpoint.value)
      return this.get(b)!
    }).immediate()
  }

  get (b: BatchKey): BatchRecord | undefined {
    const row = this.q.get.get(keyOf(b)) as BatchRow | undefined
    return row === undefined ? undefined : batchOf(row)
  }

  batches (runId: string): BatchRecord[] {
    return (this.q.list.all(runId) as BatchRow[]).map(batchOf)
  }

  /** Batch indexes to skip on resume. */
  ackedIndexes (runId: string, idSchema: IdSchema, action: BatchAction): Set<number> {
    return new Set((this.q.acked.all(runId, idSchema, action) as Array<{ batch_index: number }>).map(r => r.batch_index))
  }

  /** Batches sent but not acknowledged: the ones in flight when the run stopped. */
  inFlight (runId: string): BatchRecord[] {
    return (this.q.pending.all(runId) as BatchRow[]).map(batchOf)
  }

  /** When TikTok last acknowledged a batch of the run (null: none yet). */
  lastAckAt (runId: string): string | null {
    return (this.q.lastAck.get(runId) as { at: string | null }).at
  }

  totals (runId: string): LedgerTotals[] {
    const rows = this.q.totals.all(runId) as Array<{ id_schema: IdSchema, action: BatchAction, batches: number, acked: number, ids: number }>
    return rows.map(r => ({ idSchema: r.id_schema, action: r.action, batches: r.batches, acked: r.acked, ackedIdentifiers: r.ids }))
  }
}

const keyOf = (b: BatchKey): Record<string, string | number> => ({ runId: b.runId, idSchema: b.idSchema, action: b.action, batchIndex: b.batchIndex })

const batchOf = (r: BatchRow): BatchRecord => ({
  runId: r.run_id,
  idSchema: r.id_schema,
  action: r.action,
  batchIndex: r.batch_index,
  firstOffset: r.first_offset,
  count: r.count,
  checksum: r.checksum,
  status: r.status,
  attempts: r.attempts,
  sentAt: r.sent_at,
  ackedAt: r.acked_at
})
