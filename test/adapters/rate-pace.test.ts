// The pace of both limiters runs from each request's due time, not from its grant: a timer that
// fires late because the event loop was busy (a GC, a block of input being hashed) is made up
// by the next interval. Counted from the grants, every late timer would be added to every
// interval, and the quota never filled. The local limiter and the shared one in Redis, against
// a real redis-server.
import t from 'tap'
import { RateLimiter, type Limiter } from '../../adapters/tiktok/rate-limiter.js'
import { RedisRateLimiter } from '../../adapters/tiktok/redis-rate-limiter.js'
import { startRedis } from '../helpers/redis-server.js'

const kQps = 10 // 1,000 + 30 ms margin over 10: a request every 103 ms
const kSpacing = 103
const kRequests = 9 // all paced, none held by the 1-s window (at most 10 in 1.03 s)
const kBusyAt = 90 // after each grant, the event loop is busy from +90 ms …
const kBusyMs = 40 // … to +130 ms: the next timer (due at +103) fires 27 ms late

function busy (ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) { /* the event loop is held, as by a synchronous block of work */ }
}

async function grants (l: Limiter): Promise<number[]> {
  const at: number[] = []
  await Promise.all(Array.from({ length: kRequests }, async (_, i) => {
    await l.schedule(undefined, async sent => {
      at[i] = Date.now()
      sent()
      setTimeout(() => busy(kBusyMs), kBusyAt)
    })
  }))
  return at
}

for (const kind of ['local', 'redis'] as const) {
  t.test(`${kind}: timers made late by a busy event loop do not slow the pace`, async t => {
    let l: Limiter
    if (kind === 'local') l = new RateLimiter({ qps: kQps, qpm: kQps * 60 })
    else {
      const redis = await startRedis(t)
      l = await RedisRateLimiter.connect({ url: redis.url, appId: '7000000000000000001', apiBaseUrl: 'http://127.0.0.1:9/open_api/v1.3', quota: 'api', qps: kQps, qpm: kQps * 60 })
    }
    t.teardown(async () => { await l.stop() })
    const at = await grants(l)
    const span = at[kRequests - 1]! - at[0]!
    const paced = (kRequests - 1) * kSpacing
    // Counted from the grants, every interval is the busy spell's end, 130 ms: ~1,060 ms for the
    // 8 (measured with the old pace). Made up, the late grant's successor leaves on time and the
    // span is the pace (~825 ms measured). The bound lies between, 120 ms from each.
    t.ok(span < paced + 120, `${kRequests} grants span ${span} ms: the pace is ${paced} ms, and a timer ${kBusyAt + kBusyMs - kSpacing} ms late each interval is made up, not added`)
    // Never ahead of the pace: the k-th grant no earlier than k spacings after the first.
    const early = at.map((a, k) => a - at[0]! - k * kSpacing).filter(d => d < -2)
    t.same(early, [], 'no grant ahead of its due time')
  })
}
