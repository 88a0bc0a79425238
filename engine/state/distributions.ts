// A distribution is one segment going to one destination account. Its TikTok audience is created
// exactly once: the create request's name is recorded before the call (recordAudienceRequest),
// the returned id is recorded once (setAudienceId refuses a second, different id), and every
// later run maps into that id. commitDelivered replaces the delivered set and closes the run in
// one transaction, so a crash leaves either the old delivered set or the new one; the committed
// run's batch rows go in the same transaction (nothing reads them again).
import type { Database } from 'better-sqlite3'
import { StateError } from '../../pipeline/errors.js'
import { assertAdvertiserId } from './catalog.js'
import type { DistributionError, DistributionRecord, RunRecord } from './records.js'
import type { RunStore } from './runs.js'
import type { AudienceType } from '../config-types.js'
import { StateTable } from './state-table.js'

interface DistributionRow {
  id: number,
  segment: string,
  destination: string,
  advertiser_id: string
  audience_id: string | null,
  audience_name: string | null,
  audience_requested_at: string | null,
  audience_created_at: string | null
  created_at: string,
  delivered_snapshot: string | null,
  delivered_counts: string,
  delivered_at: string | null
  matched_reach: number | null,
  matched_reach_at: string | null
  last_error: string | null,
  last_error_code: string | null,
  last_error_at: string | null
  audience_type: string | null
  processing_since: string | null
  last_replace_at: string | null
}

export interface DeliveredSet {
  /** Path of the snapshot now mirroring what TikTok holds. */
  snapshot: string
  counts: DistributionRecord['deliveredCounts']
}

const kSql = {
  insert: 'INSERT INTO distributions (segment, destination, advertiser_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (segment, destination) DO NOTHING',
  find: 'SELECT * FROM distributions WHERE segment = ? AND destination = ?',
  get: 'SELECT * FROM distributions WHERE id = ?',
  byAudience: 'SELECT * FROM distributions WHERE audience_id = ?',
  bySegment: 'SELECT * FROM distributions WHERE segment = ? ORDER BY id',
  list: 'SELECT * FROM distributions ORDER BY segment, destination',
  request: 'UPDATE distributions SET audience_name = ?, audience_requested_at = ? WHERE id = ? AND audience_id IS NULL',
  setAudience: 'UPDATE distributions SET audience_id = ?, audience_type = ?, audience_created_at = ? WHERE id = ? AND audience_id IS NULL',
  processing: 'UPDATE distributions SET processing_since = ? WHERE id = ?',
  replaced: 'UPDATE distributions SET last_replace_at = ? WHERE id = ?',
  delivered: 'UPDATE distributions SET delivered_snapshot = ?, delivered_counts = ?, delivered_at = ?, last_error = NULL, last_error_code = NULL, last_error_at = NULL WHERE id = ?',
  forget: 'UPDATE distributions SET audience_id = NULL, audience_type = NULL, processing_since = NULL, last_replace_at = NULL, audience_name = NULL, audience_requested_at = NULL, audience_created_at = NULL WHERE id = ? AND audience_id = ?',
  reach: 'UPDATE distributions SET matched_reach = ?, matched_reach_at = ? WHERE id = ?',
  lastError: 'UPDATE distributions SET last_error_code = ?, last_error = ?, last_error_at = ? WHERE id = ?',
  dropBatches: 'DELETE FROM batches WHERE run_id = ?',
  dropAllBatches: 'DELETE FROM batches WHERE run_id IN (SELECT id FROM runs WHERE distribution_id = ?)',
  dropAllUploads: 'DELETE FROM upload_files WHERE run_id IN (SELECT id FROM runs WHERE distribution_id = ?)',
  resetDelivered: `UPDATE distributions SET delivered_snapshot = NULL, delivered_counts = '{}', delivered_at = NULL, matched_reach = NULL, matched_reach_at = NULL,
    last_error = NULL, last_error_code = NULL, last_error_at = NULL WHERE id = ?`,
  pending: "SELECT count(*) AS n FROM batches WHERE run_id = ? AND status = 'pending'"
}

