// Rate-limit storms against the emulator over loopback: a client configured at 10 QPS talking
// to a TikTok that allows 3 (app) or 2 per advertiser learns the lower rate instead of probing
// at 10. It must use ≥ 80% of what the emulator allows and have < 10% of its requests refused,
// and every batch is delivered. Both scenarios run at once to keep the file short.
import t from 'tap'
import { createHash } from 'node:crypto'
import { TikTokClient } from '../../adapters/tiktok/tiktok-client.js'
import { RateLimiter } from '../../adapters/tiktok/rate-limiter.js'
import { createAudience, mapping } from '../../adapters/tiktok/audiences.js'
import { startEmulator, type Emulator, type EmulatorLimits } from '../../adapters/emulator/emulator.js'
import { DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'

const kAdv = '7123456789012345678'
const hex = (s: string): string => createHash('sha256').update(s).digest('hex')

interface Run { em: Emulator, client: TikTokClient, seconds: number, accepted: number, refused: number, received: number, members: number }

/** `batches` mapping requests of 10 rows, 4 in flight (as `distribute` sends them), client at 10 QPS. */
async function storm (t: { teardown: (fn: () => Promise<void>) => void }, limits: EmulatorLimits, batches: number, tag: string): Promise<Run> {
  const em = await startEmulator({ limits })
  const client = new TikTokClient({ apiBaseUrl: em.apiBaseUrl, accessToken: DEFAULT_TOKEN, rateLimit: { qps: 10, qpm: 600 }, retryBudgetMs: 30_000, timeoutMs: 5000 })
  t.teardown(async () => { await client.close(); await em.close() })
  const audience = await createAudience(client, kAdv, tag)
  // Let the creation fall out of the emulator's one-second window before measuring.
  await new Promise(resolve => setTimeout(resolve, 1100))
  const before = { ...em.rateStats }
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < batches) {
      const i = next++
      await mapping(client, kAdv, audience, 'add', 'EMAIL_SHA256', Array.from({ length: 10 }, (_, j) => hex(`${tag}-${i}-${j}`)))
    }
  }))
  const seconds = (performance.now() - t0) / 1000
  const s = em.rateStats
  return {
    em,
    client,
    seconds,
    accepted: s.accepted - before.accepted,
    refused: s.refusedApp + s.refusedAdvertiser - before.refusedApp - before.refusedAdvertiser,
    received: s.received - before.received,
    members: em.state.snapshot()[0]!.members['EMAIL_SHA256']!.length
  }
}

t.test('a 10 QPS client converges to a 3 QPS app limit and a 2 QPS advertiser limit', async t => {
  const [app, adv] = await Promise.all([
    storm(t, { qps: 3, qpm: 180, advertiserQps: 3 }, 48, 'app'),
    storm(t, { qps: 10, qpm: 600, advertiserQps: 2 }, 30, 'adv')
  ])
  for (const [name, r, allowed, batches] of [['app limit 3 QPS', app, 3, 48], ['advertiser limit 2 QPS', adv, 2, 30]] as const) {
    const used = r.accepted / (allowed * r.seconds)
    const refusedShare = r.refused / r.received
    t.equal(r.members, batches * 10, `${name}: every batch delivered`)
    t.equal(r.accepted, batches, `${name}: each batch accepted once`)
    t.ok(used >= 0.8, `${name}: ${(100 * used).toFixed(0)}% of the allowed rate used (${r.accepted} in ${r.seconds.toFixed(1)} s)`)
    t.ok(refusedShare < 0.1, `${name}: ${r.refused} of ${r.received} requests refused`)
    t.ok(r.em.rateStats.busiestSecond <= r.em.limits.qps, 'the emulator enforced its app limit')
    t.ok(r.em.rateStats.busiestAdvertiserSecond <= r.em.limits.advertiserQps, 'the emulator enforced its advertiser limit')
  }
  // Near the limit, give or take a probe in progress.
  t.ok(app.client.currentRate() < 4, `the app rate came down from 10 (${app.client.currentRate().toFixed(2)})`)
  t.ok(adv.client.currentRate(kAdv) < 3.5, `the advertiser rate came down from 10 (${adv.client.currentRate(kAdv).toFixed(2)})`)
  t.equal(adv.client.currentRate(), 10, 'a 40133 lowers the advertiser\'s rate, not the app\'s')
  t.equal(adv.em.rateStats.refusedApp, 0, 'no app-level refusals in the advertiser scenario')
})

