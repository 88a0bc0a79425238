// The limiters count a request from its write (schedule()'s sent()), not from its grant: a
// request held up between the two (a GC pause, a commit on the event loop) moves its place in
// the window, so the qps + 1-th request waits a whole window (and the margin) after that write.
// The local limiter and the shared one in Redis, against a real redis-server.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { RateLimiter, type Limiter } from '../../adapters/tiktok/rate-limiter.js'
import { RedisRateLimiter } from '../../adapters/tiktok/redis-rate-limiter.js'
import { startRedis } from '../helpers/redis-server.js'

const kQps = 4
const kMargin = 30
const kHeldMs = 900

/** kQps + 1 requests, the first written kHeldMs after its grant; returns grants and writes. */
async function run (l: Limiter): Promise<{ grants: number[], writes: number[] }> {
  const grants: number[] = []
  const writes: number[] = []
  await Promise.all(Array.from({ length: kQps + 1 }, async (_, i) => {
    await l.schedule(undefined, async sent => {
      grants[i] = Date.now()
      if (i === 0) await sleep(kHeldMs)
      writes[i] = Date.now()
      sent()
    })
  }))
  return { grants, writes }
}

for (const kind of ['local', 'redis'] as const) {
  t.test(`${kind}: a write held ${kHeldMs} ms after its grant holds the window from the write`, async t => {
    let l: Limiter
    if (kind === 'local') l = new RateLimiter({ qps: kQps, qpm: kQps * 60, marginMs: kMargin })
    else {
      const redis = await startRedis(t)
      l = await RedisRateLimiter.connect({ url: redis.url, appId: '7000000000000000001', apiBaseUrl: 'http://127.0.0.1:9/open_api/v1.3', quota: 'api', qps: kQps, qpm: kQps * 60, marginMs: kMargin })
    }
    t.teardown(async () => { await l.stop() })
    const { grants, writes } = await run(l)
    // Held, the first write lands after the next three: a log of grants would let the fifth go
    // one window after the first grant, some 780 ms after the second write write, five writes in one
    // second. Counted from the writes, the fifth waits a window and the margin after the second.
    const sorted = [...writes].sort((a, b) => a - b)
    t.equal(sorted[kQps - 1], writes[0], 'the held write is the fourth to land')
    t.ok(sorted[kQps]! - sorted[0]! >= 1000 + kMargin - 2, `the ${kQps + 1} writes span ${sorted[kQps]! - sorted[0]!} ms (≥ ${1000 + kMargin}): no second holds more than ${kQps}`)
    t.ok(grants[kQps]! - grants[0]! >= 1000 + kMargin + 240, `the fifth grant came ${grants[kQps]! - grants[0]!} ms after the first, a window after the second`)
  })
}
