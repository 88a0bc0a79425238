// One distribution (segment → TikTok destination), resumable at every step:
//
//   prepare   hash the segment's inputs into this run's snapshot (sorted, distinct digests)
//   plan      adds = snapshot − delivered; for Record Sync also removes = delivered − snapshot
//   deliver   audience created once (its id persisted before any mapping call), then batches;
//             each batch is recorded pending before it is sent and acked after TikTok answers
//   commit    the snapshot becomes the delivered set, atomically, and the run succeeds
//
// The run's phase is stored; a rerun after a crash continues from it, skipping acked batches, so
// only the batches in flight at the crash are sent again (TikTok add/delete are set operations).
// Named crashpoints (HASHPIPE_CRASHPOINT=name[:n]) let tests SIGKILL the process at each step.
import { join } from 'node:path'
import { rename, rm, mkdir, stat, readdir } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { runHashJob } from '../hash-job.js'
import { fillHashOptions, type FilledHashOptions } from '../hash-options.js'
import { HashpipeError, ExitCode } from '../../pipeline/errors.js'
import type { ResolvedConfig, SegmentConfig, DestinationConfig } from '../config.js'
import type { StateStore } from '../state/state-store.js'
import type { Metrics } from '../metrics.js'
import type { Logger } from '../logger.js'
import { Snapshot, SnapshotWriter } from '../../adapters/snapshot.js'
import { diffSorted } from '../../pipeline/sorted-diff.js'
import { ID_SCHEMAS, type IdSchema } from '../../pipeline/protocol.js'
import { fingerprintInputs, fingerprintChange, type FileFingerprint } from './input-fingerprint.js'
import { deliverPlan } from './deliver-plan.js'
import { crashpoint } from './crashpoint.js'
import type { AudienceApi } from './audience-api.js'
import type { Json } from '../state/records.js'

export interface DistributeOptions {
  dryRun: boolean
  restart: boolean
  allowMassDelete: boolean
  /** Record Sync refuses to delete more than this share of the delivered set in one run. */
  maxDeleteShare: number
  threads?: number
  /** Mapping requests in flight at once (the rate limiter still paces them). */
  inflight: number
  stdin: Readable
  signal?: AbortSignal
  metrics?: Metrics
  /** Structured log (counts, phases, batch positions; never identifiers). */
  log?: Logger
  batchId?: () => string
}

type Counts = Partial<Record<IdSchema, number>>

export interface DistributionResult {
  segment: string
  destination: string
  advertiserId: string
  runId: string
  resumed: boolean
  dryRun: boolean
  audienceId: string | null
  snapshot: Counts
  plan: { add: Counts, delete: Counts }
  delivered: { add: number, delete: number }
  poisoned: number
  rejects: number
  coverNum: number | null
}

const sum = (c: Counts): number => Object.values(c).reduce((a, b) => a + (b ?? 0), 0)

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

