// The shared limiter against a real redis-server: several limiters of one app never put more
// than qps reservations in a second together, keys are namespaced, anonymous and expire, a
// vanished limiter's reservations age out within one window, one limiter's backoff pauses the
// others, and Redis away is a coded exit-5 error naming the URL without its password.
import t from 'tap'
import { Redis } from 'ioredis'
import { RedisRateLimiter, quotaNamespace, type RedisRateLimitOptions } from '../../adapters/tiktok/redis-rate-limiter.js'
import { startRedis } from '../helpers/redis-server.js'

const kApp = '7000000000000000001'
const kBase = 'http://127.0.0.1:9/open_api/v1.3'
const kAdv = '7123456789012345678'

// Callbacks report their request as written (schedule()'s sent()), as TikTokClient does, so the
// limiter counts the very times measured here: counted from the grant instead, a callback held
// back by a stall of this test's event loop could land within a second of a later one.
function busiest (times: number[], windowMs: number): number {
  const s = [...times].sort((a, b) => a - b)
  let best = 0
  let from = 0
  for (let to = 0; to < s.length; to++) {
    while (s[from]! <= s[to]! - windowMs) from++
    best = Math.max(best, to - from + 1)
  }
  return best
}

t.test('three limiters of one app: no second holds more than qps, and they share it evenly enough to use it', async t => {
  const redis = await startRedis(t)
  const opts: RedisRateLimitOptions = { url: redis.url, appId: kApp, apiBaseUrl: kBase, quota: 'api', qps: 20, qpm: 1200 }
  const limiters = await Promise.all([1, 2, 3].map(async () => await RedisRateLimiter.connect(opts)))
  t.teardown(async () => { for (const l of limiters) await l.stop() })
  const sent: number[] = []
  const t0 = Date.now()
  await Promise.all(limiters.flatMap(l => Array.from({ length: 20 }, async (_, i) => { await l.schedule(i % 2 === 0 ? kAdv : undefined, async (wrote) => { wrote(); sent.push(Date.now()) }) })))
  const seconds = (Date.now() - t0) / 1000
  t.equal(sent.length, 60)
  t.ok(busiest(sent, 1000) <= 20, `busiest second ${busiest(sent, 1000)} ≤ 20`)
  // 60 requests at 20/s: the first 20 at once, then two more windows of about 1.04 s.
  t.ok(seconds >= 1.9 && seconds < 5, `60 requests at 20 QPS took ${seconds.toFixed(2)} s`)

  const admin = new Redis(redis.url)
  t.teardown(() => { admin.disconnect() })
  const keys = await admin.keys('*')
  t.ok(keys.length > 0 && keys.every(k => k.startsWith(`${quotaNamespace(kApp, kBase, 'api')}:`)), 'every key is in the app\'s namespace')
  t.notOk(keys.some(k => k.includes(kAdv) || k.includes(kApp)), 'no key names the app or the advertiser')
  for (const k of keys) {
    const ttl = await admin.pttl(k)
    t.ok(ttl > 0 && ttl <= 62_600, `${k} expires (PTTL ${ttl})`)
  }
  const members = await admin.zrange(keys.find(k => k.endsWith(':app'))!, '0', '-1')
  t.ok(members.every(m => /^[0-9a-f]{12}:\d+$/.test(m)), 'the log holds reservation ids only')
})

t.test('a per-advertiser limit below the app limit paces that advertiser alone', async t => {
  const redis = await startRedis(t)
  const l = await RedisRateLimiter.connect({ url: redis.url, appId: kApp, apiBaseUrl: kBase, quota: 'api', qps: 50, qpm: 3000, advertiserQps: 5 })
  t.teardown(async () => { await l.stop() })
  const adv: number[] = []
  const app: number[] = []
  await Promise.all([
    ...Array.from({ length: 10 }, async () => { await l.schedule(kAdv, async (wrote) => { wrote(); adv.push(Date.now()) }) }),
    ...Array.from({ length: 30 }, async () => { await l.schedule(undefined, async (wrote) => { wrote(); app.push(Date.now()) }) })
  ])
  t.ok(busiest(adv, 1000) <= 5, `advertiser's busiest second ${busiest(adv, 1000)} ≤ 5`)
  t.ok(Math.max(...app) - Math.min(...app) < 1500, 'requests of no advertiser are not held back by it')
})

