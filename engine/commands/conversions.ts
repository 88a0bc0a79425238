// `hashpipe conversions send --config FILE`: every conversions entry of the config (or --name
// NAME) read, built into TikTok offline events and delivered to its Offline Event Set. An
// interrupted run resumes by itself; --restart starts it over.
import { parseArgs } from 'node:util'
import { loadConfig, type ConversionConfig, type ResolvedConfig } from '../config.js'
import { StateStore } from '../state/state-store.js'
import { sendConversions, RejectsFile, type ConversionResult, type EventsApi } from '../conversions/send-conversions.js'
import { trackEvents } from '../../adapters/tiktok/events.js'
import { ExitCode, HashpipeError, UsageError } from '../../pipeline/errors.js'
import { apiObserver, createMetrics, type Metrics } from '../metrics.js'
import { startMetricsServer, type MetricsServer } from '../../adapters/metrics-server.js'
import { mostSevereExitCode, parseConcurrency, DEFAULT_CONCURRENCY } from './distribute.js'
import { createDistributeProgress, noProgress } from '../distribute/distribute-progress.js'
import { bothObservers, createAppLimiter } from '../distribute/tiktok-audience-api.js'
import { parseRetryBudget } from '../distribute/duration.js'
import { TikTokClient, type ApiObserver } from '../../adapters/tiktok/tiktok-client.js'
import { assertDistinctFiles, parsePort, parseRatio } from '../cli-values.js'
import { runAll } from '../distribute/run-all.js'
import type { Limiter } from '../../adapters/tiktok/rate-limiter.js'
import type { CommandIo } from '../command.js'
import { formatCount } from '../../pipeline/format-count.js'

const kHelp = `usage: hashpipe conversions send --config FILE [options]

Sends offline conversions (in-store sales, CRM orders) to TikTok's Events API, to the Offline
Event Set of each conversions entry. Emails and phones are normalized and SHA-256 hashed as by
hashpipe hash (phones E.164 with '+'); only digests leave the machine. Every event carries an
event_id (the mapped column, or derived from the row), so TikTok counts a sale once however often
it is sent. A run that was interrupted resumes where it stopped.

  --config FILE          the config (YAML or JSON)
  --name NAME            only this conversions entry (repeatable)
  --dry-run              read and check the inputs and count what would be sent; no TikTok call
  --json                 results as JSON on stdout
  --rejects FILE         write rejected rows as CSV: file, line, field, reason, api_code (never a value)
  --restart              discard an interrupted run and send the current input from the start
  --max-reject-ratio R   exit 3 when rejected/read exceeds R (default 0.1)
  --retry-budget D       how long one TikTok call may keep retrying before the run stops, resumable,
                         with exit 5 (e.g. 90s, 30m; default: tiktok.retry_budget, 10m)
  --concurrency N        entries sent at once (default 2; 1: one after another), all under
                         the app's one Events API rate limit
  --metrics-port P       serve Prometheus metrics on 127.0.0.1:P while running
  -h, --help

Exit codes: 0 ok, 1 failed, 2 usage, 3 rejects over --max-reject-ratio, 4 re-authorization
required (hashpipe connect tiktok), 5 TikTok unavailable after retries (resumable: run again),
78 config invalid, 130 interrupted (resumable).
`

const kOptions = {
  config: { type: 'string' },
  name: { type: 'string', multiple: true },
  'dry-run': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  rejects: { type: 'string' },
  restart: { type: 'boolean', default: false },
  'max-reject-ratio': { type: 'string', default: '0.1' },
  'retry-budget': { type: 'string' },
  concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
  'metrics-port': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false }
} as const

const n = formatCount

function formatResult (r: ConversionResult): string {
  const reasons = Object.entries(r.rejected).map(([k, v]) => `${k} ${n(v)}`).join(', ')
  return `${r.name} → event set ${r.eventSourceId}${r.resumed ? ' [resumed]' : ''}${r.dryRun ? ' [dry run]' : ''}\n` +
    `  ${n(r.read)} read, ${n(r.sent)} ${r.dryRun ? 'to send' : 'sent'}${r.alreadySent > 0 ? `, ${n(r.alreadySent)} already sent before the interruption` : ''}, ` +
    `${n(r.rejectedTotal)} rejected${reasons === '' ? '' : ` (${reasons})`}, ${n(r.duplicates)} duplicates skipped, ${r.seconds.toFixed(1)} s\n`
}

