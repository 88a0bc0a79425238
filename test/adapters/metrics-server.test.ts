import t from 'tap'
import { request } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMetrics } from '../../engine/metrics.js'
import { startMetricsServer } from '../../adapters/metrics-server.js'
import { pushMetrics, pushUrl } from '../../adapters/pushgateway.js'

interface Reply { status: number, headers: Record<string, string | string[] | undefined>, body: string }

function get (url: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('serves /metrics on 127.0.0.1 with an OS-picked port', async t => {
  const metrics = createMetrics()
  metrics.inputRows.inc(42)
  const server = await startMetricsServer(metrics, { cacheMs: 0 })
  t.teardown(() => server.close())
  t.equal(server.host, '127.0.0.1', 'loopback by default')
  t.ok(server.port > 0, 'port 0 resolved to a real port')
  t.equal(server.url, `http://127.0.0.1:${server.port}/metrics`)

  const res = await get(server.url)
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(res.body, /^hashpipe_input_rows_total 42$/m)
  t.match(res.body, /^hashpipe_build_info\{/m)

  const withQuery = await get(server.url + '?x=1')
  t.equal(withQuery.status, 200, 'query string ignored')
  const head = await get(server.url, 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.body, '')
})

t.test('everything else is 404 or 405 and carries no metrics', async t => {
  const server = await startMetricsServer(createMetrics({ defaultMetrics: false }))
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${server.port}`
  for (const path of ['/', '/metrics/', '/debug/pprof', '/config', '/metricsx', '/favicon.ico']) {
    const res = await get(base + path)
    t.equal(res.status, 404, path)
    t.notMatch(res.body, /hashpipe_/, `${path} body has no metrics`)
  }
  const post = await get(server.url, 'POST')
  t.equal(post.status, 405)
  t.equal(post.headers['allow'], 'GET, HEAD')
})

t.test('the cache window serves one render to many scrapes', async t => {
  let renders = 0
  const metrics = createMetrics({ defaultMetrics: false })
  const source = { contentType: metrics.contentType, exposition: () => { renders++; return metrics.exposition() } }
  const server = await startMetricsServer(source, { cacheMs: 60_000 })
  t.teardown(() => server.close())
  await Promise.all(Array.from({ length: 8 }, () => get(server.url)))
  await get(server.url)
  t.equal(renders, 1, 'concurrent and repeated scrapes shared one render')
})

t.test('a render failure is a bare 500', async t => {
  const server = await startMetricsServer({ contentType: 'text/plain', exposition: () => Promise.reject(new Error('secret internals')) })
  t.teardown(() => server.close())
  const res = await get(server.url)
  t.equal(res.status, 500)
  t.notMatch(res.body, /secret/)
})

t.test('a taken port is a HashpipeError with a hint', async t => {
  const first = await startMetricsServer(createMetrics({ defaultMetrics: false }))
  t.teardown(() => first.close())
  await t.rejects(startMetricsServer(createMetrics({ defaultMetrics: false }), { port: first.port }), { code: 'HP_ERR_METRICS_SERVER', message: /--metrics-port/ })
})

t.test('close() releases the port even with a keep-alive client', async t => {
  const server = await startMetricsServer(createMetrics({ defaultMetrics: false }))
  await get(server.url)
  await server.close()
  await server.close()
  const again = createServer()
  await new Promise<void>((resolve, reject) => { again.once('error', reject); again.listen(server.port, '127.0.0.1', resolve) })
  t.pass('the same port binds again')
  await new Promise<void>(resolve => again.close(() => resolve()))
})

t.test('pushgateway: PUT to the grouping path with the exposition', async t => {
  const seen: Array<{ method: string, url: string, type: string, auth: string, body: string }> = []
  const gateway = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => { body += c })
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', type: String(req.headers['content-type']), auth: String(req.headers['authorization']), body })
      res.writeHead(req.url?.includes('fail') === true ? 400 : 200).end()
    })
  })
  await new Promise<void>(resolve => gateway.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => gateway.close(() => resolve())))
  const port = (gateway.address() as AddressInfo).port

  const metrics = createMetrics({ defaultMetrics: false })
  metrics.startRun('hash').end(0)
  await pushMetrics(metrics, { url: `http://u:p%40ss@127.0.0.1:${port}/`, instance: 'box-1', grouping: { command: 'hash' } })
  t.equal(seen.length, 1)
  t.equal(seen[0]!.method, 'PUT')
  t.equal(seen[0]!.url, '/metrics/job/hashpipe/instance/box-1/command/hash')
  t.equal(seen[0]!.type, metrics.contentType)
  t.equal(seen[0]!.auth, 'Basic ' + Buffer.from('u:p@ss').toString('base64'))
  t.match(seen[0]!.body, /hashpipe_runs_total\{command="hash",result="ok"\} 1/)

  const err = await pushMetrics(metrics, { url: `http://u:pw@127.0.0.1:${port}`, instance: 'fail', method: 'POST' }).then(() => undefined, (e: unknown) => e)
  t.match(err, { code: 'HP_ERR_METRICS_PUSH', message: /HTTP 400/ })
  t.notMatch((err as Error).message, /pw/, 'credentials stay out of the message')
  t.equal(seen[1]!.method, 'POST')
})

t.test('pushgateway: path encoding and URL checks', async t => {
  t.equal(pushUrl({ url: 'http://gw:9091/base/', instance: 'a/b' }).pathname, `/base/metrics/job/hashpipe/instance@base64/${Buffer.from('a/b').toString('base64url')}`)
  t.equal(pushUrl({ url: 'http://gw:9091', instance: '' }).pathname, '/metrics/job/hashpipe/instance@base64/=')
  t.throws(() => pushUrl({ url: 'ftp://gw' }), { code: 'HP_ERR_METRICS_PUSH' })
  t.throws(() => pushUrl({ url: 'not a url' }), { code: 'HP_ERR_METRICS_PUSH' })
  t.throws(() => pushUrl({ url: 'http://gw', grouping: { 'bad-name': 'x' } }), { code: 'HP_ERR_METRICS_PUSH' })
  await t.rejects(pushMetrics(createMetrics({ defaultMetrics: false }), { url: 'http://127.0.0.1:1', timeoutMs: 2000 }), { code: 'HP_ERR_METRICS_PUSH' })
})
