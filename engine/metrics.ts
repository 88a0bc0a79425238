// One prom-client Registry per process and every metric hashpipe exports, named as
// docs/operational-rules.md says. Callers get typed handles whose label values pass through
// safeLabel(), so no code path can put an identifier, an audience name or free text into a
// label: anything outside the fixed sets in metric-labels.ts is counted as 'other'.
//
// Worker threads never touch the registry. Their counts come back in BatchResult and the main
// thread adds them here once per batch.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { LABEL_VALUES, RUN_RESULTS, safeLabel, runResultOf } from './metric-labels.js'
import { VERSION } from './version.js'
import type { LabelSet, CommandName, RunResult } from './metric-labels.js'

export const METRIC_PREFIX = 'hashpipe_'

/** Latency buckets for TikTok calls: loopback emulator (ms) up to a slow 30 s request timeout. */
export const API_LATENCY_BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

const kMisnamedDefaults = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

export interface MetricsOptions {
  /** Version for hashpipe_build_info; defaults to package.json's. */
  version?: string
  /** prom-client's process and Node.js metrics (prefixed `hashpipe_`). Default true. */
  defaultMetrics?: boolean
}

export interface PlainCounter { inc (value?: number): void }
export interface PlainGauge { set (value: number): void, inc (value?: number): void, dec (value?: number): void }
export interface CounterHandle<L extends string> { inc (labels: Record<L, string>, value?: number): void }
export interface GaugeHandle<L extends string> { set (labels: Record<L, string>, value: number): void }
export interface HistogramHandle<L extends string> {
  observe (labels: Record<L, string>, seconds: number): void
  /** Starts a clock; the returned function observes and returns the elapsed seconds. */
  startTimer (labels: Record<L, string>): () => number
}

export interface RunTimer {
  /** Records the run's duration and result (a RunResult or a process exit code); returns seconds. */
  end (result: RunResult | number): number
}

export interface Metrics {
  readonly registry: Registry
  /** Content-Type of the text exposition. */
  readonly contentType: string
  readonly inputBytes: PlainCounter
  readonly inputRows: PlainCounter
  readonly identifiers: CounterHandle<'id_type' | 'outcome'>
  readonly rejects: CounterHandle<'reason'>
  readonly uniqueIdentifiers: CounterHandle<'id_schema'>
  readonly batches: PlainCounter
  readonly stageSeconds: CounterHandle<'stage'>
  readonly workerThreads: PlainGauge
  readonly workerUtilization: PlainGauge
  readonly workerQueueDepth: PlainGauge
  readonly spoolBytes: PlainGauge
  readonly planIdentifiers: GaugeHandle<'operation' | 'id_schema'>
  readonly deliveredIdentifiers: CounterHandle<'operation' | 'id_schema'>
  readonly checkpointLag: PlainGauge
  readonly apiRequests: CounterHandle<'endpoint' | 'code_class'>
  /** Offline conversion events by outcome (sent, rejected, duplicate) and reject reason ('none' otherwise). */
  readonly conversionEvents: CounterHandle<'outcome' | 'reason'>
  readonly apiRequestDuration: HistogramHandle<'endpoint'>
  readonly apiRetries: CounterHandle<'endpoint' | 'reason'>
  readonly rateLimitWaits: CounterHandle<'scope'>
  readonly rateLimitWaitSeconds: CounterHandle<'scope'>
  /** Customer-file uploads by outcome, their bytes and the seconds they took. */
  readonly uploadFiles: CounterHandle<'outcome'>
  readonly uploadBytes: CounterHandle<'outcome'>
  readonly uploadSeconds: CounterHandle<'outcome'>
  /** Starts timing a command; hashpipe_run_duration_seconds grows while it runs. */
  startRun (command: CommandName): RunTimer
  /** The text exposition of the whole registry. */
  exposition (): Promise<string>
}

/** Label name in the exposition → the closed set its values come from. */
type LabelSpec = Record<string, LabelSet>

// A value that cannot be a count (NaN, negative for a counter) is dropped rather than thrown:
// metrics must never be the reason a run fails.
function usable (v: number): boolean { return Number.isFinite(v) && v >= 0 }

function mapLabels (spec: LabelSpec, labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name in spec) out[name] = safeLabel(spec[name]!, labels[name])
  return out
}

// Every combination of the allowed values (not 'other'), so rate() and the dashboard see a
// zero series from the first scrape and the series count never depends on the input.
function combinations (spec: LabelSpec): Array<Record<string, string>> {
  let out: Array<Record<string, string>> = [{}]
  for (const [name, set] of Object.entries(spec)) {
    out = out.flatMap(base => LABEL_VALUES[set].map(v => ({ ...base, [name]: v })))
  }
  return out
}

