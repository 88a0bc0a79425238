// Several hashpipe processes, one TikTok app, one Redis (tiktok.rate_limit.redis_url): against
// the emulator at the app's quota, two and four processes together get no 40100 and no sliding
// second carries more than qps. (Killed processes and storms: shared-quota-kill.test.ts.)
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { quotaWorld } from '../helpers/quota-world.js'

const kQps = 10

for (const n of [2, 4]) {
  t.test(`${n} processes at the quota with the shared limiter: zero 40100, the busiest second ≤ qps, every audience exact`, async t => {
    const redis = await startRedis(t)
    const w = await quotaWorld({ qps: kQps, qpm: kQps * 60, pipelines: n, rows: 1500, batchSize: 100, redisUrl: redis.url, teardown: t.teardown.bind(t) })
    const runs = w.pipelines.map(p => p.start())
    const results = await Promise.all(runs.map(async r => await r.done))
    for (const r of results) t.equal(r.code, 0, r.stderr)
    t.equal(w.em.rateStats.refusedApp, 0, 'no 40100')
    t.ok(w.em.rateStats.busiestSecond <= kQps, `busiest second ${w.em.rateStats.busiestSecond} ≤ ${kQps}`)
    t.ok(w.em.rateStats.accepted >= n * 15, `${w.em.rateStats.accepted} requests accepted`)
    for (const p of w.pipelines) t.ok(p.exact(), `${p.name}: the audience holds exactly its identifiers`)
  })
}
