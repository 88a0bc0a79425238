// Four hashpipe processes, one TikTok app at Basic-tier limits (10 QPS / 600 QPM at the
// emulator and in every config), each delivering its own segment: first each pacing itself
// (today's embedded limiter), then sharing the quota through one Redis
// (tiktok.rate_limit.redis_url). Target for the shared limiter: the four together use ≥ 95% of
// the quota, with zero 40100. Needs /usr/bin/redis-server (test/install-deps.sh installs it).
//   npm run build && node dist/bench/shared-quota.bench.js        (ROWS=300000 PROCESSES=4)
import { writeFileSync, mkdirSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { quotaWorld, type QuotaWorld } from '../test/helpers/quota-world.js'
import { startRedis } from '../test/helpers/redis-server.js'

const rows = Number(process.env['ROWS'] ?? 300_000)
const processes = Number(process.env['PROCESSES'] ?? 4)
const qps = 10
const qpm = 600
/** What the app may send per second on average: the tighter of the two windows. */
const quota = Math.min(qps, qpm / 60)

interface Row { mode: string, seconds: number, span: number, accepted: number, refused: number, busiest: number, rate: number, share: number, exits: string, exact: boolean }

async function measure (mode: string, redisUrl: string | undefined, teardowns: Array<() => Promise<void>>): Promise<Row> {
  const w: QuotaWorld = await quotaWorld({ qps, qpm, pipelines: processes, rows, batchSize: 1000, ...(redisUrl !== undefined ? { redisUrl } : {}), teardown: fn => { teardowns.push(fn) } })
  const changes: Array<[number, number]> = []
  let last = 0
  const poll = setInterval(() => {
    const a = w.em.rateStats.accepted
    if (a !== last) { changes.push([Date.now(), a]); last = a }
  }, 20)
  const t0 = Date.now()
  const results = await Promise.all(w.pipelines.map(async p => await p.start().done))
  const seconds = (Date.now() - t0) / 1000
  clearInterval(poll)
  const [f0, a0] = changes[0] ?? [t0, 0]
  const [f1, a1] = changes[changes.length - 1] ?? [t0, 0]
  const span = (f1 - f0) / 1000
  const rate = span > 0 ? (a1 - a0) / span : 0
  const s = w.em.rateStats
  return { mode, seconds, span, accepted: s.accepted, refused: s.refusedApp, busiest: s.busiestSecond, rate, share: rate / quota, exits: results.map(r => String(r.code)).join(','), exact: w.pipelines.every(p => p.exact()) }
}

const teardowns: Array<() => Promise<void>> = []
try {
  const alone = await measure('each process alone (no redis_url)', undefined, teardowns)
  console.log(alone)
  const redis = await startRedis({ teardown: fn => { teardowns.push(fn) } })
  const shared = await measure('shared limiter (redis_url)', redis.url, teardowns)
  console.log(shared)
  const table = [
    '| mode | wall s | delivery s | accepted | 40100 | busiest 1-s window | aggregate req/s | of quota | exits | audiences exact |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
    ...[alone, shared].map(r => `| ${r.mode} | ${r.seconds.toFixed(1)} | ${r.span.toFixed(1)} | ${r.accepted} | ${r.refused} | ${r.busiest} (qps ${qps}; overshoot ${(r.busiest / qps).toFixed(1)}×) | ${r.rate.toFixed(2)} | ${(100 * r.share).toFixed(1)} % | ${r.exits} | ${r.exact ? 'yes' : 'no'} |`)
  ]
  const text = `# Shared quota: ${processes} processes, one TikTok app at Basic tier\n\n` +
    `${processes} hashpipe processes (\`distribute\`, each its own state dir and a ${rows.toLocaleString('en-US')}-identifier segment, batch 1,000) against the emulator at ${qps} QPS / ${qpm} QPM ` +
    `(the app's quota: ${quota} requests/s), every config at the same limits. "Delivery s" runs from the first accepted request to the last; "of quota" is the accepted rate over it.\n\n` +
    `${table.join('\n')}\n\n` +
    `Machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}. Run: \`node dist/bench/shared-quota.bench.js\`.\n`
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}shared-quota.md`, text)
  console.log(text)
} finally {
  for (const fn of teardowns.reverse()) await fn().catch(() => {})
}