export class DistributionStore extends StateTable<keyof typeof kSql> {
  readonly #runs: RunStore

  constructor (db: Database, now: () => string, runs: RunStore) {
    super(db, now, kSql)
    this.#runs = runs
  }

  /** The distribution of (segment, destination), created on first use. */
  ensure (segment: string, destination: string, advertiserId: string): DistributionRecord {
    assertAdvertiserId(advertiserId)
    this.q.insert.run(segment, destination, advertiserId, this.now())
    return this.find(segment, destination)!
  }

  find (segment: string, destination: string): DistributionRecord | undefined {
    const row = this.q.find.get(segment, destination) as DistributionRow | undefined
    return row === undefined ? undefined : distributionOf(row)
  }

  get (id: number): DistributionRecord {
    const row = this.q.get.get(id) as DistributionRow | undefined
    if (row === undefined) throw new StateError('HP_ERR_STATE_MISSING', `no distribution with id ${id}`)
    return distributionOf(row)
  }

  /** Every distribution of a segment: more than one advertiser here breaks TikTok's one-account rule. */
  forSegment (segment: string): DistributionRecord[] {
    return (this.q.bySegment.all(segment) as DistributionRow[]).map(distributionOf)
  }

  list (): DistributionRecord[] {
    return (this.q.list.all() as DistributionRow[]).map(distributionOf)
  }

  /** Call before the create request: after a crash, the name finds an audience whose id was never recorded. */
  recordAudienceRequest (id: number, audienceName: string): DistributionRecord {
    const r = this.q.request.run(audienceName, this.now(), id)
    const d = this.get(id)
    if (r.changes === 0) throw new StateError('HP_ERR_STATE_CONFLICT', `distribution ${d.segment} → ${d.destination} already has audience ${d.audienceId}; it must not create another`)
    return d
  }

  /** Records the audience id once; the same id again is a no-op, a different one is refused. */
  setAudienceId (id: number, audienceId: string, type: AudienceType = 'partner'): DistributionRecord {
    if (typeof audienceId !== 'string' || !/^\d+$/.test(audienceId)) {
      throw new StateError('HP_ERR_STATE_INVALID', 'an audience id must be a string of digits')
    }
    this.q.setAudience.run(audienceId, type, this.now(), id)
    const d = this.get(id)
    if (d.audienceId !== audienceId) {
      throw new StateError('HP_ERR_STATE_CONFLICT', `distribution ${d.segment} → ${d.destination} already has audience ${d.audienceId}; refusing to record a second one (${audienceId})`)
    }
    return d
  }

  /**
   * `distribute --recreate-audience`: the distribution lets go of its audience so the next create
   * makes a new one. The only way an audience id is ever replaced, and only on that request.
   */
  forgetAudience (id: number, audienceId: string): void {
    if (this.q.forget.run(id, audienceId).changes === 0) {
      const d = this.get(id)
      throw new StateError('HP_ERR_STATE_CONFLICT', `distribution ${d.segment} → ${d.destination} holds audience ${d.audienceId}, not ${audienceId}`)
    }
  }

  /**
   * `distributions reset` and `audiences delete --with-distribution`: forgets what was delivered
   * (the delivered record, the unfinished run, closed as abandoned, and every batch and upload
   * row of the distribution's runs) in one transaction, so the next run plans from nothing. The
   * audience id stays (the next run re-sends into it) unless forgetAudience names it: then the
   * next run finds or creates one by name. Returns what the caller removes from disk afterwards.
   */
  reset (id: number, options: { forgetAudience?: string } = {}): { distribution: DistributionRecord, abandonedRun: string | null, deliveredSnapshot: string | null } {
    return this.db.transaction(() => {
      const before = this.get(id)
      if (options.forgetAudience !== undefined && before.audienceId !== options.forgetAudience) {
        throw new StateError('HP_ERR_STATE_CONFLICT', `distribution ${before.segment} → ${before.destination} holds audience ${before.audienceId ?? '(none)'}, not ${options.forgetAudience}`)
      }
      const open = this.#runs.unfinished(id)
      if (open !== undefined) this.#runs.abandon(open.id)
      this.q.dropAllBatches.run(id)
      this.q.dropAllUploads.run(id)
      this.q.resetDelivered.run(id)
      if (options.forgetAudience !== undefined) this.q.forget.run(id, options.forgetAudience)
      return { distribution: this.get(id), abandonedRun: open?.id ?? null, deliveredSnapshot: before.deliveredSnapshot }
    }).immediate()
  }

