// The adaptive rate on a fake clock: multiplicative decrease from the measured rate, one
// decrease per cooldown, additive increase per second of successes (idle time does not count),
// the knee that caps growth while it holds, the configured ceiling and the floor.
import t from 'tap'
import { AdaptiveRate, ADAPTIVE_DEFAULTS } from '../../adapters/tiktok/adaptive-rate.js'

function clock (): { now: () => number, advance: (ms: number) => number } {
  let at = 1_000_000
  return { now: () => at, advance: (ms: number) => (at += ms) }
}

/** Successes sent every `gapMs` for `ms`. */
function succeed (r: AdaptiveRate, c: ReturnType<typeof clock>, ms: number, gapMs: number): void {
  for (let left = ms; left > 0; left -= gapMs) { c.advance(gapMs); r.succeeded() }
}

t.test('starts at the ceiling and never exceeds it', async t => {
  const c = clock()
  const r = new AdaptiveRate({ ceiling: 10, now: c.now })
  t.equal(r.rate, 10)
  succeed(r, c, 5000, 100)
  t.equal(r.rate, 10, 'successes do not push it over the configured quota')
  t.equal(ADAPTIVE_DEFAULTS.decrease, 0.7)
})

t.test('a refusal with nothing let through multiplies the rate by 0.7', async t => {
  const c = clock()
  const r = new AdaptiveRate({ ceiling: 10, now: c.now })
  t.ok(r.refused())
  t.equal(r.rate, 7)
  t.equal(r.knee, undefined, 'no knee without a measurement')
})

t.test('the decrease starts from the rate TikTok let through', async t => {
  const c = clock()
  const r = new AdaptiveRate({ ceiling: 10, now: c.now })
  // Three successes within the last second, then a refusal: the limit is 3/s, not 10.
  for (let i = 0; i < 3; i++) { c.advance(100); r.succeeded() }
  c.advance(100)
  t.ok(r.refused())
  t.ok(Math.abs(r.rate - 2.1) < 1e-9, `one decrease to 0.7 × 3 (${r.rate})`)
  t.equal(r.knee, 3)
  // The busiest second of the last two counts, not only the one just before the refusal.
  const r2 = new AdaptiveRate({ ceiling: 10, now: c.now })
  for (let i = 0; i < 3; i++) { c.advance(100); r2.succeeded() }
  c.advance(900)
  r2.succeeded()
  c.advance(300)
  r2.refused()
  t.equal(r2.knee, 3, 'three within one second, one in the last')
  // Successes over two seconds old do not count.
  const r3 = new AdaptiveRate({ ceiling: 10, now: c.now })
  for (let i = 0; i < 5; i++) { c.advance(100); r3.succeeded() }
  c.advance(2500)
  r3.refused()
  t.equal(r3.rate, 7, 'nothing within the last two seconds: plain decrease')
})

t.test('one decrease per cooldown: the in-flight rest of a burst does not collapse the rate', async t => {
  const c = clock()
  const r = new AdaptiveRate({ ceiling: 10, now: c.now })
  t.ok(r.refused())
  for (let i = 0; i < 5; i++) { c.advance(50); t.notOk(r.refused(), `refusal ${i + 2} within the cooldown`) }
  t.equal(r.rate, 7)
  c.advance(1000)
  t.ok(r.refused())
  t.ok(Math.abs(r.rate - 4.9) < 1e-9, 'the next second may decrease again')
})

t.test('additive increase: 0.1 × ceiling per second of successes, idle time excluded', async t => {
  const c = clock()
  const r = new AdaptiveRate({ ceiling: 10, now: c.now })
  r.refused()
  c.advance(1000)
  r.refused()
  t.ok(Math.abs(r.rate - 4.9) < 1e-9, 'two decreases a second apart')
  succeed(r, c, 1000, 250)
  t.ok(Math.abs(r.rate - 5.9) < 1e-9, `one clean second adds 1 (${r.rate})`)
  c.advance(60_000)
  r.succeeded()
  t.ok(Math.abs(r.rate - 6.9) < 1e-9, `a minute idle counts as one second at most (${r.rate})`)
})

t.test('the knee caps growth at 95% while it holds, then growth probes again', async t => {
  const c = clock()
  const r = new AdaptiveRate({ ceiling: 10, now: c.now, kneeHoldMs: 10_000 })
  for (let i = 0; i < 3; i++) { c.advance(300); r.succeeded() }
  c.advance(50)
  r.refused()
  t.equal(r.knee, 3)
  succeed(r, c, 5000, 350)
  t.ok(Math.abs(r.rate - 2.85) < 1e-9, `held just below the knee (${r.rate})`)
  succeed(r, c, 6000, 350)
  t.equal(r.knee, undefined, 'the hold has passed')
  t.ok(r.rate > 2.85, `growing again (${r.rate})`)
})

t.test('the floor: 0.5 req/s, or the ceiling when lower', async t => {
  const c = clock()
  const r = new AdaptiveRate({ ceiling: 10, now: c.now })
  for (let i = 0; i < 20; i++) { c.advance(1000); r.refused() }
  t.equal(r.rate, 0.5)
  const low = new AdaptiveRate({ ceiling: 0.2, now: c.now })
  c.advance(1000)
  low.refused()
  t.equal(low.rate, 0.2)
  t.throws(() => new AdaptiveRate({ ceiling: 0 }), RangeError)
})

t.test('roomAt: when the refusing window frees a slot, by this scope\'s own successes', async t => {
  const c = clock()
  const r = new AdaptiveRate({ ceiling: 10, now: c.now })
  t.equal(r.roomAt(), c.now(), 'nothing known: now')
  c.advance(100); r.succeeded()
  const first = c.now()
  c.advance(100); r.succeeded()
  c.advance(100)
  t.equal(r.roomAt(), first + 1000, 'the first success in the window leaves it a second after it arrived')
  c.advance(1000)
  t.equal(r.roomAt(), c.now(), 'all successes are older than the window')
})
