// `hashpipe distribute --config FILE`: every (segment, destination) distribution of the config,
// or those chosen with --segment/--destination, prepared, planned, delivered and committed.
// An interrupted run resumes by itself; --restart discards it.
import { parseArgs } from 'node:util'
import hyperid from 'hyperid'
import { loadConfig, type ResolvedConfig, type DestinationConfig, type SegmentConfig } from '../config.js'
import { StateStore } from '../state/state-store.js'
import { runDistribution, progressLabel, type DistributionResult, type DistributeOptions } from '../distribute/run-distribution.js'
import { createDistributeProgress, noProgress, reasons } from '../distribute/distribute-progress.js'
import { AtomicFileWriter } from '../../adapters/atomic-file.js'
import { csvCell } from '../cli-values.js'
import type { ApiObserver } from '../../adapters/tiktok/tiktok-client.js'
import { createTikTokAudienceApi, createAppLimiter } from '../distribute/tiktok-audience-api.js'
import { runAll, oneAtATime } from '../distribute/run-all.js'
import type { Limiter } from '../../adapters/tiktok/rate-limiter.js'
import { HashpipeError, ExitCode, UsageError } from '../../pipeline/errors.js'
import type { Metrics } from '../metrics.js'
import { RUN_METRICS_OPTIONS, startRunMetrics } from './run-metrics.js'
import { parseHttpUrl, parsePort, parseRatio } from '../cli-values.js'
import type { CommandIo } from '../command.js'
import type { AudienceApi } from '../distribute/audience-api.js'
import { commandLogger } from '../command-logger.js'
import { checkHashNumber } from '../hash-options.js'
import { createIds } from '../../pipeline/ids.js'
import { assertAudienceType } from '../distribute/audience-type.js'
import { parseDuration, parseRetryBudget } from '../distribute/duration.js'
import { formatCount } from '../../pipeline/format-count.js'

/** Distributions delivered at once unless --concurrency says otherwise. */
export const DEFAULT_CONCURRENCY = 2

/** --concurrency: a whole number from 1 to 64. */
export function parseConcurrency (text: string): number {
  const n = Number(text)
  if (!(Number.isInteger(n) && n >= 1 && n <= 64)) throw new UsageError(`--concurrency must be a whole number from 1 to 64, not '${text}'`)
  return n
}

const kHelp = `usage: hashpipe distribute --config FILE [options]

Delivers segments to their TikTok destinations: hashes the inputs into a snapshot, plans what
to add (and, for Record Sync, delete), sends it in rate-limited batches, and commits. A run that
was interrupted (crash, kill, TikTok unavailable) resumes where it stopped.

  --config FILE          the config (YAML or JSON)
  --segment NAME         only this segment (repeatable)
  --destination NAME     only distributions to this destination (repeatable)
  --dry-run              plan only: print adds/removes per id type, no TikTok write call
  --restart              discard an interrupted run and start over from the inputs
  --rebuild-delivered    the way out of a damaged or missing delivered snapshot (the record of
                         what TikTok holds): re-send the whole current snapshot as adds, then
                         record it as delivered. Re-adding is harmless; for Record Sync, members
                         that should have been deleted stay until the audience is recreated
  --recreate-audience    with or without --rebuild-delivered: delete the TikTok audience and
                         deliver the current snapshot into a new one. Nothing stale stays, but
                         the audience id changes (re-point campaigns) and TikTok processes it again
  --replace              customer_file destinations: a full refresh (TikTok's REPLACE) instead
                         of APPEND/REMOVE files; refused within 24 h of the last one
  --wait-processing D    customer_file destinations: wait up to D (e.g. 30m, 2h; default 0) for
                         TikTok to finish processing the audience before updating it; otherwise
                         the run stops with exit 5 and says when to run again
  --allow-mass-delete    let Record Sync delete more than --max-delete-share of an audience
  --max-delete-share R   Record Sync guard (default 0.5)
  --concurrency N        distributions delivered at once (default 2; 1: one after another).
                         All share the app's rate limit; inputs are hashed one at a time
  --threads N            hash worker threads (default: all cores; at most 4 × the cores)
  --rejects FILE         input rejects of the hash pass as CSV: segment,file,line,byte_offset,field,reason
                         (never a value; a run resumed after its hash pass adds none)
  --retry-budget D       how long one TikTok call may keep retrying before the run stops, resumable,
                         with exit 5 (e.g. 90s, 30m; default: tiktok.retry_budget, 10m)
  --json                 results as JSON on stdout (no progress on stderr)
  --metrics-port P       serve Prometheus metrics on 127.0.0.1:P while running
  --metrics-host H       bind the metrics server elsewhere (explicit: exposes it)
  --pushgateway URL      push final metrics to a Prometheus Pushgateway (batch runs)
  --log-file FILE        JSON logs (pino) to FILE at info level; otherwise warnings and errors
                         go to stderr (HASHPIPE_LOG_LEVEL sets the level)
  -h, --help

Every selected distribution is attempted; one that fails is reported (and its error kept for
hashpipe status) and the others go on. The exit code is the most severe outcome, in this order:
78 config invalid, 4 re-authorization required, 5 TikTok unavailable after retries (resumable:
run again), 3 rejects over the limit, 2 usage, 1 failed, 0 ok.
`

