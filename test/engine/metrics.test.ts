import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createMetrics, apiObserver, safeLabel, codeClassOf, canonicalEndpoint, runResultOf, LABEL_VALUES } from '../../engine/metrics.js'
import { REJECT_REASONS } from '../../pipeline/protocol.js'
import { requireTool } from '../helpers/prometheus-bin.js'

// hashpipe's own metrics (prom-client's process/nodejs defaults excluded). Adding a metric means
// adding it here and to the README table.
const kOwn: Record<string, string> = {
  hashpipe_build_info: 'gauge',
  hashpipe_input_bytes_total: 'counter',
  hashpipe_input_rows_total: 'counter',
  hashpipe_identifiers_total: 'counter',
  hashpipe_rejects_total: 'counter',
  hashpipe_conversion_events_total: 'counter',
  hashpipe_unique_identifiers_total: 'counter',
  hashpipe_batches_total: 'counter',
  hashpipe_stage_seconds_total: 'counter',
  hashpipe_worker_threads: 'gauge',
  hashpipe_worker_utilization_ratio: 'gauge',
  hashpipe_worker_queue_depth: 'gauge',
  hashpipe_spool_bytes: 'gauge',
  hashpipe_plan_identifiers: 'gauge',
  hashpipe_delivered_identifiers_total: 'counter',
  hashpipe_checkpoint_lag_identifiers: 'gauge',
  hashpipe_api_requests_total: 'counter',
  hashpipe_api_request_duration_seconds: 'histogram',
  hashpipe_api_retries_total: 'counter',
  hashpipe_rate_limit_waits_total: 'counter',
  hashpipe_rate_limit_wait_seconds_total: 'counter',
  hashpipe_upload_files_total: 'counter',
  hashpipe_upload_bytes_total: 'counter',
  hashpipe_upload_seconds_total: 'counter',
  hashpipe_run_duration_seconds: 'gauge',
  hashpipe_runs_total: 'counter',
  hashpipe_run_last_success_timestamp_seconds: 'gauge'
}

function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line)
    if (m === null || m[1] !== name) continue
    const have = (m[3] ?? '').split(',').filter(Boolean)
    if (want.length === have.length && want.every(w => have.includes(w))) return Number(m[4])
  }
  return undefined
}

t.test('every metric name follows Prometheus conventions', async t => {
  const metrics = createMetrics()
  const all = await metrics.registry.getMetricsAsJSON()
  t.ok(all.length > Object.keys(kOwn).length, 'default process metrics are registered too')
  for (const m of all) {
    const name = m.name
    const type = String(m.type)
    t.match(name, /^hashpipe_[a-z][a-z0-9_]*[a-z0-9]$/, `${name}: prefixed snake_case`)
    t.ok(m.help.length > 0, `${name}: has help`)
    if (type === 'counter') t.ok(name.endsWith('_total'), `${name}: counter ends _total`)
    else t.notOk(name.endsWith('_total'), `${name}: only counters end _total`)
    const base = name.replace(/_total$/, '')
    if (/(seconds|duration|latency|_time|lag_seconds)/.test(base)) t.ok(base.endsWith('_seconds'), `${name}: durations in _seconds`)
    if (/(bytes|memory|_size)/.test(base)) t.ok(base.endsWith('_bytes'), `${name}: sizes in _bytes`)
    if (/(milliseconds|_ms$|_kb|_mb)/.test(base)) t.fail(`${name}: not a base unit`)
  }
  const own = Object.fromEntries(all.filter(m => !/^hashpipe_(process|nodejs)_/.test(m.name)).map(m => [m.name, String(m.type)]))
  t.same(own, kOwn, 'hashpipe metrics are exactly the documented set')
})