export function resultJson (r: ConversionResult): Record<string, unknown> {
  return {
    name: r.name,
    event_source_id: r.eventSourceId,
    run_id: r.runId ?? null,
    resumed: r.resumed,
    dry_run: r.dryRun,
    events_read: r.read,
    events_sent: r.sent,
    events_already_sent: r.alreadySent,
    duplicates_skipped: r.duplicates,
    rejected: r.rejected,
    rejected_total: r.rejectedTotal,
    requests: r.requests,
    batches: r.batches,
    seconds: Number(r.seconds.toFixed(3))
  }
}

function eventsApiFor (config: ResolvedConfig, state: StateStore, entry: ConversionConfig, metrics: Metrics | undefined, progress: ApiObserver, limiter: Limiter): EventsApi & { close: () => Promise<void> } {
  if (state.catalog.connection(entry.connection) === undefined) {
    throw new HashpipeError('HP_ERR_API_REAUTHORIZE', `conversions '${entry.name}' uses connection '${entry.connection}', which does not exist yet; run: hashpipe connect tiktok --config ${config.file ?? 'FILE'} --name ${entry.connection}`, ExitCode.REAUTHORIZE)
  }
  const client = new TikTokClient({
    apiBaseUrl: config.tiktok.apiBaseUrl,
    accessToken: state.tokens.read(entry.connection).reveal(),
    rateLimit: config.tiktok.eventsRateLimit,
    retryBudgetMs: config.tiktok.retryBudgetMs,
    limiter,
    observer: bothObservers(metrics === undefined ? undefined : apiObserver(metrics), progress)!
  })
  return { track: async (id, events) => await trackEvents(client, id, events), close: async () => { await client.close() } }
}