const kOptions = {
  config: { type: 'string' },
  segment: { type: 'string', multiple: true },
  destination: { type: 'string', multiple: true },
  'dry-run': { type: 'boolean', default: false },
  restart: { type: 'boolean', default: false },
  'rebuild-delivered': { type: 'boolean', default: false },
  'recreate-audience': { type: 'boolean', default: false },
  'allow-mass-delete': { type: 'boolean', default: false },
  replace: { type: 'boolean', default: false },
  'wait-processing': { type: 'string', default: '0' },
  'max-delete-share': { type: 'string', default: '0.5' },
  threads: { type: 'string' },
  rejects: { type: 'string' },
  'retry-budget': { type: 'string' },
  concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
  json: { type: 'boolean', default: false },
  ...RUN_METRICS_OPTIONS,
  'log-file': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false }
} as const

interface Pair { segment: SegmentConfig, destination: DestinationConfig }

function selectPairs (config: ResolvedConfig, segments: string[] | undefined, destinations: string[] | undefined): Pair[] {
  for (const s of segments ?? []) {
    if (!config.segments.some(x => x.name === s)) throw new UsageError(`--segment '${s}' is not in the config (segments: ${config.segments.map(x => x.name).join(', ')})`)
  }
  for (const d of destinations ?? []) {
    if (!config.destinations.some(x => x.name === d)) throw new UsageError(`--destination '${d}' is not in the config (destinations: ${config.destinations.map(x => x.name).join(', ')})`)
  }
  const pairs: Pair[] = []
  for (const segment of config.segments) {
    if (segment.destination === undefined) continue
    if (segments !== undefined && !segments.includes(segment.name)) continue
    if (destinations !== undefined && !destinations.includes(segment.destination)) continue
    pairs.push({ segment, destination: config.destinations.find(d => d.name === segment.destination)! })
  }
  return pairs
}

/** The connection must exist, hold a token and reach the advertiser before anything is sent. */
function audienceApiFor (config: ResolvedConfig, state: StateStore, destination: DestinationConfig, metrics: Metrics | undefined, limiter: Limiter, observer?: ApiObserver): AudienceApi & { close: () => Promise<void> } {
  const connection = state.catalog.connection(destination.connection)
  if (connection === undefined) {
    throw new HashpipeError('HP_ERR_API_REAUTHORIZE', `destination '${destination.name}' uses connection '${destination.connection}', which does not exist yet; run: hashpipe connect tiktok --config ${config.file ?? 'FILE'} --name ${destination.connection}`, ExitCode.REAUTHORIZE)
  }
  if (!connection.advertiserIds.includes(destination.advertiserId)) {
    throw new HashpipeError('HP_ERR_API_REAUTHORIZE', `connection '${destination.connection}' does not reach advertiser ${destination.advertiserId} (destination '${destination.name}'); authorize that ad account for the app and run hashpipe connect tiktok again`, ExitCode.REAUTHORIZE)
  }
  const recorded = state.catalog.destination(destination.name)
  if (recorded === undefined || recorded.activatedAt === null || recorded.advertiserId !== destination.advertiserId || recorded.connection !== destination.connection) {
    throw new HashpipeError('HP_ERR_API_REAUTHORIZE', `destination '${destination.name}' is not activated${recorded?.role === 'ANALYST' ? ' (the authorizing user is an Analyst; Ad Account Admin or Operator is needed)' : ''}; run: hashpipe connect tiktok --config ${config.file ?? 'FILE'} --name ${destination.connection}`, ExitCode.REAUTHORIZE)
  }
  const token = state.tokens.read(destination.connection)
  return createTikTokAudienceApi(config.tiktok, token.reveal(), metrics, observer, limiter)
}

