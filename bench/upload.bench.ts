// Uploader against the emulator at TikTok's Basic tier: 10 QPS × 1,000 rows configured on both
// sides. Target: ≥ 95% of the quota (≥ 9,500 identifiers/s) without a single 40100.
//   DURATION=30 node dist/bench/upload.bench.js
import { createHash } from 'node:crypto'
import { writeFileSync, mkdirSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { startEmulator } from '../adapters/emulator/emulator.js'
import { DEFAULT_TOKEN } from '../adapters/emulator/emulator-state.js'
import { TikTokClient } from '../adapters/tiktok/tiktok-client.js'
import { createAudience, mapping } from '../adapters/tiktok/audiences.js'

const seconds = Number(process.env['DURATION'] ?? 30)
const qps = 10
const batch = 1000
const adv = '7123456789012345678'
const em = await startEmulator({ limits: { qps, qpm: qps * 60, advertiserQps: qps } })
const latencies: number[] = []
const client = new TikTokClient({
  apiBaseUrl: em.apiBaseUrl,
  accessToken: DEFAULT_TOKEN,
  rateLimit: { qps, qpm: qps * 60 },
  observer: { onRequest: e => { if (e.endpoint === '/segment/mapping/') latencies.push(e.seconds * 1000) } }
})
const audience = await createAudience(client, adv, 'upload-bench')
await new Promise(resolve => setTimeout(resolve, 1100))
let sent = 0
let n = 0
const started = performance.now()
const deadline = started + seconds * 1000
const worker = async (): Promise<void> => {
  while (performance.now() < deadline) {
    const digests = Array.from({ length: batch }, () => createHash('sha256').update(String(n++)).digest('hex'))
    await mapping(client, adv, audience, 'add', 'EMAIL_SHA256', digests)
    sent += batch
  }
}
await Promise.all([worker(), worker(), worker(), worker()])
const elapsed = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const pct = (p: number): string => (latencies[Math.floor((latencies.length - 1) * p)] ?? 0).toFixed(1)
const rate = sent / elapsed
const table = `# Upload benchmark — ${new Date().toISOString().slice(0, 10)}

Machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, Node ${process.version}. Emulator and client both at ${qps} QPS / ${qps * 60} QPM, ${batch} rows per /segment/mapping/ request, 4 requests in flight, ${seconds} s.

| identifiers/s | share of quota (${qps * batch}/s) | requests/s | 40100 answers | latency p50 | latency p99 |
|---:|---:|---:|---:|---:|---:|
| ${Math.round(rate)} | ${(100 * rate / (qps * batch)).toFixed(1)}% | ${(latencies.length / elapsed).toFixed(2)} | ${em.stats.get('40100') ?? 0} | ${pct(0.5)} ms | ${pct(0.99)} ms |
`
process.stdout.write(table)
await client.close()
await em.close()
const results = fileURLToPath(new URL('../../bench/results/', import.meta.url))
mkdirSync(results, { recursive: true })
writeFileSync(`${results}upload.md`, table)
