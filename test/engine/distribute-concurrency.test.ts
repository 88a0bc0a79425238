// Distributions side by side in one process (--concurrency), under the one app limiter: many
// small distributions use the quota as fully as one big one with no 40100, and one failing
// leaves the others delivered, with the exit code of the most severe outcome.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startRedis } from '../helpers/redis-server.js'
import { quotaWorld, memberDigests, type QuotaWorld } from '../helpers/quota-world.js'

const kQps = 20

/** Requests the emulator accepted per second while they flowed: from the first to the last accepted. */
async function deliveryRate (w: QuotaWorld, run: () => Promise<{ code: number | null, stderr: string }>): Promise<{ rate: number, code: number | null, stderr: string }> {
  const changes: Array<[number, number]> = []
  let last = w.em.rateStats.accepted
  const poll = setInterval(() => {
    const now = w.em.rateStats.accepted
    if (now !== last) { changes.push([Date.now(), now]); last = now }
  }, 20)
  const r = await run()
  clearInterval(poll)
  const [t0, a0] = changes[0]!
  const [t1, a1] = changes[changes.length - 1]!
  return { rate: (a1 - a0) / ((t1 - t0) / 1000), ...r }
}

// Batches of 100: each distribution is 50 requests (2.5 s of the quota), longer than its hash
// pass, so hashing one at a time keeps ahead of delivery as it would with real segment sizes.
t.test('8 distributions of 5,000 identifiers use the app quota as fully as one of 40,000', async t => {
  const small = await quotaWorld({ qps: kQps, qpm: kQps * 60, pipelines: 1, segments: 8, rows: 5000, batchSize: 100, teardown: t.teardown.bind(t) })
  const big = await quotaWorld({ qps: kQps, qpm: kQps * 60, pipelines: 1, segments: 1, rows: 40_000, batchSize: 100, teardown: t.teardown.bind(t) })
  const s = await deliveryRate(small, async () => await small.pipelines[0]!.start(['--concurrency', '4']).done)
  const b = await deliveryRate(big, async () => await big.pipelines[0]!.start().done)
  t.equal(s.code, 0, s.stderr)
  t.equal(b.code, 0, b.stderr)
  t.ok(s.rate >= 0.85 * b.rate, `8 small: ${s.rate.toFixed(1)}/s, one big: ${b.rate.toFixed(1)}/s`)
  t.ok(s.rate >= 0.75 * kQps, `8 small use ${(100 * s.rate / kQps).toFixed(0)} % of ${kQps} QPS`)
  // The emulator shares this test's event loop with the children's output: one GC or I/O pause there
  // can misdate one arrival by more than the limiter's 30 ms margin. A pacing bug gives dozens.
  t.ok(small.em.rateStats.refusedApp <= 1, `one limiter for the app with 4 distributions at once: ${small.em.rateStats.refusedApp} 40100 (at most one)`)
  t.ok(small.em.rateStats.busiestSecond <= kQps, `busiest second ${small.em.rateStats.busiestSecond} ≤ ${kQps}`)
  t.ok(small.pipelines[0]!.exact(), 'all 8 audiences exact')
})

t.test('3 distributions at once under the shared Redis limiter, the middle one failing: the others delivered, exit 3', async t => {
  const redis = await startRedis(t)
  const w = await quotaWorld({ qps: kQps, qpm: kQps * 60, pipelines: 1, segments: 3, rows: 3000, batchSize: 100, redisUrl: redis.url, teardown: t.teardown.bind(t) })
  const p = w.pipelines[0]!
  // Nothing but rejects: HP_ERR_NO_IDENTIFIERS (exit 3), decided after its hash pass.
  writeFileSync(join(p.dir, 'team0-seg1.csv'), 'email\nnot-an-email\nalso not one\n')
  const r = await p.start(['--concurrency', '3']).done
  t.equal(r.code, 3, r.stderr)
  t.match(r.stderr, 'HP_ERR_NO_IDENTIFIERS: team0-seg1 → Acme')
  t.match(r.stdout, /team0-seg0 → Acme[\s\S]*team0-seg1 → Acme[\s\S]*FAILED HP_ERR_NO_IDENTIFIERS[\s\S]*team0-seg2 → Acme/, 'results in the config\'s order')
  for (const name of ['team0-seg0', 'team0-seg2']) {
    const a = w.em.state.snapshot().find(x => x.name === name)
    const want = memberDigests(name, 3000)
    t.ok(a !== undefined && a.members['EMAIL_SHA256']?.length === want.size && a.members['EMAIL_SHA256'].every(d => want.has(d)), `${name}: exact`)
  }
  t.notOk(w.em.state.snapshot().some(x => x.name === 'team0-seg1'), 'the failed one created nothing')
  t.ok(w.em.rateStats.refusedApp <= 1, `${w.em.rateStats.refusedApp} 40100 (at most one, as above)`)
})