export function createMetrics (options: MetricsOptions = {}): Metrics {
  const registry = new Registry()
  const registers = [registry]

  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX })
    // prom-client names these gauges `_total`, which promtool rejects (a `_total` suffix means a
    // counter). The unsuffixed per-type gauges stay, and sum() over them gives the same number.
    for (const name of kMisnamedDefaults) registry.removeSingleMetric(METRIC_PREFIX + name)
  }

  const plainCounter = (name: string, help: string): PlainCounter => {
    const c = new Counter({ name, help, registers })
    return { inc: (v = 1) => { if (usable(v)) c.inc(v) } }
  }
  const plainGauge = (name: string, help: string): PlainGauge => {
    const g = new Gauge({ name, help, registers })
    return {
      set: v => { if (Number.isFinite(v)) g.set(v) },
      inc: (v = 1) => { if (Number.isFinite(v)) g.inc(v) },
      dec: (v = 1) => { if (Number.isFinite(v)) g.dec(v) }
    }
  }
  const counter = <L extends string>(name: string, help: string, spec: Record<L, LabelSet>, init: boolean): CounterHandle<L> => {
    const c = new Counter({ name, help, labelNames: Object.keys(spec), registers })
    if (init) for (const l of combinations(spec)) c.inc(l, 0)
    return { inc: (labels, v = 1) => { if (usable(v)) c.inc(mapLabels(spec, labels), v) } }
  }
  const gauge = <L extends string>(name: string, help: string, spec: Record<L, LabelSet>): GaugeHandle<L> => {
    const g = new Gauge({ name, help, labelNames: Object.keys(spec), registers })
    for (const l of combinations(spec)) g.set(l, 0)
    return { set: (labels, v) => { if (Number.isFinite(v)) g.set(mapLabels(spec, labels), v) } }
  }
  const histogram = <L extends string>(name: string, help: string, spec: Record<L, LabelSet>, buckets: number[]): HistogramHandle<L> => {
    const h = new Histogram({ name, help, labelNames: Object.keys(spec), buckets, registers })
    const observe = (labels: Record<L, string>, s: number): void => { if (usable(s)) h.observe(mapLabels(spec, labels), s) }
    return {
      observe,
      startTimer: labels => {
        const t0 = process.hrtime.bigint()
        return () => {
          const s = Number(process.hrtime.bigint() - t0) / 1e9
          observe(labels, s)
          return s
        }
      }
    }
  }

  const buildInfo = new Gauge({
    name: 'hashpipe_build_info',
    help: 'Always 1; labels carry the hashpipe version and the Node.js version.',
    labelNames: ['version', 'node'],
    registers
  })
  buildInfo.set({ version: options.version ?? VERSION, node: process.versions.node }, 1)

  // Run bookkeeping: one process runs one command, but nothing breaks if it runs several.
  const running = new Map<string, bigint>()
  const runDuration = new Gauge({
    name: 'hashpipe_run_duration_seconds',
    help: 'Seconds the command has been running, or ran for once it finished.',
    labelNames: ['command'],
    registers,
    collect () {
      const now = process.hrtime.bigint()
      for (const [command, t0] of running) this.set({ command }, Number(now - t0) / 1e9)
    }
  })
  const runs = new Counter({
    name: 'hashpipe_runs_total',
    help: 'Finished command runs by result.',
    labelNames: ['command', 'result'],
    registers
  })
  const lastSuccess = new Gauge({
    name: 'hashpipe_run_last_success_timestamp_seconds',
    help: 'Unix time the command last finished with result ok (for Pushgateway staleness alerts).',
    labelNames: ['command'],
    registers
  })

  const metrics: Metrics = {
    registry,
    contentType: registry.contentType,
    inputBytes: plainCounter('hashpipe_input_bytes_total', 'Bytes read from input files (after gzip decompression).'),
    inputRows: plainCounter('hashpipe_input_rows_total', 'Input records (rows, lines or JSON elements) read.'),
    identifiers: counter('hashpipe_identifiers_total',
      'Identifier cells by input type and outcome; duplicate counts the valid identifiers dedupe dropped (a subset of valid).',
      { id_type: 'id_type', outcome: 'outcome' }, true),
    rejects: counter('hashpipe_rejects_total', 'Rejected identifiers and records by stable reject reason.', { reason: 'reason' }, true),
    uniqueIdentifiers: counter('hashpipe_unique_identifiers_total', 'Unique identifiers kept after dedupe, by TikTok id_schema.', { id_schema: 'id_schema' }, true),
    batches: plainCounter('hashpipe_batches_total', 'Batches hashed by the worker pool.'),
    stageSeconds: counter('hashpipe_stage_seconds_total', 'Busy seconds spent in each pipeline stage.', { stage: 'stage' }, true),
    workerThreads: plainGauge('hashpipe_worker_threads', 'Hash worker threads in the pool.'),
    workerUtilization: plainGauge('hashpipe_worker_utilization_ratio', 'Fraction of worker pool time spent running tasks (0 to 1).'),
    workerQueueDepth: plainGauge('hashpipe_worker_queue_depth', 'Batches waiting for a hash worker.'),
    spoolBytes: plainGauge('hashpipe_spool_bytes', 'Bytes currently held in the on-disk spool.'),
    planIdentifiers: gauge('hashpipe_plan_identifiers', 'Identifiers the current delivery plan adds or deletes, by id_schema.',
      { operation: 'operation', id_schema: 'id_schema' }),
    deliveredIdentifiers: counter('hashpipe_delivered_identifiers_total', 'Identifiers TikTok accepted, by operation and id_schema.',
      { operation: 'operation', id_schema: 'id_schema' }, true),
    checkpointLag: plainGauge('hashpipe_checkpoint_lag_identifiers', 'Identifiers delivered since the last durable checkpoint.'),
    conversionEvents: counter('hashpipe_conversion_events_total', 'Offline conversion events by outcome (sent, rejected, duplicate) and reject reason.',
      { outcome: 'conversion_outcome', reason: 'conversion_reason' }, false),
    apiRequests: counter('hashpipe_api_requests_total', 'TikTok API requests by endpoint and outcome class.',
      { endpoint: 'endpoint', code_class: 'code_class' }, false),
    apiRequestDuration: histogram('hashpipe_api_request_duration_seconds', 'TikTok API request latency, response body included.',
      { endpoint: 'endpoint' }, API_LATENCY_BUCKETS),
    apiRetries: counter('hashpipe_api_retries_total', 'TikTok API requests retried, by endpoint and reason.',
      { endpoint: 'endpoint', reason: 'retry_reason' }, false),
    rateLimitWaits: counter('hashpipe_rate_limit_waits_total', 'Times a request waited for the rate limiter or a rate-limit backoff.', { scope: 'scope' }, true),
    rateLimitWaitSeconds: counter('hashpipe_rate_limit_wait_seconds_total', 'Seconds requests spent waiting for rate limits.', { scope: 'scope' }, true),
    uploadFiles: counter('hashpipe_upload_files_total', 'Customer-file uploads by outcome (expired: TikTok forgot the file_path and it was uploaded again).', { outcome: 'upload_outcome' }, true),
    uploadBytes: counter('hashpipe_upload_bytes_total', 'Bytes of customer files TikTok accepted.', { outcome: 'upload_outcome' }, true),
    uploadSeconds: counter('hashpipe_upload_seconds_total', 'Seconds spent uploading customer files, by outcome.', { outcome: 'upload_outcome' }, true),
    startRun (command) {
      const c = safeLabel('command', command)
      for (const result of RUN_RESULTS) runs.inc({ command: c, result }, 0)
      runDuration.set({ command: c }, 0)
      const t0 = process.hrtime.bigint()
      running.set(c, t0)
      let ended: number | undefined
      return {
        end (result) {
          if (ended !== undefined) return ended
          const seconds = ended = Number(process.hrtime.bigint() - t0) / 1e9
          if (running.get(c) === t0) running.delete(c)
          const r = typeof result === 'number' ? runResultOf(result) : safeLabel('result', result)
          runDuration.set({ command: c }, seconds)
          runs.inc({ command: c, result: r })
          if (r === 'ok') lastSuccess.set({ command: c }, Date.now() / 1000)
          return seconds
        }
      }
    },
    exposition: () => registry.metrics()
  }
  return metrics
}