export async function runDistribution (config: ResolvedConfig, state: StateStore, api: AudienceApi, segment: SegmentConfig, destination: DestinationConfig, options: DistributeOptions, newRunId: () => string): Promise<DistributionResult> {
  // Checked before any state changes; the snapshot must be deduped and never holds raw values.
  const hashOptions = hashOptionsFor(config, segment, options.threads)
  const recordSync = destination.integration === 'first-party-record-sync'
  const dist = state.distributions.ensure(segment.name, destination.name, destination.advertiserId)
  const spool = join(config.stateDir, 'spool', `d${dist.id}`)
  await mkdir(spool, { recursive: true, mode: 0o700 })

  let run = state.runs.unfinished(dist.id)
  let resumed = false
  const fingerprint = await fingerprintInputs(segment.inputs)
  if (run !== undefined && (options.restart || run.dryRun)) {
    state.runs.abandon(run.id)
    await rm(join(spool, `run-${run.id}`), { recursive: true, force: true })
    run = undefined
  }
  if (run !== undefined) {
    if (options.dryRun) {
      throw new HashpipeError('HP_ERR_REFUSED', `segment '${segment.name}' → '${destination.name}' has an interrupted run (${run.id}); run distribute without --dry-run to finish it, or add --restart to discard it`, ExitCode.USAGE)
    }
    const before = state.runs.checkpoint(run.id, 'inputs') as unknown as FileFingerprint[] | undefined
    const change = before === undefined ? undefined : fingerprintChange(before, fingerprint)
    if (change !== undefined) {
      throw new HashpipeError('HP_ERR_INPUT_CHANGED', `segment '${segment.name}': ${change} since the interrupted run ${run.id}; resuming would deliver a plan made from other data — rerun with --restart to start over from the current inputs`)
    }
    resumed = true
  } else {
    run = state.runs.start({ id: newRunId(), distributionId: dist.id, dryRun: options.dryRun })
    state.runs.putCheckpoint(run.id, 'inputs', fingerprint as unknown as Json)
  }
  const runId = run.id
  const log = options.log?.child({ distribution: dist.id, dist_run_id: runId })
  log?.info({ resumed, phase: run.phase, dry_run: options.dryRun }, 'distribution run started')
  const runDir = join(spool, `run-${runId}`)
  // Work dirs of runs that finished or were abandoned (a crash after commit leaves one behind).
  const delivered = dist.deliveredSnapshot
  for (const name of await readdir(spool)) {
    const path = join(spool, name)
    const ours = path === runDir || path === delivered || name === `delivered-${runId}`
    if (!ours && (name.startsWith('run-') || name.startsWith('delivered-'))) await rm(path, { recursive: true, force: true })
  }
  const snapshotDir = join(runDir, 'snapshot')
  const addsDir = join(runDir, 'adds')
  const removesDir = join(runDir, 'removes')
  let rejects = state.runs.checkpoint<number>(runId, 'rejects') ?? 0

  // prepare
  if (run.phase === null || run.phase === 'prepare') {
    state.runs.setPhase(runId, 'prepare')
    await mkdir(runDir, { recursive: true, mode: 0o700 })
    const writer = await SnapshotWriter.create(snapshotDir)
    try {
      const summary = await runHashJob({
        ...hashOptions,
        // Spills stay under the state dir, beside the snapshot (the OS temp dir only if it vanished).
        tmpDir: await exists(spool) ? spool : hashOptions.tmpDir,
        ...(options.metrics !== undefined ? { metrics: options.metrics } : {})
      }, { digests: async (digests, count, schema) => { await writer.write(schema as number, digests, count) } }, options.stdin, options.signal)
      await writer.commit()
      rejects = summary.rejected_total
    } catch (err) {
      await writer.abort()
      throw err
    }
    state.runs.putCheckpoint(runId, 'rejects', rejects)
    state.runs.setPhase(runId, 'prepared')
    log?.info({ rejects }, 'snapshot prepared')
    crashpoint('after-prepare')
  }

  // plan
  const deliveredSnap = delivered === null ? undefined : await Snapshot.open(delivered)
  if (run.phase === null || run.phase === 'prepare' || run.phase === 'prepared') {
    const snapshot = await Snapshot.open(snapshotDir)
    const adds = await SnapshotWriter.create(addsDir)
    const removes = await SnapshotWriter.create(removesDir)
    try {
      for (let s = 0; s < ID_SCHEMAS.length; s++) {
        const schema = ID_SCHEMAS[s]!
        const previous = deliveredSnap?.records(schema) ?? (async function * () {})()
        await diffSorted(snapshot.records(schema), previous, {
          added: async (d, n) => { await adds.write(s, d, n) },
          removed: async (d, n) => { if (recordSync) await removes.write(s, d, n) }
        })
      }
      await adds.commit()
      const removeManifest = await removes.commit()
      const removeTotal = Object.values(removeManifest.files).reduce((a, f) => a + (f?.count ?? 0), 0)
      const deliveredTotal = sum(dist.deliveredCounts)
      // An empty or truncated input would otherwise wipe the audience.
      if (recordSync && !options.allowMassDelete && deliveredTotal > 0 && removeTotal / deliveredTotal > options.maxDeleteShare) {
        state.runs.finish(runId, 'failed', { error: { code: 'HP_ERR_REFUSED', message: 'mass delete refused' } })
        await rm(runDir, { recursive: true, force: true })
        throw new HashpipeError('HP_ERR_REFUSED', `segment '${segment.name}': this run would delete ${removeTotal} of the ${deliveredTotal} identifiers TikTok holds (${(100 * removeTotal / deliveredTotal).toFixed(1)}%), over the ${(100 * options.maxDeleteShare).toFixed(0)}% guard; check the inputs, then rerun with --allow-mass-delete if this is intended`)
      }
    } catch (err) {
      await adds.abort()
      await removes.abort()
      throw err
    }
    state.runs.setPhase(runId, 'planned')
    log?.info('plan written')
    crashpoint('after-plan')
  }

  const snapshot = await Snapshot.open(snapshotDir).catch(() => undefined)
  const addPlan = await Snapshot.open(addsDir).catch(() => undefined)
  const removePlan = await Snapshot.open(removesDir).catch(() => undefined)
  const counts = (snap: Snapshot | undefined): Counts => Object.fromEntries(ID_SCHEMAS.map(s => [s, snap?.count(s) ?? 0]).filter(([, n]) => (n as number) > 0)) as Counts
  const result: DistributionResult = {
    segment: segment.name,
    destination: destination.name,
    advertiserId: destination.advertiserId,
    runId,
    resumed,
    dryRun: options.dryRun,
    audienceId: dist.audienceId,
    snapshot: counts(snapshot),
    plan: { add: counts(addPlan), delete: counts(removePlan) },
    delivered: { add: 0, delete: 0 },
    poisoned: 0,
    rejects,
    coverNum: null
  }
  for (const s of ID_SCHEMAS) {
    options.metrics?.planIdentifiers.set({ operation: 'add', id_schema: s }, addPlan?.count(s) ?? 0)
    options.metrics?.planIdentifiers.set({ operation: 'delete', id_schema: s }, removePlan?.count(s) ?? 0)
  }

  if (options.dryRun) {
    state.runs.finish(runId, 'succeeded', { counts: { add: sum(result.plan.add), delete: sum(result.plan.delete), dry_run: 1 } })
    await rm(runDir, { recursive: true, force: true })
    return result
  }

  // deliver
  if (run.phase !== 'committing') {
    state.runs.setPhase(runId, 'delivering')
    const audienceId = await ensureAudience(state, api, dist.id, segment.name, destination.advertiserId)
    result.audienceId = audienceId
    const delivery = await deliverPlan({
      state, api, runId, advertiserId: destination.advertiserId, audienceId,
      batchSize: config.tiktok.batchSize, inflight: options.inflight,
      plans: [['add', addPlan], ['delete', removePlan]],
      ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(log !== undefined ? { log } : {}),
      ...(options.batchId !== undefined ? { batchId: options.batchId } : {})
    })
    result.delivered = delivery.delivered
    result.poisoned = delivery.poisoned
    state.runs.setPhase(runId, 'committing')
  }

  // commit: move the snapshot to its delivered place, then point the database at it.
  const target = join(spool, `delivered-${runId}`)
  crashpoint('before-commit')
  if (await exists(snapshotDir)) await rename(snapshotDir, target)
  crashpoint('after-commit-rename')
  const previousPath = dist.deliveredSnapshot
  const committed = (await Snapshot.open(target)).manifest
  const deliveredCounts = Object.fromEntries(Object.entries(committed.files).map(([k, f]) => [k, f?.count ?? 0])) as Counts
  state.distributions.commitDelivered(dist.id, runId, { snapshot: target, counts: deliveredCounts }, {
    add: sum(result.plan.add), delete: sum(result.plan.delete), poisoned: result.poisoned, rejects
  })
  crashpoint('after-commit')
  log?.info({ added: result.delivered.add, deleted: result.delivered.delete, poisoned: result.poisoned }, 'delivered set committed')
  state.distributions.setLastError(dist.id, null)
  if (previousPath !== null && previousPath !== target) await rm(previousPath, { recursive: true, force: true })
  await rm(runDir, { recursive: true, force: true })

  const audienceId = state.distributions.get(dist.id).audienceId
  result.audienceId = audienceId
  if (audienceId !== null) {
    try {
      result.coverNum = await api.coverNum(destination.advertiserId, audienceId)
      state.distributions.setMatchedReach(dist.id, result.coverNum)
    } catch {
      // Matched reach is informational: a failed read must not fail a delivered run.
    }
  }
  return result
}

