// `conversions send` against the emulator at a configured Events API quota: QPS requests/s of
// 1,000 events each, on both sides. Target: ≥ 95% of the quota in events/s with zero 40100
// answers. The hashing share is the dry run's time (read, normalize, hash, build; no request)
// over the real run's. The emulator runs in a child process, as TikTok is elsewhere: its request
// handling does not share the sender's event loop.
//   EVENTS=1000000 QPS=20 node dist/bench/conversions.bench.js
//   env: EVENTS (default 1,000,000), QPS (requests/s of 1,000 events, both sides; default 20),
//        INFLIGHT (conversions[].inflight; default the config's, 4),
//        OUT (results file under bench/results/, default conversions-DATE.md)
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, openSync, writeSync, closeSync } from 'node:fs'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { startEmulator } from '../adapters/emulator/emulator.js'
import { DEFAULT_TOKEN } from '../adapters/emulator/emulator-state.js'
import { TikTokClient } from '../adapters/tiktok/tiktok-client.js'
import { trackEvents } from '../adapters/tiktok/events.js'
import { parseConfig } from '../engine/config.js'
import { StateStore } from '../engine/state/state-store.js'
import { sendConversions } from '../engine/conversions/send-conversions.js'

const events = Number(process.env['EVENTS'] ?? 1_000_000)
const qps = Number(process.env['QPS'] ?? 20)
const inflight = process.env['INFLIGHT']
if (process.env['HP_BENCH_EMULATOR_CHILD'] === '1') {
  const em = await startEmulator({ eventLimits: { qps, qpm: qps * 60 } })
  process.on('message', (m: unknown) => {
    if (m !== 'stats') return
    process.send!({ stats: Object.fromEntries(em.stats), busiest: em.rateStats.busiestEventSecond, rss: process.memoryUsage().rss }, () => { void em.close().then(() => process.exit(0)) })
  })
  process.send!({ apiBaseUrl: em.apiBaseUrl })
  await new Promise(() => {})
}
const loads: number[] = [loadavg()[0]!]
const sampleLoad = setInterval(() => loads.push(loadavg()[0]!), 5000)
const dir = mkdtempSync(join(tmpdir(), 'hp-conv-bench-'))
try {
  const input = join(dir, 'sales.csv')
  const fd = openSync(input, 'w')
  const now = Math.floor(Date.now() / 1000)
  writeSync(fd, 'Email,Phone,SoldAt,Amount,Currency,OrderId\n')
  for (let i = 0; i < events; i += 10_000) {
    const rows: string[] = []
    for (let j = i; j < Math.min(events, i + 10_000); j++) rows.push(`Buyer.${j}@Example.com,+1 213 373 ${String(j % 10_000).padStart(4, '0')},${now - (j % 86_400)},${(j % 500) + 0.99},USD,ord-${j}`)
    writeSync(fd, rows.join('\n') + '\n')
  }
  closeSync(fd)

  const child = fork(fileURLToPath(import.meta.url), { env: { ...process.env, HP_BENCH_EMULATOR_CHILD: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [{ apiBaseUrl }] = await once(child, 'message') as [{ apiBaseUrl: string }]
  const em = { apiBaseUrl }
  const config = parseConfig(`state_dir: ${join(dir, 'state')}
tiktok: { api_base_url: "${em.apiBaseUrl}", app_id: "1", secret: s, events_rate_limit: { qps: ${qps}, qpm: ${qps * 60} } }
conversions:
  - { name: bench, event_source_id: "7000000000000000800", connection: acme, inputs: [${input}], columns: { email: Email, phone: Phone, event_time: SoldAt, value: Amount, currency: Currency, order_id: OrderId }, event: Purchase${inflight === undefined ? '' : `, inflight: ${Number(inflight)}`} }
`, { env: {} })
  const entry = config.conversions[0]!
  const client = new TikTokClient({ apiBaseUrl: em.apiBaseUrl, accessToken: DEFAULT_TOKEN, rateLimit: config.tiktok.eventsRateLimit })
  const api = { track: async (id: string, list: Parameters<typeof trackEvents>[2]) => await trackEvents(client, id, list) }

  const dry = await sendConversions(config, undefined, undefined, entry, { dryRun: true, restart: false, stdin: new PassThrough() })
  const state = StateStore.open(config.stateDir)
  // Let the limiter's first second pass so the run starts at a window edge, as the upload bench does.
  await new Promise(resolve => setTimeout(resolve, 1100))
  const real = await sendConversions(config, state, api, entry, { dryRun: false, restart: false, stdin: new PassThrough() })
  state.close()
  await client.close()
  clearInterval(sampleLoad)
  child.send('stats')
  const [{ stats, busiest }] = await once(child, 'message') as [{ stats: Record<string, number>, busiest: number }]
  await once(child, 'exit')
  const rate = real.sent / real.seconds
  const quota = qps * 1000
  const table = `# Offline conversions benchmark — ${new Date().toISOString().slice(0, 10)}

Machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, Node ${process.version}; 1-minute load average during the run ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} (mean ${(loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(2)}). ${events.toLocaleString('en-US')} events (email + phone each), emulator (its own process) and client both at ${qps} QPS / ${qps * 60} QPM on /event/track/, 1,000 events per request, ${entry.inflight} request(s) in flight. \`EVENTS=${events} QPS=${qps}${inflight === undefined ? '' : ` INFLIGHT=${entry.inflight}`} node dist/bench/conversions.bench.js\`.

| events/s | share of quota (${quota.toLocaleString('en-US')}/s) | requests | 40100 answers | busiest 1-s window (qps ${qps}) | seconds | hashing share (dry run ${dry.seconds.toFixed(1)} s) |
|---:|---:|---:|---:|---:|---:|---:|
| ${Math.round(rate)} | ${(100 * rate / quota).toFixed(1)}% | ${real.requests} | ${stats['40100'] ?? 0} | ${busiest} | ${real.seconds.toFixed(1)} | ${(100 * dry.seconds / real.seconds).toFixed(1)}% |
`
  process.stdout.write(table)
  const results = fileURLToPath(new URL('../../bench/results/', import.meta.url))
  mkdirSync(results, { recursive: true })
  writeFileSync(`${results}${process.env['OUT'] ?? `conversions-${new Date().toISOString().slice(0, 10)}.md`}`, table)
} finally {
  clearInterval(sampleLoad)
  rmSync(dir, { recursive: true, force: true })
}