t.test('unknown label values are counted as other, never as themselves', async t => {
  const metrics = createMetrics({ defaultMetrics: false })
  metrics.identifiers.inc({ id_type: 'email', outcome: 'valid' }, 5)
  metrics.identifiers.inc({ id_type: 'jane.doe@example.com', outcome: 'valid' })
  metrics.rejects.inc({ reason: 'user 4155550100 is bad' }, 2)
  metrics.stageSeconds.inc({ stage: 'Loyal Customers 2026' }, 1.5)
  metrics.planIdentifiers.set({ operation: 'remove', id_schema: 'PHONE' }, 7)
  const obs = apiObserver(metrics)
  obs.onRequest({ endpoint: 'https://business-api.tiktok.com/open_api/v1.3/segment/mapping/?advertiser_id=7123456789012345678', codeClass: 'success', seconds: 0.12 })
  obs.onRequest({ endpoint: '/segment/audience/name=acme', codeClass: 'weird', seconds: 0.2 })
  obs.onRetry({ endpoint: '/segment/mapping', reason: 'rate_limited' })
  obs.onRateLimitWait({ scope: 'app', seconds: 2 })
  obs.onRateLimitWait({ scope: '7123456789012345678', seconds: 1 })

  const text = await metrics.exposition()
  t.equal(sample(text, 'hashpipe_identifiers_total', { id_type: 'email', outcome: 'valid' }), 5)
  t.equal(sample(text, 'hashpipe_identifiers_total', { id_type: 'other', outcome: 'valid' }), 1)
  t.equal(sample(text, 'hashpipe_rejects_total', { reason: 'other' }), 2)
  t.equal(sample(text, 'hashpipe_stage_seconds_total', { stage: 'other' }), 1.5)
  t.equal(sample(text, 'hashpipe_plan_identifiers', { operation: 'delete', id_schema: 'PHONE_SHA256' }), 7, 'aliases map onto the set')
  t.equal(sample(text, 'hashpipe_api_requests_total', { endpoint: '/segment/mapping/', code_class: 'ok' }), 1)
  t.equal(sample(text, 'hashpipe_api_requests_total', { endpoint: 'other', code_class: 'other' }), 1)
  t.equal(sample(text, 'hashpipe_api_request_duration_seconds_count', { endpoint: '/segment/mapping/' }), 1)
  t.equal(sample(text, 'hashpipe_api_request_duration_seconds_bucket', { endpoint: '/segment/mapping/', le: '0.25' }), 1)
  t.equal(sample(text, 'hashpipe_api_retries_total', { endpoint: '/segment/mapping/', reason: 'rate_limited' }), 1)
  t.equal(sample(text, 'hashpipe_rate_limit_wait_seconds_total', { scope: 'app' }), 2)
  t.equal(sample(text, 'hashpipe_rate_limit_waits_total', { scope: 'other' }), 1)
  for (const leak of ['jane.doe', '4155550100', 'Loyal', 'acme', '7123456789012345678', 'weird']) {
    t.notOk(text.includes(leak), `exposition does not contain ${leak}`)
  }
})

t.test('series count does not depend on how many distinct values callers pass', async t => {
  const metrics = createMetrics({ defaultMetrics: false })
  const count = async (): Promise<number> => (await metrics.exposition()).split('\n').filter(l => l !== '' && !l.startsWith('#')).length
  metrics.identifiers.inc({ id_type: 'x0', outcome: 'y0' })
  metrics.apiRequests.inc({ endpoint: '/u0/', code_class: 'c0' })
  const before = await count()
  for (let i = 1; i < 500; i++) {
    metrics.identifiers.inc({ id_type: `user${i}@example.com`, outcome: `o${i}` })
    metrics.apiRequests.inc({ endpoint: `/x/${i}/`, code_class: String(40000 + i) })
    metrics.rejects.inc({ reason: `r${i}` })
  }
  t.equal(await count(), before + 1, 'only the one rejects{reason="other"} series was added')
})

t.test('label helpers', async t => {
  t.equal(safeLabel('reason', 'phone_invalid'), 'phone_invalid')
  t.equal(safeLabel('reason', 'PHONE_INVALID'), 'other')
  t.equal(safeLabel('id_type', undefined), 'other')
  t.equal(safeLabel('id_type', 42), 'other')
  t.equal(safeLabel('code_class', 'reauthorize'), 'auth')
  t.equal(safeLabel('code_class', 'terminal'), 'client_error')
  t.equal(safeLabel('code_class', 'retry'), 'server_error')
  t.same(LABEL_VALUES.reason, REJECT_REASONS, 'reject reasons come from the worker protocol')
  t.equal(canonicalEndpoint('https://h/open_api/v1.3/dmp/custom_audience/get/?advertiser_id=1'), '/dmp/custom_audience/get/')
  t.equal(canonicalEndpoint('open_api/v1.3/bc/get'), '/bc/get/')
  t.equal(canonicalEndpoint('http://127.0.0.1:3000'), '/')
  const rows: Array<[number | undefined, number | undefined, string]> = [
    [200, 0, 'ok'], [200, 20001, 'ok'], [200, 40100, 'rate_limited'], [200, 40016, 'rate_limited'], [200, 40133, 'rate_limited'],
    [200, 40001, 'auth'], [200, 40102, 'auth'], [200, 40105, 'auth'], [200, 40106, 'auth'], [200, 40002, 'client_error'],
    [200, 40011, 'client_error'], [200, 50000, 'server_error'], [200, 50002, 'server_error'], [502, undefined, 'server_error'],
    [429, undefined, 'rate_limited'], [401, undefined, 'auth'], [404, undefined, 'client_error'], [200, undefined, 'invalid_response'],
    [undefined, undefined, 'network']
  ]
  for (const [status, code, want] of rows) t.equal(codeClassOf(status, code), want, `HTTP ${String(status)} code ${String(code)}`)
  t.same([0, 1, 2, 3, 4, 5, 78, 9].map(c => runResultOf(c)), ['ok', 'failed', 'usage', 'rejects_over_limit', 'reauthorize', 'unavailable', 'config', 'failed'])
  t.equal(runResultOf(0, true), 'aborted')
})