t.test('a limiter that vanishes with the window full holds the others back for one window at most', async t => {
  const redis = await startRedis(t)
  const opts: RedisRateLimitOptions = { url: redis.url, appId: kApp, apiBaseUrl: kBase, quota: 'api', qps: 10, qpm: 600 }
  const dead = await RedisRateLimiter.connect(opts)
  const sent: number[] = []
  await Promise.all(Array.from({ length: 10 }, async () => { await dead.schedule(undefined, async (wrote) => { wrote(); sent.push(Date.now()) }) }))
  const firstDead = Math.min(...sent)
  // Killed: no cleanup; its connection just goes, its reservations stay in Redis.
  await dead.stop()
  const live = await RedisRateLimiter.connect(opts)
  t.teardown(async () => { await live.stop() })
  const mine: number[] = []
  await Promise.all(Array.from({ length: 20 }, async () => { await live.schedule(undefined, async (wrote) => { wrote(); const now = Date.now(); sent.push(now); mine.push(now) }) }))
  t.ok(busiest(sent, 1000) <= 10, `the dead one's reservations still count while in the window: busiest second ${busiest(sent, 1000)} ≤ 10`)
  const first = Math.min(...mine) - firstDead
  t.ok(first >= 1000 && first < 1800, `the first request waited for the oldest reservation to leave: ${first} ms after it (one window)`)
  const last = Math.max(...mine) - firstDead
  t.ok(last < 4500, `then the whole quota: 20 more by ${last} ms, two windows later`)
})

t.test('a rate-limit answer seen by one limiter pauses the others; a later success ends the pause', async t => {
  const redis = await startRedis(t)
  const opts: RedisRateLimitOptions = { url: redis.url, appId: kApp, apiBaseUrl: kBase, quota: 'api', qps: 100, qpm: 6000, backoffBaseMs: 800, backoffCapMs: 5000 }
  const a = await RedisRateLimiter.connect(opts)
  const b = await RedisRateLimiter.connect(opts)
  t.teardown(async () => { await a.stop(); await b.stop() })
  let sentAt = 0
  await a.schedule(undefined, async () => { sentAt = Date.now() })
  a.backoff('app', undefined, sentAt)
  // The same news again (sent before the strike): the pause is not extended.
  a.backoff('app', undefined, sentAt)
  const t0 = Date.now()
  await a.schedule(undefined, async () => {})
  const waitedA = Date.now() - t0
  const t1 = Date.now()
  await b.schedule(undefined, async () => {})
  const waitedB = Date.now() - t1 + (t1 - t0)
  t.ok(waitedA >= 350 && waitedA < 1500, `the limiter that was refused paused ${waitedA} ms`)
  t.ok(waitedB >= 350, `the other one too: its request left ${waitedB} ms after the strike`)
  const admin = new Redis(redis.url)
  t.teardown(() => { admin.disconnect() })
  const pauseKey = `${quotaNamespace(kApp, kBase, 'api')}:app:pause`
  t.equal(await admin.hget(pauseKey, 'strikes'), '1', 'one strike for two answers to one burst')
  let okAt = 0
  await b.schedule(undefined, async () => { okAt = Date.now() })
  b.recovered(undefined, okAt)
  await b.schedule(undefined, async () => {})
  t.equal(await admin.exists(pauseKey), 0, 'a success sent after the strike cleared it')
})

t.test('Redis away: at start and mid-run a coded exit-5 error naming the URL without its password', async t => {
  const redis = await startRedis(t)
  const opts: RedisRateLimitOptions = { url: redis.url, appId: kApp, apiBaseUrl: kBase, quota: 'api', qps: 100, qpm: 6000, unavailableAfterMs: 500 }
  const l = await RedisRateLimiter.connect(opts)
  t.teardown(async () => { await l.stop() })
  await l.schedule(undefined, async () => {})
  await redis.stop()
  let ran = false
  const err = await l.schedule(undefined, async () => { ran = true }).catch((e: unknown) => e) as { code?: string, exitCode?: number, message?: string }
  t.equal(err.code, 'HP_ERR_RATE_LIMIT_UNAVAILABLE')
  t.equal(err.exitCode, 5)
  t.match(err.message, `tiktok.rate_limit.redis_url: ${redis.url}`)
  t.notOk(ran, 'nothing is sent without a reservation')
  const withPassword = redis.url.replace('redis://', 'redis://:s3cret-pw@')
  const atStart = await RedisRateLimiter.connect({ ...opts, url: withPassword }).catch((e: unknown) => e) as { code?: string, exitCode?: number, message?: string }
  t.equal(atStart.code, 'HP_ERR_RATE_LIMIT_UNAVAILABLE')
  t.equal(atStart.exitCode, 5)
  t.notMatch(atStart.message, 's3cret-pw')
  t.match(atStart.message, `127.0.0.1:${redis.port}`)
})