const n = formatCount

function formatResult (r: DistributionResult): string {
  const plan = (c: Partial<Record<string, number>>, sign: string): string => Object.entries(c).map(([k, v]) => `${k} ${sign}${n(v ?? 0)}`).join(', ')
  const adds = plan(r.plan.add, '+')
  const dels = plan(r.plan.delete, '-')
  const head = `${r.segment} → ${r.destination} (advertiser ${r.advertiserId})${r.resumed ? ' [resumed]' : ''}`
  if (r.dryRun) return `${head} [dry run]\n  plan: ${adds === '' ? 'nothing to add' : adds}${dels === '' ? '' : `; ${dels}`}\n`
  return `${head}\n  audience ${r.audienceId ?? '-'}: ${n(r.delivered.add)} added, ${n(r.delivered.delete)} deleted${adds === '' && dels === '' ? ' (already up to date)' : ` [${[adds, dels].filter(x => x !== '').join('; ')}]`}` +
    `${r.poisoned > 0 ? `, ${n(r.poisoned)} refused by TikTok` : ''}${r.rejects > 0 ? `, ${n(r.rejects)} input rejects (${reasons(r.rejectsByReason)})` : ''}\n  matched reach: ${r.coverNum === null ? 'unknown' : n(r.coverNum)}\n`
}

function formatFailure (pair: Pair, error: HashpipeError): string {
  return `${pair.segment.name} → ${pair.destination.name} (advertiser ${pair.destination.advertiserId})\n  FAILED ${error.code}: ${error.message}\n`
}

/** The --json form of one result: snake_case keys; id-schema names stay as TikTok spells them. */
function resultJson (r: DistributionResult): Record<string, unknown> {
  return {
    advertiser_id: r.advertiserId,
    run_id: r.runId,
    resumed: r.resumed,
    dry_run: r.dryRun,
    audience_id: r.audienceId,
    snapshot: r.snapshot,
    plan: r.plan,
    delivered: r.delivered,
    poisoned: r.poisoned,
    rejects: r.rejects,
    rejects_by_reason: r.rejectsByReason,
    cover_num: r.coverNum
  }
}

// Several distributions fail in several ways; the exit code says what to do first. Codes that
// need a person and block every later run rank above those a rerun may clear, and any specific
// code above the catch-all 1:
//   78 the config is wrong: nothing in it can be trusted to run until it is fixed;
//    4 a token or permission is gone: only a person at TikTok can restore it;
//    5 TikTok was unavailable: the run resumes when run again, so a scheduler may retry;
//    3 delivered, but too many input rows were rejected: the data needs a look;
//    2 a usage refusal of one distribution (a dry run over an interrupted run);
//    1 any other failure, reported on its distribution.
const kSeverity: readonly number[] = [ExitCode.CONFIG, ExitCode.REAUTHORIZE, ExitCode.DESTINATION_UNAVAILABLE, ExitCode.REJECTS_OVER_LIMIT, ExitCode.USAGE, ExitCode.FAILED, ExitCode.OK]

/** The most severe of the outcomes' exit codes (kSeverity); a code not in the order counts as 1. */
export function mostSevereExitCode (codes: readonly number[]): number {
  return codes.map(c => kSeverity.includes(c) ? c : ExitCode.FAILED)
    .reduce((worst, c) => kSeverity.indexOf(c) < kSeverity.indexOf(worst) ? c : worst, ExitCode.OK)
}

/** A coded error, also one that crossed a thread boundary (structured clone drops the prototype). */
function codedError (err: unknown): HashpipeError | undefined {
  if (err instanceof HashpipeError) return err
  const e = err as { code?: unknown, message?: unknown, exitCode?: unknown } | null
  if (typeof e?.code !== 'string' || !e.code.startsWith('HP_ERR_')) return undefined
  return new HashpipeError(e.code as HashpipeError['code'], String(e.message), (typeof e.exitCode === 'number' ? e.exitCode : ExitCode.FAILED) as HashpipeError['exitCode'], { cause: err })
}