t.test('values that cannot be counts are dropped, not thrown', async t => {
  const metrics = createMetrics({ defaultMetrics: false })
  metrics.inputBytes.inc(-5)
  metrics.inputBytes.inc(Number.NaN)
  metrics.inputBytes.inc(10)
  metrics.apiRequestDuration.observe({ endpoint: '/bc/get/' }, Number.POSITIVE_INFINITY)
  metrics.workerUtilization.set(Number.NaN)
  const text = await metrics.exposition()
  t.equal(sample(text, 'hashpipe_input_bytes_total'), 10)
  t.equal(sample(text, 'hashpipe_api_request_duration_seconds_count', { endpoint: '/bc/get/' }), undefined)
})

t.test('runs: duration, result and build info', async t => {
  const metrics = createMetrics({ defaultMetrics: false, version: '9.9.9' })
  const run = metrics.startRun('distribute')
  let text = await metrics.exposition()
  t.equal(sample(text, 'hashpipe_runs_total', { command: 'distribute', result: 'unavailable' }), 0, 'results start at zero')
  t.ok((sample(text, 'hashpipe_run_duration_seconds', { command: 'distribute' }) ?? -1) >= 0, 'duration is live while running')
  const seconds = run.end(5)
  t.ok(seconds >= 0)
  t.equal(run.end(0), seconds, 'ending twice records once')
  text = await metrics.exposition()
  t.equal(sample(text, 'hashpipe_runs_total', { command: 'distribute', result: 'unavailable' }), 1)
  t.equal(sample(text, 'hashpipe_runs_total', { command: 'distribute', result: 'ok' }), 0)
  t.equal(sample(text, 'hashpipe_run_duration_seconds', { command: 'distribute' }), seconds)
  t.equal(sample(text, 'hashpipe_build_info', { version: '9.9.9', node: process.versions.node }), 1)

  const ok = metrics.startRun('hash')
  ok.end('ok')
  text = await metrics.exposition()
  const ts = sample(text, 'hashpipe_run_last_success_timestamp_seconds', { command: 'hash' }) ?? 0
  t.ok(Math.abs(ts - Date.now() / 1000) < 60, 'last success timestamp is now')

  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  const dflt = await createMetrics({ defaultMetrics: false }).exposition()
  t.equal(sample(dflt, 'hashpipe_build_info', { version: pkg.version, node: process.versions.node }), 1, 'version read from package.json')
})

t.test('exposition contains the expected zero series from the start', async t => {
  const text = await createMetrics().exposition()
  for (const reason of REJECT_REASONS) t.equal(sample(text, 'hashpipe_rejects_total', { reason }), 0, reason)
  t.equal(sample(text, 'hashpipe_identifiers_total', { id_type: 'phone', outcome: 'duplicate' }), 0)
  t.equal(sample(text, 'hashpipe_stage_seconds_total', { stage: 'hash' }), 0)
  t.equal(sample(text, 'hashpipe_delivered_identifiers_total', { operation: 'add', id_schema: 'IDFA_SHA256' }), 0)
  t.match(text, /^hashpipe_process_cpu_user_seconds_total \S+$/m, 'default process metrics are exported')
  t.notMatch(text, /_active_handles_total/, 'misnamed default gauges are removed')
})

t.test('registries are per instance', async t => {
  const a = createMetrics({ defaultMetrics: false })
  const b = createMetrics({ defaultMetrics: false })
  a.inputRows.inc(3)
  t.equal(sample(await b.exposition(), 'hashpipe_input_rows_total'), 0)
  t.equal(sample(await a.exposition(), 'hashpipe_input_rows_total'), 3)
})

t.test('promtool check metrics accepts the exposition', async t => {
  const tool = requireTool(t, 'promtool')
  if (tool === undefined) return
  const metrics = createMetrics()
  // Touch every family so labeled series and histogram buckets are all present.
  const obs = apiObserver(metrics)
  obs.onRequest({ endpoint: '/segment/mapping/', codeClass: codeClassOf(200, 0), seconds: 0.3 })
  obs.onRetry({ endpoint: '/segment/mapping/', reason: 'server_error' })
  obs.onRateLimitWait({ scope: 'advertiser', seconds: 1 })
  metrics.planIdentifiers.set({ operation: 'add', id_schema: 'EMAIL_SHA256' }, 10)
  metrics.startRun('hash').end(0)
  const text = await metrics.exposition()
  const res = spawnSync(tool, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 })
  t.equal(res.status, 0, `promtool: ${res.stdout}${res.stderr}`)

  // The check itself can fail: a gauge named like a counter is reported.
  const bad = spawnSync(tool, ['check', 'metrics'], { input: '# HELP x_total x\n# TYPE x_total gauge\nx_total 1\n', encoding: 'utf8', timeout: 20_000 })
  t.not(bad.status, 0, 'promtool rejects a misnamed gauge')
})
