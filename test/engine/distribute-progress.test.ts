// Progress of distribute (phase lines, the TTY display, the failing-TikTok warning) and
// tiktok.retry_budget / --retry-budget.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { distributeWorld, people } from '../helpers/distribute-world.js'
import { createDistributeProgress } from '../../engine/distribute/distribute-progress.js'

const kDigest = /\b[0-9a-f]{64}\b/

t.test('non-TTY: a line per phase, counts only', async t => {
  const w = await distributeWorld(t, 'first-party', 100)
  writeFileSync(w.input, people(0, 1500))
  const r = await w.distribute()
  t.equal(r.code, 0, r.stderr)
  const lines = r.stderr.split('\n').filter(l => l.startsWith('hashpipe: seg → Acme: '))
  for (const phase of ['prepare', 'plan', 'deliver', 'commit']) t.ok(lines.some(l => l.startsWith(`hashpipe: seg → Acme: ${phase}: `)), `a ${phase} line`)
  t.ok(lines.some(l => / 1,500 of 1,500 sent/.test(l)), 'the delivery position against the plan')
  t.notMatch(r.stderr, /user\d+@example\.com/, 'no identifier')
  t.notMatch(r.stderr, kDigest, 'no digest')

  const j = await w.distribute(['--json', '--restart'])
  t.equal(j.code, 0, j.stderr)
  t.notMatch(j.stderr, /seg → Acme: /, '--json turns progress off')
  t.doesNotThrow(() => JSON.parse(j.stdout))
})

/** A stream that says it is a terminal and has the cursor calls cli-progress uses. */
function fakeTty (): Writable & { isTTY: boolean, text: () => string } {
  let text = ''
  const s = new Writable({ write (c: Buffer, _e, cb) { text += c.toString(); cb() } }) as Writable & { isTTY: boolean, text: () => string, [k: string]: unknown }
  s.isTTY = true
  s['columns'] = 120
  for (const f of ['cursorTo', 'moveCursor', 'clearLine', 'clearScreenDown']) s[f] = (...args: unknown[]) => { const cb = args.find(a => typeof a === 'function') as (() => void) | undefined; cb?.(); return true }
  s.text = () => text
  return s
}

t.test('TTY: several distributions at once render without throwing', async t => {
  for (const stream of [fakeTty(), Object.assign(fakeTty(), { isTTY: false })]) {
    const p = createDistributeProgress({ stream, isTTY: true })
    const a = p.track('a → A')
    const b = p.track('b → B')
    t.equal(p.track('a → A'), a, 'one progress per label')
    a.phase('prepare')
    a.hashed({ bytesDone: 1 << 20, bytesTotal: 4 << 20, identifiers: 50_000, seconds: 1 })
    b.phase('deliver')
    b.sent(0, 10_000)
    b.sent(4_000, 10_000)
    p.observer('b → B').onRetry?.({ endpoint: '/segment/mapping/', reason: 'server_error' })
    p.observer('b → B').onRateLimitWait?.({ scope: 'app', seconds: 1.5 })
    p.observer('b → B').onFailing?.({ endpoint: '/segment/mapping/', answer: '503', failingMs: 120_000, budgetLeftMs: 480_000, attempts: 9 })
    a.phase('plan')
    a.end()
    b.phase('commit')
    b.end()
    p.stop()
    p.stop()
    t.match(stream.text(), /TikTok answered 503 for 2 min; retrying, budget 8 min left/)
    t.match(stream.text(), /b → B/)
  }
})

t.test('a failing TikTok: warning lines, then exit 5 after --retry-budget', async t => {
  const w = await distributeWorld(t, 'first-party', 100)
  writeFileSync(w.input, people(0, 300))
  w.em.faults.error5xxRate = 1
  const started = Date.now()
  // The option overrides the config's budget.
  writeFileSync(w.config, readFileSync(w.config, 'utf8').replace('batch_size: 100', 'batch_size: 100\n  retry_budget: 1h'))
  // Long enough for several retries past the warning threshold (a quarter of the budget) on a loaded machine.
  const r = await w.distribute(['--retry-budget', '6s'])
  t.equal(r.code, 5, r.stderr)
  t.ok(Date.now() - started < 30_000, 'the budget, not the default 10 min')
  t.match(r.stderr, /hashpipe: warning: seg → Acme: TikTok answered 503 for \d+ s; retrying, budget \d+ s left/)
  t.notMatch(r.stderr, kDigest)
  w.em.faults.error5xxRate = 0
  const again = await w.distribute()
  t.equal(again.code, 0, 'resumable: the next run delivers')
})

t.test('tiktok.retry_budget in the config: validated like other durations, and used', async t => {
  const w = await distributeWorld(t, 'first-party', 100)
  writeFileSync(w.input, people(0, 10))
  const good = readFileSync(w.config, 'utf8')
  writeFileSync(w.config, good.replace('batch_size: 100', 'batch_size: 100\n  retry_budget: soon'))
  const r = await w.distribute()
  t.equal(r.code, 78)
  t.match(r.stderr, /tiktok\.retry_budget: must be a duration/)
  writeFileSync(w.config, good.replace('batch_size: 100', 'batch_size: 100\n  retry_budget: 2s'))
  w.em.faults.error5xxRate = 1
  const started = Date.now()
  const f = await w.distribute()
  t.equal(f.code, 5, f.stderr)
  t.ok(Date.now() - started < 30_000, 'the configured budget')
  t.match(f.stderr, /HP_ERR_API_UNAVAILABLE/)
  const u = await w.distribute(['--retry-budget', 'later'])
  t.equal(u.code, 2)
  t.match(u.stderr, /--retry-budget must be a duration/)
})