export default async function distribute (argv: string[], io: CommandIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: kOptions, allowPositionals: false, strict: true })
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe distribute --help)`)
  }
  const v = parsed.values
  if (v.help) { io.stdout.write(kHelp); return ExitCode.OK }
  if (v.config === undefined) throw new UsageError('--config FILE is required (see hashpipe distribute --help)')
  const share = parseRatio('max-delete-share', v['max-delete-share'], { above: true })
  const threads = v.threads === undefined ? undefined : Number(v.threads)
  if (threads !== undefined) checkHashNumber('threads', threads, { names: { threads: '--threads' }, given: { threads: `'${v.threads}'` } })
  const metricsPort = v['metrics-port'] === undefined ? undefined : parsePort('metrics-port', v['metrics-port'])
  if (v.pushgateway !== undefined) parseHttpUrl('pushgateway', v.pushgateway)

  const retryBudgetMs = parseRetryBudget(v['retry-budget'])
  const concurrency = parseConcurrency(v.concurrency)
  const waitProcessingMs = parseDuration(v['wait-processing'])
  if (waitProcessingMs === undefined) throw new UsageError(`--wait-processing must be a duration such as 0, 90s, 30m or 2h, not '${v['wait-processing']}'`)

  const config = await loadConfig(v.config, io.env)
  if (retryBudgetMs !== undefined) config.tiktok.retryBudgetMs = retryBudgetMs
  const pairs = selectPairs(config, v.segment, v.destination)
  if (pairs.length === 0) {
    io.stderr.write('hashpipe: no segment with a destination matches; nothing to distribute\n')
    return ExitCode.OK
  }
  const runMetrics = await startRunMetrics(io, 'distribute', { port: metricsPort, host: v['metrics-host'], pushgateway: v.pushgateway })
  const metrics = runMetrics.metrics
  const timer = metrics?.startRun('distribute')
  const state = StateStore.open(config.stateDir)
  const ids = hyperid({ urlSafe: true })
  const idGen = createIds()
  const log = commandLogger(io, 'distribute', v['log-file'], idGen.runId())
  // By the pair's index: the JSON and the summary keep the config's order whatever finishes first.
  const outcomes: Array<{ pair: Pair, result: DistributionResult } | { pair: Pair, error: HashpipeError } | undefined> = []
  const clients: Array<{ close: () => Promise<void> }> = []
  let limiter: Promise<Limiter> | undefined
  let code: number = ExitCode.OK
  let stopped = false
  const progress = v.json ? noProgress() : createDistributeProgress({ stream: io.stderr })
  let rejects: AtomicFileWriter | undefined
  try {
    // Distributions run side by side (--concurrency), each under the one app limiter; the
    // results are reported as they finish and summed up in the config's order.
    const hashTurn = oneAtATime()
    // Each outcome is printed once those before it in the config are: the same text as one by one.
    let reported = 0
    const report = (): void => {
      for (let o = outcomes[reported]; o !== undefined; o = outcomes[++reported]) {
        if (!v.json) io.stdout.write('error' in o ? formatFailure(o.pair, o.error) : formatResult(o.result))
      }
    }
    rejects = await openRejects(v.rejects, io)
    await runAll(pairs, concurrency, io.signal, async (pair, index, signal) => {
      const { segment, destination } = pair
      const dist = state.distributions.ensure(segment.name, destination.name, destination.advertiserId)
      try {
        assertAudienceType(dist, destination)
        let api: AudienceApi = refuseWrites()
        if (!v['dry-run']) {
          limiter ??= createAppLimiter(config.tiktok, metrics)
          const client = audienceApiFor(config, state, destination, metrics, await limiter, progress.observer(progressLabel(segment.name, destination.name)))
          clients.push(client)
          api = client
        }
        const r = await runDistribution(config, state, api, segment, destination, {
          dryRun: v['dry-run'],
          restart: v.restart,
          allowMassDelete: v['allow-mass-delete'],
          maxDeleteShare: share,
          rebuildDelivered: v['rebuild-delivered'],
          recreateAudience: v['recreate-audience'],
          replace: v.replace,
          waitProcessingMs,
          ...(threads !== undefined ? { threads } : {}),
          inflight: 4,
          stdin: io.stdin,
          signal,
          hashTurn,
          log,
          batchId: idGen.batchId,
          progress,
          ...(rejects !== undefined ? { reject: rejectRow(rejects) } : {}),
          ...(metrics !== undefined ? { metrics } : {})
        }, () => ids())
        outcomes[index] = { pair, result: r }
        report()
      } catch (err) {
        // Not a coded error: a bug, or the machine failing (database damaged mid-run), which
        // every later distribution would meet too. It stops the run and says so.
        const e = codedError(err)
        // Not coded, or an interrupt: the run stops here (an interrupt exits 130, resumable).
        if (e === undefined || e.code === 'HP_ERR_ABORTED' || signal.aborted) throw err
        // Recording the failure must never replace it: on a full disk these writes fail too.
        try { log.error({ err, segment: segment.name, destination: destination.name }, 'distribution failed') } catch {}
        try { state.distributions.setLastError(dist.id, { code: e.code, message: e.message }) } catch {}
        // A full disk fails every distribution after it the same way: the run stops there.
        if (e.code === 'HP_ERR_DISK_FULL') throw err
        outcomes[index] = { pair, error: e }
        // The refusal on stderr too, in the CLI's own error form: scripts and people read errors there.
        io.stderr.write(`hashpipe: ${e.code}: ${pair.segment.name} → ${pair.destination.name}: ${e.message}\n`)
        report()
      }
    })
    code = mostSevereExitCode(outcomes.map(o => o !== undefined && 'error' in o ? o.error.exitCode : ExitCode.OK))
    const failed = outcomes.filter(o => o !== undefined && 'error' in o).length
    if (failed > 0) io.stderr.write(`hashpipe: ${failed} of ${pairs.length} distribution${pairs.length === 1 ? '' : 's'} failed; hashpipe status --config ${v.config} shows the errors\n`)
  } catch (err) {
    code = (err as HashpipeError).exitCode ?? ExitCode.FAILED
    stopped = true
    throw err
  } finally {
    progress.stop()
    // The rejects of every distribution hashed so far, also when a later one failed.
    await rejects?.commit().catch((err: unknown) => { io.stderr.write(`hashpipe: warning: --rejects ${v.rejects ?? ''}: ${(err as Error).message}\n`) })
    for (const c of clients) await c.close()
    await limiter?.then(async l => { await l.stop() }, () => {})
    state.close()
    timer?.end(code)
    await runMetrics.close()
    // A run stopped whole (interrupt, full disk, a bug) prints only the CLI's {"error": …}: one
    // JSON document on stdout either way; status shows what was delivered before the stop.
    if (v.json && !stopped) {
      io.stdout.write(JSON.stringify({
        distributions: outcomes.filter(o => o !== undefined).map(o => ({
          segment: o.pair.segment.name,
          destination: o.pair.destination.name,
          ...('error' in o
            ? { status: 'failed', error: { code: o.error.code, message: o.error.message } }
            : { status: 'ok', result: resultJson(o.result) })
        }))
      }) + '\n')
    }
  }
  return code
}

async function openRejects (path: string | undefined, io: CommandIo): Promise<AtomicFileWriter | undefined> {
  if (path === undefined) return undefined
  const w = await AtomicFileWriter.create(path, io.stdout)
  await w.write('segment,file,line,byte_offset,field,reason\n')
  return w
}

function rejectRow (w: AtomicFileWriter): NonNullable<DistributeOptions['reject']> {
  return async (segment, file, r) => { await w.write(`${csvCell(segment)},${csvCell(file)},${r.line},${r.byteOffset < 0 ? '' : r.byteOffset},${csvCell(r.field)},${r.reason}\n`) }
}

/** For --dry-run: any write call is a bug, and fails loudly rather than touching TikTok. */
function refuseWrites (): AudienceApi {
  const no = async (): Promise<never> => { throw new HashpipeError('HP_ERR_REFUSED', 'a dry run made a TikTok call (a bug; please report it)') }
  return { createAudience: no, deleteAudience: no, findAudiences: no, mapping: no, coverNum: no }
}