export interface ApiRequestEvent { endpoint: string, codeClass: string, seconds: number }
export interface ApiRetryEvent { endpoint: string, reason: string }
export interface RateLimitWaitEvent { scope: string, seconds: number }

/** The hooks the TikTok client calls; every field is mapped onto its fixed label set. */
export interface ApiObserver {
  onRequest (event: ApiRequestEvent): void
  onRetry (event: ApiRetryEvent): void
  onRateLimitWait (event: RateLimitWaitEvent): void
}

/**
 * Adapts the registry to the TikTok client's observer hooks. `endpoint` may be a path or a full
 * URL (query and `/open_api/v1.3` are stripped); `codeClass` is a CodeClass (codeClassOf()) or
 * one of the client's words success/retry/reauthorize/terminal.
 */
export function apiObserver (metrics: Metrics): ApiObserver {
  return {
    onRequest ({ endpoint, codeClass, seconds }) {
      metrics.apiRequests.inc({ endpoint, code_class: codeClass })
      metrics.apiRequestDuration.observe({ endpoint }, seconds)
    },
    onRetry ({ endpoint, reason }) {
      metrics.apiRetries.inc({ endpoint, reason })
    },
    onRateLimitWait ({ scope, seconds }) {
      metrics.rateLimitWaits.inc({ scope })
      metrics.rateLimitWaitSeconds.inc({ scope }, seconds)
    }
  }
}

export { safeLabel, codeClassOf, runResultOf, canonicalEndpoint, LABEL_VALUES, OTHER } from './metric-labels.js'
export type { CodeClass, CommandName, Endpoint, LabelSet, Operation, Outcome, RateLimitScope, RetryReason, RunResult, Stage } from './metric-labels.js'
