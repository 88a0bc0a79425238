// One distribution (segment → TikTok destination), resumable at every step:
//
//   prepare   hash the segment's inputs into this run's snapshot (sorted, distinct digests)
//   plan      adds = snapshot − delivered; for Record Sync also removes = delivered − snapshot
//   deliver   audience found by name or created once (its id persisted before any mapping call),
//             then batches;
//             each batch is recorded pending before it is sent and acked after TikTok answers
//   commit    the snapshot becomes the delivered set, atomically, and the run succeeds
//
// The run's phase is stored; a rerun after a crash continues from it, skipping acked batches, so
// only the batches in flight at the crash are sent again (TikTok add/delete are set operations).
// Named crashpoints (HASHPIPE_CRASHPOINT=name[:n]) let tests SIGKILL the process at each step.
//
// Nothing unchecked is sent. Snapshot and plan files carry a checksum per 1 MiB chunk, and no
// chunk is handed on before it matched. On top of that, the plan is read through once before its
// first batch leaves (~2 s per 100 M digests, against a delivery of hours), so a plan damaged at
// rest is discarded and planned again before any of it is sent, not half-way through; what rots
// later, during delivery, is caught by the chunk checks and re-planned the same way. A damaged
// run snapshot is hashed again from the inputs. A damaged or missing delivered snapshot (the
// record of what TikTok holds) cannot be rebuilt from anything local: the run refuses and names
// `--rebuild-delivered` (re-send the whole snapshot as adds) and, for Record Sync,
// `--recreate-audience` (replace the audience, so nothing that should be deleted stays).
import { join } from 'node:path'
import { rename, rm, mkdir, stat, readdir } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { runHashJob } from '../hash-job.js'
import { fillHashOptions, type FilledHashOptions } from '../hash-options.js'
import { HashpipeError, ExitCode, UsageError } from '../../pipeline/errors.js'
import type { ResolvedConfig, SegmentConfig, DestinationConfig } from '../config.js'
import type { StateStore } from '../state/state-store.js'
import type { Metrics } from '../metrics.js'
import type { Logger } from '../logger.js'
import { Snapshot, SnapshotWriter, SnapshotCorruptError } from '../../adapters/snapshot.js'
import { diffSorted } from '../../pipeline/sorted-diff.js'
import { ID_SCHEMAS, type IdSchema } from '../../pipeline/protocol.js'
import { expandInputs } from '../../adapters/input-paths.js'
import { contentChange, fingerprintInputs, fingerprintChange, type FileFingerprint } from './input-fingerprint.js'
import { deliverPlan } from './deliver-plan.js'
import { deliverFiles } from './deliver-files.js'
import { crashpoint } from './crashpoint.js'
import type { AudienceApi } from './audience-api.js'
import type { Json } from '../state/records.js'
import type { DistributeProgress, RunProgress } from './distribute-progress.js'
import type { RejectReason, RejectRecord } from '../../pipeline/protocol.js'

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
  /** Plan from an empty delivered set: the whole snapshot is sent as adds (the way out of a damaged or missing delivered snapshot). */
  rebuildDelivered?: boolean
  /** As rebuildDelivered, into a new audience: the old one is deleted at TikTok first. */
  recreateAudience?: boolean
  /** customer_file: a full refresh with REPLACE instead of APPEND/REMOVE files. */
  replace?: boolean
  /** customer_file: how long to wait for TikTok's processing before an update (default 0: exit 5). */
  waitProcessingMs?: number
  /** Live progress (phases, hash bar, delivery position); tracked under progressLabel(). */
  progress?: DistributeProgress
  /** Each input reject of the hash pass (`--rejects FILE`): position and reason, never the value. */
  reject?: (segment: string, file: string, reject: RejectRecord) => Promise<void>
  /** Runs the hash pass when it is this distribution's turn (concurrent distributions hash one at a time). */
  hashTurn?: <R>(fn: () => Promise<R>) => Promise<R>
}