t.test('strikes and recoveries count only requests sent after the last strike', async t => {
  const limiter = new RateLimiter({ qps: 100, qpm: 6000, backoffBaseMs: 5000, backoffCapMs: 60_000 })
  t.teardown(async () => await limiter.stop())
  const sent = Date.now() - 10
  limiter.recovered(undefined, sent)
  const first = limiter.backoff('app', undefined, sent)
  t.ok(first > 900 && first <= 1002, `first strike: wait until the refusing window has room, a second after the last success (${first} ms)`)
  t.ok(limiter.currentRate() < 100, `and the rate went down (${limiter.currentRate()})`)
  const inFlight = limiter.backoff('app', undefined, sent)
  t.ok(inFlight <= first, `a refusal of a request sent before the strike does not extend the pause (${inFlight} ms)`)
  limiter.recovered(undefined, sent)
  const t0 = Date.now()
  await limiter.schedule(undefined, async () => {})
  t.ok(Date.now() - t0 >= first - 60, `nor does its success cancel the pause (waited ${Date.now() - t0} ms)`)
  const second = limiter.backoff('app', undefined, Date.now())
  t.ok(second >= 2500 && second <= 5000, `sent after the pause and refused again: backoff from the base (${second} ms)`)
  await new Promise(resolve => setTimeout(resolve, 5))
  const third = limiter.backoff('app', undefined, Date.now())
  t.ok(third >= 5000, `and again: it doubles (${third} ms)`)
  await new Promise(resolve => setTimeout(resolve, 5))
  limiter.recovered(undefined, Date.now())
  await new Promise(resolve => setTimeout(resolve, 5))
  const after = limiter.backoff('app', undefined, Date.now())
  t.ok(after <= 1002, `a fresh success resets the strikes: the next refusal is a first strike again (${after} ms)`)
})

t.test('adaptive: false keeps the fixed rate: refusals pause but never lower it', async t => {
  const em = await startEmulator({ limits: { qps: 3, qpm: 180, advertiserQps: 3 } })
  const client = new TikTokClient({ apiBaseUrl: em.apiBaseUrl, accessToken: DEFAULT_TOKEN, rateLimit: { qps: 10, qpm: 600, adaptive: false }, rateLimitBackoffMs: { base: 100, cap: 400 } })
  t.teardown(async () => { await client.close(); await em.close() })
  const audience = await createAudience(client, kAdv, 'fixed')
  await Promise.all(Array.from({ length: 8 }, async (_, i) => await mapping(client, kAdv, audience, 'add', 'EMAIL_SHA256', [hex(`f${i}`)])))
  t.equal(em.state.snapshot()[0]!.members['EMAIL_SHA256']!.length, 8, 'everything delivered')
  t.ok(em.rateStats.refusedApp > 0, `the emulator pushed back (${em.rateStats.refusedApp} refused)`)
  t.equal(client.currentRate(), 10, 'the rate stays the configured one')
})

t.test('stopping the limiter fails the requests still waiting, resumably', async t => {
  const limiter = new RateLimiter({ qps: 1, qpm: 60 })
  await limiter.schedule(undefined, async () => {})
  const waiting = limiter.schedule(undefined, async () => 'sent')
  await limiter.stop()
  await t.rejects(waiting, { code: 'HP_ERR_ABORTED' })
})
