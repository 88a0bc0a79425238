// Several hashpipe processes sharing one app's quota through Redis: a process killed mid-run
// leaves nothing that slows the others beyond one window (reservations are timestamps that age
// out), and a storm of 40100 seen by one process pauses the others too.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { startRedis } from '../helpers/redis-server.js'
import { quotaWorld } from '../helpers/quota-world.js'

const kQps = 10

t.test('a process killed mid-run: the others have the whole quota again within one window', async t => {
  const redis = await startRedis(t)
  const w = await quotaWorld({ qps: kQps, qpm: kQps * 60, pipelines: 3, rows: 3000, batchSize: 100, redisUrl: redis.url, teardown: t.teardown.bind(t) })
  const [victim, ...others] = w.pipelines
  const runs = others.map(p => p.start())
  const killed = victim!.start()
  // Until the victim is busy sending (its requests in flight, the window full).
  while (w.em.rateStats.accepted < 15) await sleep(50)
  killed.child.kill('SIGKILL')
  const diedAt = Date.now()
  await killed.done
  await sleep(1100)
  const from = w.em.rateStats.accepted
  const t0 = Date.now()
  await sleep(2000)
  const rate = (w.em.rateStats.accepted - from) / ((Date.now() - t0) / 1000)
  t.ok(rate >= 0.85 * kQps, `${Math.round(Date.now() - diedAt)} ms after the kill the others send ${rate.toFixed(1)}/s of ${kQps}`)
  for (const r of await Promise.all(runs.map(async r => await r.done))) t.equal(r.code, 0, r.stderr)
  // The emulator shares this test's event loop with the children's output: one GC or I/O pause there
  // can misdate one arrival by more than the limiter's 30 ms margin. A pacing bug gives dozens.
  t.ok(w.em.rateStats.refusedApp <= 1, `${w.em.rateStats.refusedApp} 40100 (at most one, see above)`)
  t.ok(w.em.rateStats.busiestSecond <= kQps, `busiest second ${w.em.rateStats.busiestSecond} ≤ ${kQps}`)
  for (const p of others) t.ok(p.exact(), `${p.name}: exact`)
})

t.test('a storm (every request 40100 for 2 s): one process\'s refusal pauses both, and both finish exact', async t => {
  const redis = await startRedis(t)
  const emStart = Date.now()
  const w = await quotaWorld({ qps: kQps, qpm: kQps * 60, pipelines: 2, rows: 2500, batchSize: 100, redisUrl: redis.url, teardown: t.teardown.bind(t) })
  const runs = w.pipelines.map(p => p.start())
  while (w.em.rateStats.accepted < 10) await sleep(20)
  // The emulator counts the storm from its start; emStart is just before it.
  w.em.faults.storm = { startMs: Date.now() - emStart, durationMs: 2000 }
  const results = await Promise.all(runs.map(async r => await r.done))
  for (const r of results) t.equal(r.code, 0, r.stderr)
  // Unpaced, two processes would send some 20 requests into a 2-s storm at 10/s; a pause shared
  // from the first refusal (about 0.5–1 s, then doubling) lets through the ones already in
  // flight and a probe or two per pause.
  const refused = w.em.rateStats.refusedApp
  t.ok(refused >= 1 && refused <= 12, `${refused} requests refused during the storm`)
  for (const p of w.pipelines) t.ok(p.exact(), `${p.name}: exact`)
})
