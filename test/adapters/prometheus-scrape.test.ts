// A real Prometheus server (Debian's prometheus package) scrapes a metrics server on loopback,
// and its query API returns the series we export, with the values we set. Bounded to 30 s;
// the server is killed on teardown.
import t from 'tap'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createMetrics, apiObserver } from '../../engine/metrics.js'
import { startMetricsServer } from '../../adapters/metrics-server.js'
import { requireTool } from '../helpers/prometheus-bin.js'

const kDeadlineMs = 25_000

async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

interface QueryResult { metric: Record<string, string>, value: [number, string] }

async function query (base: string, promql: string): Promise<QueryResult[] | undefined> {
  try {
    const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(2000) })
    if (!res.ok) return undefined
    const body = await res.json() as { status: string, data?: { result?: QueryResult[] } }
    return body.status === 'success' ? body.data?.result : undefined
  } catch {
    return undefined
  }
}

t.setTimeout(30_000)

t.test('Prometheus scrapes /metrics and serves the expected series', async t => {
  const bin = requireTool(t, 'prometheus')
  if (bin === undefined) return

  const metrics = createMetrics()
  metrics.identifiers.inc({ id_type: 'email', outcome: 'valid' }, 7)
  apiObserver(metrics).onRequest({ endpoint: '/segment/mapping/', codeClass: 'ok', seconds: 0.2 })
  const target = await startMetricsServer(metrics)
  t.teardown(() => target.close())

  const dir = await mkdtemp(join(tmpdir(), 'hashpipe-prom-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const port = await freePort()
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    'scrape_configs:',
    '  - job_name: hashpipe',
    `    static_configs: [{ targets: ['127.0.0.1:${target.port}'] }]`,
    ''
  ].join('\n')
  await writeFile(join(dir, 'prometheus.yml'), config)

  const proc = spawn(bin, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn'
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr.setEncoding('utf8')
  proc.stderr.on('data', (c: string) => { stderr = (stderr + c).slice(-4000) })
  let exited = false
  proc.once('exit', () => { exited = true })
  t.teardown(async () => {
    if (exited) return
    const gone = new Promise(resolve => proc.once('exit', resolve))
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
    await gone
    clearTimeout(timer)
  })

  const base = `http://127.0.0.1:${port}`
  const promql = 'hashpipe_identifiers_total{id_type="email",outcome="valid"}'
  const deadline = Date.now() + kDeadlineMs
  let result: QueryResult[] | undefined
  // `exited` is set by the child's exit handler while this loop awaits.
  // eslint-disable-next-line no-unmodified-loop-condition
  while (Date.now() < deadline && !exited) {
    result = await query(base, promql)
    if (result !== undefined && result.length > 0) break
    await sleep(250)
  }
  if (result === undefined || result.length === 0) {
    t.fail(`no ${promql} from Prometheus within ${kDeadlineMs} ms (exited: ${String(exited)}); stderr:\n${stderr}`)
    return
  }
  t.equal(result.length, 1)
  t.equal(result[0]!.value[1], '7', 'the value we set')
  t.equal(result[0]!.metric['job'], 'hashpipe')
  t.equal(result[0]!.metric['instance'], `127.0.0.1:${target.port}`)

  const up = await query(base, 'up{job="hashpipe"}')
  t.equal(up?.[0]?.value[1], '1', 'the target is up')
  const build = await query(base, 'hashpipe_build_info')
  t.equal(build?.[0]?.metric['node'], process.versions.node)
  const hist = await query(base, 'hashpipe_api_request_duration_seconds_count{endpoint="/segment/mapping/"}')
  t.equal(hist?.[0]?.value[1], '1', 'histogram series are ingested')
})