export default async function conversions (argv: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') { (sub === undefined ? io.stderr : io.stdout).write(kHelp); return sub === undefined ? ExitCode.USAGE : ExitCode.OK }
  if (sub !== 'send') throw new UsageError(`unknown conversions subcommand '${sub}'; use: hashpipe conversions send --config FILE (see hashpipe conversions --help)`)
  let parsed
  try {
    parsed = parseArgs({ args: rest, options: kOptions, allowPositionals: false, strict: true })
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe conversions --help)`)
  }
  const v = parsed.values
  if (v.help) { io.stdout.write(kHelp); return ExitCode.OK }
  if (v.config === undefined) throw new UsageError('--config FILE is required (see hashpipe conversions --help)')
  const ratio = parseRatio('max-reject-ratio', v['max-reject-ratio'])
  const metricsPort = v['metrics-port'] === undefined ? undefined : parsePort('metrics-port', v['metrics-port'])

  const retryBudgetMs = parseRetryBudget(v['retry-budget'])
  const concurrency = parseConcurrency(v.concurrency)
  const config = await loadConfig(v.config, io.env)
  if (retryBudgetMs !== undefined) config.tiktok.retryBudgetMs = retryBudgetMs
  for (const name of v.name ?? []) {
    if (!config.conversions.some(c => c.name === name)) throw new UsageError(`--name '${name}' is not a conversions entry of the config (entries: ${config.conversions.map(c => c.name).join(', ') || 'none'})`)
  }
  const entries = config.conversions.filter(c => v.name === undefined || v.name.includes(c.name))
  if (v.rejects !== undefined) {
    await assertDistinctFiles([{ option: '--rejects', path: v.rejects }], [
      { option: '--config', path: v.config },
      ...config.conversions.flatMap((c, i) => c.inputs.map((path, j) => ({ option: `conversions[${i}].inputs[${j}]`, path })))
    ])
  }
  if (entries.length === 0) { io.stderr.write('hashpipe: the config has no conversions entries; nothing to send\n'); return ExitCode.OK }

  let metrics: Metrics | undefined
  let server: MetricsServer | undefined
  if (metricsPort !== undefined) {
    metrics = createMetrics()
    server = await startMetricsServer(metrics, { port: metricsPort, host: '127.0.0.1' })
    io.stderr.write(`hashpipe: metrics on ${server.url}\n`)
  }
  const timer = metrics?.startRun('conversions')
  const state = v['dry-run'] ? undefined : StateStore.open(config.stateDir)
  const rejects = v.rejects === undefined ? undefined : new RejectsFile(v.rejects)
  // By the entry's index: the JSON keeps the config's order whatever finishes first.
  const outcomes: Array<{ entry: ConversionConfig, result?: ConversionResult, error?: HashpipeError } | undefined> = []
  let limiter: Promise<Limiter> | undefined
  let code: number = ExitCode.OK
  let stopped = false
  const progress = v.json ? noProgress() : createDistributeProgress({ stream: io.stderr })
  try {
    // Entries run side by side (--concurrency) under the one Events API limiter of the app. Each
    // outcome is printed once those before it in the config are: the same text as one by one.
    let reported = 0
    const report = (): void => {
      for (let o = outcomes[reported]; o !== undefined; o = outcomes[++reported]) {
        if (v.json) continue
        io.stdout.write(o.result !== undefined ? formatResult(o.result) : `${o.entry.name} → event set ${o.entry.eventSourceId}\n  FAILED ${o.error!.code}: ${o.error!.message}\n`)
      }
    }
    await runAll(entries, concurrency, io.signal, async (entry, index, signal) => {
      let api: (EventsApi & { close: () => Promise<void> }) | undefined
      const shown = progress.track(`conversions ${entry.name}`)
      try {
        shown.phase('send')
        if (state !== undefined) {
          limiter ??= createAppLimiter(config.tiktok, metrics, 'events')
          api = eventsApiFor(config, state, entry, metrics, shown.observer, await limiter)
        }
        const result = await sendConversions(config, state, api, entry, {
          dryRun: v['dry-run'],
          restart: v.restart,
          stdin: io.stdin,
          signal,
          ...(rejects !== undefined ? { rejects } : {}),
          onProgress: p => { shown.sent(p.sent, undefined, `${n(p.read)} read, ${n(p.rejectedTotal)} rejected`) },
          ...(metrics !== undefined ? { onEvents: (outcome, reason, k) => { metrics!.conversionEvents.inc({ outcome, reason: reason === '' ? 'none' : reason }, k) } } : {})
        })
        outcomes[index] = { entry, result }
        report()
      } catch (err) {
        if (!(err instanceof HashpipeError)) throw err
        outcomes[index] = { entry, error: err }
        report()
      } finally {
        shown.end()
        await api?.close()
      }
    })
    const done = outcomes.filter(o => o !== undefined)
    code = mostSevereExitCode(done.map(o => {
      if (o.error !== undefined) return o.error.exitCode
      const r = o.result!
      return r.read > 0 && r.rejectedTotal / r.read > ratio ? ExitCode.REJECTS_OVER_LIMIT : ExitCode.OK
    }))
    if (io.signal.aborted || done.some(o => o.error?.exitCode === ExitCode.INTERRUPTED)) code = ExitCode.INTERRUPTED
    if (code === ExitCode.REJECTS_OVER_LIMIT) io.stderr.write(`hashpipe: rejects over --max-reject-ratio ${ratio}${v.rejects === undefined ? '; --rejects FILE lists them' : `; see ${v.rejects}`}\n`)
  } catch (err) {
    stopped = true
    throw err
  } finally {
    progress.stop()
    await rejects?.close()
    await limiter?.then(async l => { await l.stop() }, () => {})
    state?.close()
    timer?.end(code)
    await server?.close()
    // A run stopped whole prints only the CLI's {"error": …}: one JSON document either way.
    if (v.json && !stopped) io.stdout.write(JSON.stringify({ conversions: outcomes.filter(o => o !== undefined).map(o => o.result !== undefined ? resultJson(o.result) : { name: o.entry.name, event_source_id: o.entry.eventSourceId, error: { code: o.error!.code, message: o.error!.message } }) }) + '\n')
  }
  return code
}