/** The segment's hash options: its config values (errors name their keys), the rest kHashDefaults. */
function hashOptionsFor (config: ResolvedConfig, segment: SegmentConfig, threads: number | undefined): FilledHashOptions {
  const at = `segments[${config.segments.indexOf(segment)}]`
  return fillHashOptions({
    inputs: segment.inputs,
    ...(segment.format !== undefined ? { format: segment.format } : {}),
    ...(segment.type !== undefined ? { type: segment.type } : {}),
    ...(segment.columns !== undefined ? { columns: segment.columns } : {}),
    ...(threads !== undefined ? { threads } : {}),
    normalize: config.normalize,
    includeValues: false,
    dedupe: true
  }, {
    names: {
      inputs: `${at}.inputs`,
      format: `${at}.format`,
      type: `${at}.type`,
      columns: `${at}.columns`,
      threads: '--threads',
      'normalize.defaultCountry': 'hashing.default_country',
      'normalize.phoneHashForm': 'tiktok.phone_hash_form',
      'normalize.emailCanonicalize': 'hashing.email_canonicalize',
      'normalize.stripPlusTag': 'hashing.strip_plus_tag'
    }
  })
}

/** The distribution's audience: created at most once, ever, and recovered by name after a crash mid-create. */
async function ensureAudience (state: StateStore, api: AudienceApi, distId: number, name: string, advertiserId: string): Promise<string> {
  const d = state.distributions.get(distId)
  if (d.audienceId !== null) return d.audienceId
  if (d.audienceRequestedAt !== null && d.audienceName !== null) {
    // A create was sent before and its answer lost: TikTok may hold it. Adopt it rather than create a twin.
    const found = await api.findAudiences(advertiserId, d.audienceName)
    if (found.length > 0) {
      state.distributions.setAudienceId(distId, found[0]!)
      return found[0]!
    }
  }
  state.distributions.recordAudienceRequest(distId, name)
  crashpoint('before-create-audience')
  const id = await api.createAudience(advertiserId, name)
  crashpoint('after-create-audience')
  state.distributions.setAudienceId(distId, id)
  return id
}