  /** The distribution whose audience this is, if any (an audience belongs to at most one). */
  byAudience (audienceId: string): DistributionRecord | undefined {
    const row = this.q.byAudience.get(audienceId) as DistributionRow | undefined
    return row === undefined ? undefined : distributionOf(row)
  }

  /** Commit: the delivered set is replaced and the run marked succeeded, atomically. */
  commitDelivered (id: number, runId: string, delivered: DeliveredSet, runCounts: Record<string, number> = {}): { distribution: DistributionRecord, run: RunRecord } {
    this.db.transaction(() => {
      const run = this.#runs.get(runId)
      if (run.distributionId !== id) throw new StateError('HP_ERR_STATE_CONFLICT', `run ${runId} belongs to distribution ${run.distributionId}, not ${id}`)
      const { n } = this.q.pending.get(runId) as { n: number }
      if (n > 0) throw new StateError('HP_ERR_STATE_CONFLICT', `run ${runId} has ${n} batch${n === 1 ? '' : 'es'} TikTok has not acknowledged; the delivered set can't be committed`)
      const now = this.now()
      this.q.delivered.run(delivered.snapshot, JSON.stringify(delivered.counts), now, id)
      this.#runs.finish(runId, 'succeeded', { counts: runCounts })
      this.q.dropBatches.run(runId)
    }).immediate()
    return { distribution: this.get(id), run: this.#runs.get(runId) }
  }

  /** A customer-file audience TikTok is processing since `at` (null: it is valid again). */
  setProcessing (id: number, at: string | null = this.now()): void {
    this.q.processing.run(at, id)
  }

  /** When the audience's data was last REPLACEd (TikTok allows about one a day). */
  setReplaced (id: number, at: string = this.now()): void {
    this.q.replaced.run(at, id)
  }

  setMatchedReach (id: number, coverNum: number, readAt: string = this.now()): void {
    this.q.reach.run(coverNum, readAt, id)
  }

  /** The last error shown by `status`; a message without identifiers or tokens. null clears it. */
  setLastError (id: number, error: { code: string, message: string } | null): void {
    this.q.lastError.run(error?.code ?? null, error?.message ?? null, error === null ? null : this.now(), id)
  }
}

const distributionOf = (r: DistributionRow): DistributionRecord => ({
  id: r.id,
  segment: r.segment,
  destination: r.destination,
  advertiserId: r.advertiser_id,
  audienceId: r.audience_id,
  audienceName: r.audience_name,
  audienceRequestedAt: r.audience_requested_at,
  audienceCreatedAt: r.audience_created_at,
  createdAt: r.created_at,
  deliveredSnapshot: r.delivered_snapshot,
  deliveredCounts: JSON.parse(r.delivered_counts) as DistributionRecord['deliveredCounts'],
  deliveredAt: r.delivered_at,
  matchedReach: r.matched_reach,
  matchedReachAt: r.matched_reach_at,
  lastError: lastErrorOf(r),
  audienceType: r.audience_type === 'customer_file' ? 'customer_file' : r.audience_type === 'partner' ? 'partner' : null,
  processingSince: r.processing_since,
  lastReplaceAt: r.last_replace_at
})

function lastErrorOf (r: DistributionRow): DistributionError | null {
  if (r.last_error === null && r.last_error_code === null) return null
  return { code: r.last_error_code ?? 'HP_ERR', message: r.last_error ?? '', at: r.last_error_at }
}
