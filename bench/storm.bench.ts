// Rate-limit storm: the client configured at TikTok's Basic tier (10 QPS / 600 QPM) against an
// emulator that allows only 3 QPS (app) or 2 QPS per advertiser, 4 mapping requests in flight
// as `distribute` sends them, with the fixed limiter (before) and the adaptive rate (after).
// Target for the adaptive rate: ≥ 80% of the emulator's capacity used, < 10% of requests refused.
//   BATCHES=60 node dist/bench/storm.bench.js
import { createHash } from 'node:crypto'
import { writeFileSync, mkdirSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { startEmulator, type EmulatorLimits } from '../adapters/emulator/emulator.js'
import { DEFAULT_TOKEN } from '../adapters/emulator/emulator-state.js'
import { TikTokClient } from '../adapters/tiktok/tiktok-client.js'
import { createAudience, mapping } from '../adapters/tiktok/audiences.js'

const batches = Number(process.env['BATCHES'] ?? 60)
const rows = 100
const adv = '7123456789012345678'

interface Row { scenario: string, mode: string, seconds: number, accepted: number, received: number, refused: number, allowed: number, busiest: number }

async function run (scenario: string, limits: EmulatorLimits, adaptive: boolean): Promise<Row> {
  const em = await startEmulator({ limits })
  const client = new TikTokClient({ apiBaseUrl: em.apiBaseUrl, accessToken: DEFAULT_TOKEN, rateLimit: { qps: 10, qpm: 600, adaptive } })
  const audience = await createAudience(client, adv, `storm-${scenario}`)
  await new Promise(resolve => setTimeout(resolve, 1100))
  const before = { ...em.rateStats }
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < batches) {
      const i = next++
      await mapping(client, adv, audience, 'add', 'EMAIL_SHA256', Array.from({ length: rows }, (_, j) => createHash('sha256').update(`${i}-${j}`).digest('hex')))
    }
  }))
  const seconds = (performance.now() - t0) / 1000
  const s = em.rateStats
  const row: Row = {
    scenario,
    mode: adaptive ? 'adaptive (after)' : 'fixed (before)',
    seconds,
    accepted: s.accepted - before.accepted,
    received: s.received - before.received,
    refused: s.refusedApp + s.refusedAdvertiser - before.refusedApp - before.refusedAdvertiser,
    allowed: Math.min(limits.qps, limits.advertiserQps),
    busiest: s.busiestAdvertiserSecond
  }
  await client.close()
  await em.close()
  process.stderr.write(`${scenario}, ${row.mode}: ${row.accepted} accepted in ${seconds.toFixed(1)} s, ${row.refused} of ${row.received} refused\n`)
  return row
}

const scenarios: Array<[string, EmulatorLimits]> = [
  ['app limit 3 QPS', { qps: 3, qpm: 180, advertiserQps: 3 }],
  ['advertiser limit 2 QPS', { qps: 10, qpm: 600, advertiserQps: 2 }]
]
const results: Row[] = []
for (const [name, limits] of scenarios) {
  results.push(await run(name, limits, false))
  results.push(await run(name, limits, true))
}
const table = `# Rate-limit storm benchmark — ${new Date().toISOString().slice(0, 10)}

Machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, Node ${process.version}. Client configured at 10 QPS / 600 QPM; the emulator allows less (sliding one-second windows, refusals answered 40100 for the app, 40133 for an advertiser). ${batches} /segment/mapping/ requests of ${rows} rows, 4 in flight, one advertiser. Capacity used = accepted / (allowed QPS × seconds).

| emulator | client limiter | seconds | accepted req/s | capacity used | requests refused | busiest second |
|---|---|---:|---:|---:|---:|---:|
${results.map(r => `| ${r.scenario} | ${r.mode} | ${r.seconds.toFixed(1)} | ${(r.accepted / r.seconds).toFixed(2)} | ${(100 * r.accepted / (r.allowed * r.seconds)).toFixed(0)}% | ${r.refused} of ${r.received} (${(100 * r.refused / r.received).toFixed(0)}%) | ${r.busiest} |`).join('\n')}
`
process.stdout.write(table)
const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
mkdirSync(dir, { recursive: true })
writeFileSync(`${dir}storm.md`, table)