/** The label a distribution's progress lines carry. */
export function progressLabel (segment: string, destination: string): string {
  return `${segment} → ${destination}`
}

/** How a run plans: from the delivered set, from nothing (rebuild), or from nothing into a new audience (recreate). */
type PlanMode = 'normal' | 'rebuild' | 'recreate'
/** An audience being replaced: `old` is deleted at TikTok once, then marked. Kept as a run checkpoint. */
interface AudienceSwap { [key: string]: Json, old: string, deleted: boolean }

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
  /** Input rejects per reason (only reasons that occurred). */
  rejectsByReason: Partial<Record<RejectReason, number>>
  coverNum: number | null
}

const sum = (c: Counts): number => Object.values(c).reduce((a, b) => a + (b ?? 0), 0)

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

/** A shell-safe word: names with spaces or quotes are single-quoted. */
function shellWord (s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`
}

export async function runDistribution (config: ResolvedConfig, state: StateStore, api: AudienceApi, segment: SegmentConfig, destination: DestinationConfig, options: DistributeOptions, newRunId: () => string): Promise<DistributionResult> {
  const progress = options.progress?.track(progressLabel(segment.name, destination.name))
  try {
    return await distribution(config, state, api, segment, destination, options, newRunId, progress)
  } finally {
    progress?.end()
  }
}

async function distribution (config: ResolvedConfig, state: StateStore, api: AudienceApi, segment: SegmentConfig, destination: DestinationConfig, options: DistributeOptions, newRunId: () => string, progress: RunProgress | undefined): Promise<DistributionResult> {
  // Checked before any state changes; the snapshot must be deduped and never holds raw values.
  const inputsKey = `segments[${config.segments.indexOf(segment)}].inputs`
  // Directories and globs expanded once: the resume fingerprint covers the files the hash pass reads.
  const inputs = await expandInputs(segment.inputs, inputsKey)
  const hashOptions = { ...hashOptionsFor(config, segment, options.threads), inputs, inputsKey }
  segment = { ...segment, inputs }
  const recordSync = destination.integration === 'first-party-record-sync'
  const dist = state.distributions.ensure(segment.name, destination.name, destination.advertiserId)
  const spool = join(config.stateDir, 'spool', `d${dist.id}`)
  await mkdir(spool, { recursive: true, mode: 0o700 })
  /** The command that reruns this distribution, with extra options: every refusal names one. */
  const command = (extra = ''): string => `hashpipe distribute --config ${shellWord(config.file ?? 'FILE')} --segment ${shellWord(segment.name)}${extra}`
  const wanted: PlanMode = options.recreateAudience === true ? 'recreate' : options.rebuildDelivered === true ? 'rebuild' : 'normal'

  let run = state.runs.unfinished(dist.id)
  let resumed = false
  const fingerprint = await fingerprintInputs(segment.inputs)
  // An audience swap the interrupted run began and did not finish goes on with the next run.
  let carriedSwap: AudienceSwap | undefined
  if (run !== undefined) {
    const runMode = state.runs.checkpoint<PlanMode>(run.id, 'mode') ?? 'normal'
    const swap = state.runs.checkpoint<AudienceSwap>(run.id, 'audience_swap')
    const unfinishedSwap = swap !== undefined && !swap.deleted
    const discard = (options.restart && !(options.dryRun && unfinishedSwap)) || run.dryRun || (!options.dryRun && wanted !== 'normal' && runMode !== wanted)
    if (discard) {
      if (unfinishedSwap) carriedSwap = swap
      state.runs.abandon(run.id)
      await rm(join(spool, `run-${run.id}`), { recursive: true, force: true })
      run = undefined
    }
  }
  if (run !== undefined) {
    if (options.dryRun) {
      throw new UsageError(`segment '${segment.name}' → '${destination.name}' has an interrupted run (${run.id}); finish it first: ${command()} — or discard it: ${command(' --restart')}`)
    }
    const before = state.runs.checkpoint(run.id, 'inputs') as unknown as FileFingerprint[] | undefined
    const change = before === undefined ? undefined : fingerprintChange(before, fingerprint)
    // Size, mtime and the file's edges first (cheap); then, once the run has hashed its inputs,
    // their whole content: an edit in place that keeps size and mtime is caught too. This read is
    // the resume's only extra one; the digests themselves were taken during the hash pass.
    const content = state.runs.checkpoint<Array<string | null>>(run.id, 'content')
    const changed = change ?? (content === undefined ? undefined : await contentChange(segment.inputs, content))
    if (changed !== undefined) {
      throw new HashpipeError('HP_ERR_INPUT_CHANGED', `segment '${segment.name}': ${changed} since the interrupted run ${run.id}; resuming would deliver a plan made from other data — start over from the current inputs: ${command(' --restart')}`)
    }
    resumed = true
  } else {
    run = state.runs.start({ id: newRunId(), distributionId: dist.id, dryRun: options.dryRun })
    state.runs.atomically(() => {
      state.runs.putCheckpoint(run!.id, 'inputs', fingerprint as unknown as Json)
      state.runs.putCheckpoint(run!.id, 'mode', wanted)
      if (carriedSwap !== undefined) state.runs.putCheckpoint(run!.id, 'audience_swap', carriedSwap)
    })
  }
  const runId = run.id
  // status tells the run this process works on from one a crash left behind by this pid and the lock's.
  state.runs.putCheckpoint(runId, 'pid', process.pid)
  const mode = state.runs.checkpoint<PlanMode>(runId, 'mode') ?? 'normal'
  const log = options.log?.child({ distribution: dist.id, dist_run_id: runId })
  log?.info({ resumed, phase: run.phase, dry_run: options.dryRun, mode }, 'distribution run started')
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
  let rejectsByReason = state.runs.checkpoint<Partial<Record<RejectReason, number>>>(runId, 'rejects_by_reason') ?? {}
  let content: Array<string | null> = []
  let phase = run.phase

  /** Nothing to resume after this refusal: the run is closed, and the message names the way out. */
  const refuseDelivered = async (err: unknown): Promise<never> => {
    const refusal = deliveredRefusal(err)
    state.runs.finish(runId, 'failed', { error: { code: refusal.code, message: 'delivered snapshot damaged or missing' } })
    await rm(runDir, { recursive: true, force: true })
    throw refusal
  }
  const deliveredRefusal = (err: unknown): HashpipeError => {
    const what = err instanceof SnapshotCorruptError ? err.message : String(err)
    const swapHint = recordSync
      ? `; Record Sync can't compute deletes without it, so identifiers that left the segment would stay in the audience until it is replaced — to replace it instead (a new audience id: campaigns targeting the old one must be re-pointed, and TikTok processes the new one again): ${command(' --rebuild-delivered --recreate-audience')}`
      : ''
    return new HashpipeError('HP_ERR_SNAPSHOT_CORRUPT', `segment '${segment.name}' → '${destination.name}': the delivered snapshot, hashpipe's record of what TikTok holds, is damaged or missing (${what}); --restart can't help, it rebuilds the run, not the record. Rebuild the record by re-sending the whole current snapshot as adds (harmless: TikTok treats adds as a set): ${command(' --rebuild-delivered')}${swapHint}`, ExitCode.FAILED, { cause: err })
  }
  // The delivered set the plan subtracts: none when rebuilding it. Opened (manifest only) before
  // hashing, so a damaged record is refused before hours of work, not after.
  let base: Snapshot | undefined
  if (mode === 'normal' && delivered !== null && (phase === null || phase === 'prepare' || phase === 'prepared')) {
    base = await Snapshot.open(delivered).catch(refuseDelivered)
  }
  if (mode !== 'normal') {
    const deliveredTotal = sum(dist.deliveredCounts)
    log?.warn({ mode }, mode === 'recreate'
      ? `segment '${segment.name}': replacing ${dist.audienceId === null ? 'the audience' : `audience ${dist.audienceId}`} with a new one holding the current snapshot; campaigns targeting the old audience must be re-pointed to the new id`
      : `segment '${segment.name}': rebuilding the delivered record — the whole current snapshot is sent as adds${recordSync && deliveredTotal > 0 ? '; identifiers that left the segment since the last good delivery are not deleted (to replace the audience instead, run with --recreate-audience)' : ''}`)
  }

  const prepare = async (): Promise<void> => {
    state.runs.setPhase(runId, phase = 'prepare')
    progress?.phase('prepare')
    await mkdir(runDir, { recursive: true, mode: 0o700 })
    const writer = await SnapshotWriter.create(snapshotDir)
    try {
      const summary = await (options.hashTurn ?? (async fn => await fn()))(async () => await runHashJob({
        ...hashOptions,
        // Spills stay under the state dir, beside the snapshot (the OS temp dir only if it vanished).
        tmpDir: await exists(spool) ? spool : hashOptions.tmpDir,
        ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
        contentDigests: true
      }, {
        digests: async (digests, count, schema) => { await writer.write(schema as number, digests, count) },
        ...(progress !== undefined ? { progress: progress.hashed } : {}),
        ...(options.reject !== undefined ? { reject: async (file: string, r: RejectRecord) => { await options.reject!(segment.name, file, r) } } : {})
      }, options.stdin, options.signal))
      // An empty snapshot would make Record Sync delete the whole audience: inputs that gave
      // nothing but rejects (a wrong encoding, the wrong columns) stop here instead.
      if (summary.valid === 0 && summary.rejected_total > 0) {
        throw new HashpipeError('HP_ERR_NO_IDENTIFIERS', `segment '${segment.name}': no valid identifiers in its inputs, ${summary.rejected_total} rejected; nothing was planned or sent — check the inputs and their columns with hashpipe hash ${segment.inputs.map(i => `'${i}'`).join(' ')} --rejects rejects.csv`)
      }
      await writer.commit()
      rejects = summary.rejected_total
      rejectsByReason = Object.fromEntries(Object.entries(summary.rejected).filter(([, k]) => k > 0))
      content = segment.inputs.map(input => summary.inputs.find(x => x.file === input)?.content_sha256 ?? null)
    } catch (err) {
      await writer.abort()
      throw err
    }
    state.runs.putCheckpoint(runId, 'rejects', rejects)
    state.runs.putCheckpoint(runId, 'rejects_by_reason', rejectsByReason)
    state.runs.putCheckpoint(runId, 'content', content)
    state.runs.setPhase(runId, phase = 'prepared')
    log?.info({ rejects }, 'snapshot prepared')
    crashpoint('after-prepare')
  }

  const writePlan = async (): Promise<void> => {
    progress?.phase('plan')
    const snapshot = await Snapshot.open(snapshotDir)
    const adds = await SnapshotWriter.create(addsDir)
    const removes = await SnapshotWriter.create(removesDir)
    try {
      for (let s = 0; s < ID_SCHEMAS.length; s++) {
        const schema = ID_SCHEMAS[s]!
        const previous = base?.records(schema) ?? (async function * () {})()
        await diffSorted(snapshot.records(schema), previous, {
          added: async (d, n) => { await adds.write(s, d, n) },
          removed: async (d, n) => { if (recordSync) await removes.write(s, d, n) }
        })
      }
      await adds.commit()
      const removeManifest = await removes.commit()
      const removeTotal = Object.values(removeManifest.files).reduce((a, f) => a + (f?.count ?? 0), 0)
      const deliveredTotal = sum(dist.deliveredCounts)
      // An empty or truncated input would otherwise wipe the audience. A plan made again (after
      // damage) is judged as the first one was.
      if (options.allowMassDelete) state.runs.putCheckpoint(runId, 'allow_mass_delete', true)
      const allowed = options.allowMassDelete || state.runs.checkpoint(runId, 'allow_mass_delete') === true
      if (recordSync && !allowed && deliveredTotal > 0 && removeTotal / deliveredTotal > options.maxDeleteShare) {
        state.runs.finish(runId, 'failed', { error: { code: 'HP_ERR_REFUSED', message: 'mass delete refused' } })
        await rm(runDir, { recursive: true, force: true })
        throw new HashpipeError('HP_ERR_REFUSED', `segment '${segment.name}': this run would delete ${removeTotal} of the ${deliveredTotal} identifiers TikTok holds (${(100 * removeTotal / deliveredTotal).toFixed(1)}%), over the ${(100 * options.maxDeleteShare).toFixed(0)}% guard; check the inputs, then if this is intended run: ${command(' --allow-mass-delete')}`)
      }
    } catch (err) {
      await adds.abort()
      await removes.abort()
      if (err instanceof SnapshotCorruptError && delivered !== null && err.dir === delivered) await refuseDelivered(err)
      throw err
    }
    state.runs.setPhase(runId, phase = 'planned')
    log?.info('plan written')
  }

  /** Plans from the run snapshot; a damaged one is hashed again from the inputs (which the resume checked) and planned once more. */
  const plan = async (): Promise<void> => {
    try {
      await writePlan()
    } catch (err) {
      if (!(err instanceof SnapshotCorruptError && err.dir === snapshotDir)) throw err
      log?.warn({ file: err.file ?? snapshotDir }, `${err.message}; this run's snapshot is damaged, hashing the inputs again`)
      await rm(snapshotDir, { recursive: true, force: true })
      await prepare()
      await writePlan().catch((again: unknown) => {
        throw again instanceof SnapshotCorruptError && again.dir === snapshotDir
          ? new HashpipeError('HP_ERR_SNAPSHOT_CORRUPT', `${again.message}, again after hashing the inputs anew (is the disk failing?); start over: ${command(' --restart')}`, ExitCode.FAILED, { cause: again })
          : again
      })
    }
  }

  /** A damaged plan file is never sent: it is discarded and planned again from the snapshot. */
  const replan = async (err: SnapshotCorruptError): Promise<void> => {
    const file = err.file ?? err.dir
    log?.warn({ file }, `plan file ${file} is damaged: ${err.message.replace(`snapshot file ${file} `, '')}; discarding the plan and planning again from the snapshot (none of the damaged part was sent)`)
    await rm(addsDir, { recursive: true, force: true })
    await rm(removesDir, { recursive: true, force: true })
    if (base === undefined && mode === 'normal' && delivered !== null) base = await Snapshot.open(delivered).catch(refuseDelivered)
    await plan()
  }

  const openPlan = async (dir: string): Promise<Snapshot> => {
    try {
      const p = await Snapshot.open(dir)
      await p.verify()
      return p
    } catch (err) {
      throw err instanceof SnapshotCorruptError ? err : new SnapshotCorruptError(dir, undefined, `plan ${dir} could not be read: ${(err as Error).message}`, err)
    }
  }
  /** Both plan files, verified end to end; re-planned (at most twice) while one is damaged. */
  const verifiedPlans = async (): Promise<[Snapshot, Snapshot]> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return [await openPlan(addsDir), await openPlan(removesDir)]
      } catch (err) {
        if (!(err instanceof SnapshotCorruptError) || attempt >= 2) throw planRefusal(err)
        await replan(err)
      }
    }
  }
  const planRefusal = (err: unknown): unknown => err instanceof SnapshotCorruptError
    ? new HashpipeError('HP_ERR_SNAPSHOT_CORRUPT', `${err.message}, again after planning anew (is the disk failing?); start over: ${command(' --restart')}`, ExitCode.FAILED, { cause: err })
    : err

  if (phase === null || phase === 'prepare') await prepare()
  if (phase === 'prepared') {
    await plan()
    crashpoint('after-plan')
  }

  const snapshot = await Snapshot.open(snapshotDir).catch(() => undefined)
  const counts = (snap: Snapshot | undefined): Counts => Object.fromEntries(ID_SCHEMAS.map(s => [s, snap?.count(s) ?? 0]).filter(([, n]) => (n as number) > 0)) as Counts
  let addPlan: Snapshot | undefined
  let removePlan: Snapshot | undefined
  if (options.dryRun || phase === 'committing') {
    // Nothing of the plan is sent from here on: its manifests give the counts.
    addPlan = await Snapshot.open(addsDir).catch(() => undefined)
    removePlan = await Snapshot.open(removesDir).catch(() => undefined)
  } else {
    [addPlan, removePlan] = await verifiedPlans()
  }
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
    rejectsByReason,
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

  // deliver — into an audience TikTok still has: one deleted behind hashpipe's back (Ads Manager,
  // or an `audiences delete` interrupted before it forgot the distribution) is not written to.
  const recordedAudience = state.distributions.get(dist.id).audienceId
  if (phase !== 'committing' && mode !== 'recreate' && recordedAudience !== null && api.exists !== undefined && !(await api.exists(destination.advertiserId, recordedAudience))) {
    throw new HashpipeError('HP_ERR_REFUSED', `segment '${segment.name}' → '${destination.name}': audience ${recordedAudience}, the one this distribution delivers into, is not at TikTok any more (deleted in Ads Manager, expired, or by an interrupted hashpipe audiences delete); nothing was sent. To let go of it and deliver the whole snapshot into the segment's audience by name (a new one when there is none): hashpipe distributions reset ${shellWord(`${segment.name}:${destination.name}`)} --config ${shellWord(config.file ?? 'FILE')} --forget-audience --yes, then run distribute again`)
  }
  if (phase !== 'committing' && destination.audienceType === 'customer_file') {
    state.runs.setPhase(runId, phase = 'delivering')
    progress?.phase('deliver')
    const files = await deliverFiles({
      state,
      api,
      runId,
      distId: dist.id,
      advertiserId: destination.advertiserId,
      name: segment.name,
      runDir,
      plans: { snapshot: snapshotDir, adds: addsDir, removes: removesDir },
      recordSync,
      mode,
      replace: options.replace === true,
      waitProcessingMs: options.waitProcessingMs ?? 0,
      fileMaxBytes: config.tiktok.fileMaxBytes,
      resumeCommand: command(),
      ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
      ...(log !== undefined ? { log } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(progress !== undefined ? { onApplied: (done: number, total: number) => { progress.sent(done, total) } } : {})
    })
    result.audienceId = files.audienceId
    result.delivered = files.delivered
    state.runs.setPhase(runId, phase = 'committing')
  }
  if (phase !== 'committing') {
    state.runs.setPhase(runId, phase = 'delivering')
    progress?.phase('deliver')
    const replaced = await swapAudience(state, api, dist.id, runId, destination.advertiserId, segment.name, mode === 'recreate', log)
    const audienceId = await ensureAudience(state, api, dist.id, segment.name, destination.advertiserId, replaced)
    result.audienceId = audienceId
    for (let attempt = 0; ; attempt++) {
      try {
        const delivery = await deliverPlan({
          state,
          api,
          runId,
          advertiserId: destination.advertiserId,
          audienceId,
          batchSize: config.tiktok.batchSize,
          inflight: options.inflight,
          plans: [['add', addPlan], ['delete', removePlan]],
          resumeCommand: command(),
          ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
          ...(log !== undefined ? { log } : {}),
          ...(options.batchId !== undefined ? { batchId: options.batchId } : {}),
          ...(progress !== undefined ? { onSent: (done: number, total: number) => { progress.sent(done, total) } } : {})
        })
        result.delivered = delivery.delivered
        result.poisoned = delivery.poisoned
        break
      } catch (err) {
        // A plan chunk that rotted after the check: it was refused before any of it left. The
        // batches acked so far match the new plan (same snapshot, same cut) and are skipped.
        if (!(err instanceof SnapshotCorruptError) || attempt >= 2) throw planRefusal(err)
        await replan(err);
        [addPlan, removePlan] = await verifiedPlans()
        state.runs.setPhase(runId, phase = 'delivering')
      }
    }
    state.runs.setPhase(runId, phase = 'committing')
  }

  // commit: move the snapshot to its delivered place, then point the database at it.
  const target = join(spool, `delivered-${runId}`)
  progress?.phase('commit')
  crashpoint('before-commit')
  if (await exists(snapshotDir)) await rename(snapshotDir, target)
  crashpoint('after-commit-rename')
  const previousPath = dist.deliveredSnapshot
  const committed = (await Snapshot.open(target).catch((err: unknown) => {
    throw new HashpipeError('HP_ERR_SNAPSHOT_CORRUPT', `${(err as Error).message}; the run's snapshot was lost after delivery — start over (TikTok treats adds as a set, so re-sending is harmless): ${command(' --restart')}`, ExitCode.FAILED, { cause: err })
  })).manifest
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
    ...(segment.delimiter !== undefined ? { delimiter: segment.delimiter === 9 ? 'tab' : String.fromCharCode(segment.delimiter) } : {}),
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
      delimiter: `${at}.delimiter`,
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

/**
 * `--recreate-audience`: the distribution lets go of its audience (recorded in the run, in the
 * same transaction), then the old audience is deleted at TikTok unless it is already gone. A
 * crash anywhere resumes here; returns the replaced id, which name recovery must not adopt.
 */
async function swapAudience (state: StateStore, api: AudienceApi, distId: number, runId: string, advertiserId: string, name: string, recreate: boolean, log: Logger | undefined): Promise<string[]> {
  let swap = state.runs.checkpoint<AudienceSwap>(runId, 'audience_swap')
  const current = state.distributions.get(distId)
  if (swap === undefined && recreate && current.audienceId !== null) {
    swap = { old: current.audienceId, deleted: false }
    const s = swap
    state.runs.atomically(() => {
      state.runs.putCheckpoint(runId, 'audience_swap', s)
      state.distributions.forgetAudience(distId, s.old)
    })
  }
  if (swap === undefined) return []
  if (!swap.deleted) {
    if ((await api.findAudiences(advertiserId, name)).includes(swap.old)) await api.deleteAudience(advertiserId, swap.old)
    state.runs.putCheckpoint(runId, 'audience_swap', { ...swap, deleted: true })
    log?.warn({ audience_id: swap.old }, `audience ${swap.old} deleted at TikTok; a new audience receives the snapshot`)
  }
  return [swap.old]
}

/**
 * The distribution's audience: created at most once, ever. TikTok is asked for one of this name
 * before every create, not only after a create whose answer was lost: a state database that
 * was lost, restored from an old backup or damaged must not lead to a second audience. An
 * audience this run replaced (`--recreate-audience`) is never adopted back.
 */
async function ensureAudience (state: StateStore, api: AudienceApi, distId: number, name: string, advertiserId: string, replaced: string[] = []): Promise<string> {
  const d = state.distributions.get(distId)
  if (d.audienceId !== null) return d.audienceId
  const found = (await api.findAudiences(advertiserId, name)).filter(id => !replaced.includes(id))
  if (found.length > 1) {
    throw new HashpipeError('HP_ERR_REFUSED', `ad account ${advertiserId} holds ${found.length} audiences named '${name}' (${found.join(', ')}); hashpipe cannot tell which one is this segment's. Delete the extra ones in TikTok Ads Manager (or rename the segment: hashpipe segments clone ${name} --name NEW), then run distribute again`)
  }
  if (found.length === 1) {
    state.distributions.setAudienceId(distId, found[0]!)
    return found[0]!
  }
  state.distributions.recordAudienceRequest(distId, name)
  crashpoint('before-create-audience')
  const id = await api.createAudience(advertiserId, name)
  crashpoint('after-create-audience')
  state.distributions.setAudienceId(distId, id)
  return id
}
