// `hashpipe conversions send` in-process against the emulator: rejects with reasons (and no
// values) in --rejects, only digests in the request bodies TikTok receives, a rerun that TikTok
// counts once, a poison event isolated by bisection, a changed input after an interrupted run
// refused without --restart, and the config checks.
import t from 'tap'
import { writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { createHash } from 'node:crypto'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'
import { StateStore } from '../../engine/state/state-store.js'
import { checkConfig } from '../../engine/config.js'
import conversions from '../../engine/commands/conversions.js'
import status from '../../engine/commands/status.js'
import validate from '../../engine/commands/validate.js'
import { tempDir } from '../helpers/temp-dir.js'

const kSet = '7000000000000000800'
const nowS = Math.floor(Date.now() / 1000)
const iso = (s: number): string => new Date(s * 1000).toISOString()

interface Teardown { teardown: (fn: () => void | Promise<void>) => void }

async function setup (t: Teardown, batch = 3, eventsQps = 500, emulatorOptions: Parameters<typeof startEmulator>[0] = {}): Promise<{ dir: string, config: string, em: Awaited<ReturnType<typeof startEmulator>>, run: (...args: string[]) => Promise<{ code: number, stdout: string, stderr: string }>, withSignal: (s: AbortSignal) => void }> {
  const dir = tempDir(t, 'hp-conv-')
  const em = await startEmulator({ recordBodies: true, ...emulatorOptions })
  t.teardown(async () => { await em.close() })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `state_dir: state
tiktok:
  api_base_url: ${em.apiBaseUrl}
  app_id: "1"
  secret: s
  events_rate_limit: { qps: ${eventsQps}, qpm: 30000 }
conversions:
  - name: store-sales
    event_source_id: "${kSet}"
    connection: acme
    inputs: [sales.csv]
    columns: { email: Email, phone: Phone, event: Event, event_time: SoldAt, value: Amount, currency: Currency, order_id: OrderId }
    event: CompletePayment
    batch_size: ${batch}
`)
  const state = StateStore.open(join(dir, 'state'))
  state.catalog.putConnection({ name: 'acme', advertiserIds: ['7123456789012345678'], scopes: [1] })
  state.tokens.write('acme', DEFAULT_TOKEN)
  state.close()
  const run = async (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => {
    let stdout = ''
    let stderr = ''
    const out = new PassThrough().on('data', c => { stdout += String(c) })
    const err = new PassThrough().on('data', c => { stderr += String(c) })
    const code = await (args[0] === 'status' ? status(['--config', config, ...args.slice(1)], io(out, err)) : conversions(['send', '--config', config, ...args], io(out, err, signal)))
    return { code, stdout, stderr }
  }
  const io = (stdout: PassThrough, stderr: PassThrough, s = new AbortController().signal): Parameters<typeof conversions>[1] => ({ stdin: new PassThrough(), stdout, stderr, env: {}, signal: s })
  let signal: AbortSignal | undefined
  return { dir, config, em, run, withSignal: (s: AbortSignal) => { signal = s } }
}

const kGood = [
  `a@example.com,,Purchase,${iso(nowS - 3600)},10.00,USD,o-1`,
  `,(213) 373-4253,,${nowS - 7200},5,EUR,o-2`,
  `b@example.com,,,${iso(nowS - 100)},,,o-3`,
  `C@Example.com,,,${nowS - 50},1.5,GBP,o-4`,
  `d@example.com,,,${nowS - 60},2,USD,`
]
const kBad = [
  `e@example.com,,Sale,${nowS},1,USD,x1`, // event_unknown
  'f@example.com,,,2025-01-01T10:00:00,1,USD,x2', // time_zone_missing
  `g@example.com,,,${nowS + 3600},1,USD,x3`, // time_future
  `h@example.com,,,${nowS - 40 * 86400},1,USD,x4`, // time_too_old
  `,,,${nowS},1,USD,x5`, // no_identifier
  `i@example.com,,,${nowS},-3,USD,x6`, // value_invalid
  `j@example.com,,,${nowS},3,,x7`, // currency_missing
  `k@example.com,,,${nowS},3,ABC,x8`, // currency_invalid
  `not-an-email,,,${nowS},3,USD,x9` // email_invalid
]
const header = 'Email,Phone,Event,SoldAt,Amount,Currency,OrderId'

async function stored (em: Awaited<ReturnType<typeof startEmulator>>): Promise<{ events: Array<Record<string, unknown>>, received: number, duplicates_dropped: number }> {
  const res = await fetch(`${em.url}/__emulator/events`)
  return ((await res.json()) as { data: { events: Array<Record<string, unknown>>, received: number, duplicates_dropped: number } }).data
}

t.test('rejects by reason, digests only, a rerun counted once', async t => {
  const w = await setup(t)
  writeFileSync(join(w.dir, 'sales.csv'), [header, ...kGood, ...kBad, `a@example.com,,Purchase,${iso(nowS - 3600)},10.00,USD,o-1`].join('\n') + '\n')
  const dry = await w.run('--dry-run', '--json', '--max-reject-ratio', '1')
  t.equal(dry.code, 0, dry.stderr)
  t.match(JSON.parse(dry.stdout).conversions[0], { dry_run: true, events_read: 15, events_sent: 5, rejected_total: 9, requests: 0 })
  t.equal(w.em.bodies.length, 0, 'a dry run calls nothing')
  const rejects = join(w.dir, 'rejects.csv')
  const first = await w.run('--json', '--rejects', rejects, '--max-reject-ratio', '1')
  t.equal(first.code, 0, first.stderr)
  const j = JSON.parse(first.stdout) as { conversions: Array<Record<string, unknown>> }
  t.match(j.conversions[0], {
    name: 'store-sales',
    event_source_id: kSet,
    events_read: 15,
    events_sent: 5,
    duplicates_skipped: 1,
    rejected_total: 9,
    requests: 2,
    batches: 2,
    rejected: { event_unknown: 1, time_zone_missing: 1, time_future: 1, time_too_old: 1, no_identifier: 1, value_invalid: 1, currency_missing: 1, currency_invalid: 1, email_invalid: 1 }
  })
  const lines = readFileSync(rejects, 'utf8').trim().split('\n')
  t.equal(lines[0], 'file,line,field,reason,api_code')
  t.equal(lines.length, 10)
  t.match(lines[1], /sales\.csv,7,event,event_unknown,$/)
  t.notMatch(readFileSync(rejects, 'utf8'), /example\.com|not-an-email/, 'no values in the rejects file')

  const s1 = await stored(w.em)
  t.equal(s1.events.length, 5)
  t.equal(w.em.bodies.length, 2)
  for (const body of w.em.bodies) {
    t.notMatch(body, /@|example|2133734253|373-4253/, 'no plain email or phone in a request body')
    const b = JSON.parse(body) as { event_source: string, event_source_id: string, data: Array<{ user: Record<string, string>, event_time: unknown }> }
    t.equal(b.event_source, 'offline')
    t.equal(b.event_source_id, kSet)
    for (const e of b.data) {
      for (const v of Object.values(e.user)) t.match(v, /^[0-9a-f]{64}$/)
      t.ok(Number.isInteger(e.event_time))
    }
  }
  t.ok(s1.events.some(e => (e['user'] as Record<string, string>)['phone'] === createHash('sha256').update('+12133734253').digest('hex')), 'phone hashed as E.164 with +')

  const again = await w.run('--json', '--max-reject-ratio', '1')
  t.equal(again.code, 0)
  const s2 = await stored(w.em)
  t.equal(s2.events.length, 5, 'TikTok still holds 5 events after a rerun')
  t.equal(s2.duplicates_dropped, 5, 'the rerun\'s events were all duplicates to TikTok')

  const strict = await w.run()
  t.equal(strict.code, 3, 'rejects over the default ratio exit 3')
  t.match(strict.stdout, /15 read, 5 sent, 9 rejected \(.*event_unknown 1.*\), 1 duplicates skipped/)

  const st = await w.run('status', '--json')
  t.equal(st.code, 0, st.stderr)
  const runs = (JSON.parse(st.stdout) as { conversions: Array<{ name: string, runs: Array<{ outcome: string, counts: Record<string, number> }> }> }).conversions[0]!
  t.equal(runs.name, 'store-sales')
  t.equal(runs.runs.length, 3)
  t.match(runs.runs[0], { outcome: 'succeeded', counts: { read: 15, sent: 5, rejected: 9, duplicates: 1, rejected_event_unknown: 1 } })
  t.match((await w.run('status')).stdout, /conversions store-sales → event set 7000000000000000800\n {2}run \S+: succeeded, started \S+, 15 read, 5 sent, 9 rejected, 1 duplicates/)
})

t.test('a poison event is isolated by bisection and reported with TikTok\'s code', async t => {
  const w = await setup(t, 4)
  const rows = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((o, i) => `${o}@example.com,,,${nowS - 10 * i},1,USD,${o}`)
  writeFileSync(join(w.dir, 'sales.csv'), [header, ...rows].join('\n') + '\n')
  // The poison event's id is the one hashpipe derives from its order id.
  const poisonId = createHash('sha256').update([kSet, 'CompletePayment', 'order:p3'].join('\u0000')).digest('hex')
  w.em.faults.poisonEventId = poisonId
  const rejects = join(w.dir, 'rejects.csv')
  const r = await w.run('--json', '--rejects', rejects, '--max-reject-ratio', '1')
  t.equal(r.code, 0, r.stderr)
  t.match(JSON.parse(r.stdout).conversions[0], { events_sent: 5, rejected: { tiktok_rejected: 1 } })
  t.match(readFileSync(rejects, 'utf8'), /sales\.csv,4,,tiktok_rejected,40002\n/)
  const s = await stored(w.em)
  t.equal(s.events.length, 5)
  t.notOk(s.events.some(e => e['event_id'] === poisonId))
})

t.test('a poison event is isolated by bisection while other batches are in flight', async t => {
  const w = await setup(t, 2)
  const orders = Array.from({ length: 12 }, (_, i) => `b${i}`)
  const rows = orders.map((o, i) => `${o}@example.com,,,${nowS - 10 * i},1,USD,${o}`)
  writeFileSync(join(w.dir, 'sales.csv'), [header, ...rows].join('\n') + '\n')
  // Answers take 50 ms: the 4 requests of the window are out together while batch 3's is bisected.
  w.em.faults.slowMs = 50
  const poisonId = createHash('sha256').update([kSet, 'CompletePayment', 'order:b7'].join('\u0000')).digest('hex')
  w.em.faults.poisonEventId = poisonId
  const rejects = join(w.dir, 'rejects.csv')
  const r = await w.run('--json', '--rejects', rejects, '--max-reject-ratio', '1')
  t.equal(r.code, 0, r.stderr)
  // 6 batches, and batch 3's two halves: 8 requests.
  t.match(JSON.parse(r.stdout).conversions[0], { events_sent: 11, rejected: { tiktok_rejected: 1 }, requests: 8, batches: 6 })
  t.match(readFileSync(rejects, 'utf8'), /^file,line,field,reason,api_code\n\S*sales\.csv,9,,tiktok_rejected,40002\n$/)
  const s = await stored(w.em)
  t.same(s.events.map(e => (e['properties'] as { order_id: string }).order_id).sort(), orders.filter(o => o !== 'b7').sort())
})

t.test('gzip NDJSON input; a changed input after an interrupted run needs --restart', async t => {
  const w = await setup(t, 2)
  const cfg = readFileSync(w.config, 'utf8').replace('inputs: [sales.csv]', 'inputs: [sales.ndjson.gz]')
  writeFileSync(w.config, cfg)
  const rows = [1, 2, 3].map(i => JSON.stringify({ Email: `n${i}@example.com`, SoldAt: nowS - i, Amount: 3, Currency: 'USD', OrderId: `n${i}` }))
  writeFileSync(join(w.dir, 'sales.ndjson.gz'), gzipSync(rows.join('\n') + '\n'))
  // Token revoked after the first call: the run stops after batch 0 (exit 4) and stays resumable.
  w.em.faults.revokeTokenAfter = 1
  const r1 = await w.run()
  t.equal(r1.code, 4, r1.stdout)
  writeFileSync(join(w.dir, 'sales.ndjson.gz'), gzipSync([...rows, JSON.stringify({ Email: 'n4@example.com', SoldAt: nowS, OrderId: 'n4' })].join('\n') + '\n'))
  delete w.em.faults.revokeTokenAfter
  for (const tok of w.em.state.tokens.values()) tok.revoked = false
  const r2 = await w.run()
  t.equal(r2.code, 1)
  t.match(r2.stdout, /HP_ERR_INPUT_CHANGED.*--restart/)
  const r3 = await w.run('--restart', '--json')
  t.equal(r3.code, 0, r3.stdout)
  t.match(JSON.parse(r3.stdout).conversions[0], { events_read: 4, events_sent: 4, resumed: false })
  t.equal((await stored(w.em)).events.length, 4)
})

t.test('config: conversions entries are checked', async t => {
  const { problems } = checkConfig(`tiktok: { app_id: "1", secret: s }
conversions:
  - { name: a, event_source_id: 7000000000000000800, connection: acme, inputs: [x.csv], columns: { emial: E, event_time: T } }
  - { name: a, event_source_id: "70", connection: acme, inputs: [x.csv], columns: { email: E, event_time: T }, event: Sale, lookback_days: 40, inflight: 0 }
  - { name: b, event_source_id: "70", connection: acme, inputs: [x.csv], columns: { email: E, event_time: T }, event: Purchase, inflight: 17 }
  - { name: c, event_source_id: "70", connection: acme, inputs: [x.csv], columns: { email: E, event_time: T }, event: Purchase, in_flight: 2 }
`, { env: {} })
  const text = problems.map(p => `${p.path}: ${p.message}`).join('\n')
  t.match(text, /conversions\[0\]\.event_source_id: must be a quoted string/)
  t.match(text, /conversions\[0\]\.columns\.emial: is not a conversion field; did you mean email\?/)
  t.match(text, /conversions\[0\]\.event: is required when columns has no event column/)
  t.match(text, /conversions\[1\]\.name: duplicate conversions name 'a'/)
  t.match(text, /conversions\[1\]\.event: must be a TikTok standard event/)
  t.match(text, /conversions\[1\]\.lookback_days: must be at most 28/)
  t.match(text, /conversions\[1\]\.inflight: must be at least 1/)
  t.match(text, /conversions\[2\]\.inflight: must be at most 16/)
  t.match(text, /conversions\[3\]\.in_flight: .*did you mean inflight\?/)
})

t.test('validate: conversions inputs and connections are checked too', async t => {
  const w = await setup(t)
  let out = ''
  const sink = new PassThrough().on('data', c => { out += String(c) })
  const io = { stdin: new PassThrough(), stdout: sink, stderr: sink, env: {}, signal: new AbortController().signal }
  t.equal(await validate(['--config', w.config], io), 78)
  t.match(out, /conversions\[0\]\.inputs\[0\]: input file '.*sales\.csv' does not exist/)
  writeFileSync(join(w.dir, 'sales.csv'), header + '\n')
  out = ''
  t.equal(await validate(['--config', w.config], io), 0)
  t.match(out, /config OK: 0 destinations, 0 segments, 1 conversions entry/)
})

t.test('SIGINT/SIGTERM: exit 130 after the batches in flight, and the rerun resumes', async t => {
  const w = await setup(t, 2)
  const rows = Array.from({ length: 12 }, (_, i) => `s${i}@example.com,,,${nowS - i},1,USD,s${i}`)
  writeFileSync(join(w.dir, 'sales.csv'), [header, ...rows].join('\n') + '\n')
  w.em.faults.slowMs = 300
  const controller = new AbortController()
  w.withSignal(controller.signal)
  // The interrupt arrives while the first batches are at TikTok (answers take 300 ms here): the
  // window of 4 is full, the next batch waits for an answer and is not sent.
  const poll = setInterval(() => { if ((w.em.stats.get('POST /open_api/v1.3/event/track/') ?? 0) > 0) { clearInterval(poll); controller.abort() } }, 5)
  t.teardown(() => { clearInterval(poll) })
  const r1 = await w.run()
  t.equal(r1.code, 130, r1.stdout)
  t.match(r1.stdout, /HP_ERR_ABORTED/)
  const atStop = w.em.state.eventsReceived
  t.ok(atStop > 0 && atStop < 12, `${atStop} events sent before the stop`)
  w.em.faults.slowMs = 0
  w.withSignal(new AbortController().signal)
  const r2 = await w.run('--json')
  t.equal(r2.code, 0, r2.stdout)
  const j = JSON.parse(r2.stdout).conversions[0]
  // The batches out at the interrupt were answered and acknowledged before the exit: none is sent again.
  t.match(j, { resumed: true, events_already_sent: atStop, events_sent: 12 - atStop })
  t.equal(w.em.state.eventsReceived, 12, 'a graceful stop sends nothing twice')
  t.equal((await stored(w.em)).events.length, 12)
})

t.test('the Events API limiter keeps under the quota; 5xx answers are retried', async t => {
  // The client at 3/s against a quota of 4/s: request starts are spaced, arrivals on a loaded
  // machine are not, and the margin absorbs that jitter.
  const w = await setup(t, 1, 3, { eventLimits: { qps: 4, qpm: 240 } })
  const rows = [1, 2, 3, 4, 5, 6, 7, 8].map(i => `q${i}@example.com,,,${nowS - i},1,USD,q${i}`)
  writeFileSync(join(w.dir, 'sales.csv'), [header, ...rows].join('\n') + '\n')
  const r = await w.run('--json')
  t.equal(r.code, 0, r.stdout)
  t.equal(w.em.stats.get('40100') ?? 0, 0, 'no rate-limit answer under the quota')
  t.equal((await stored(w.em)).events.length, 8)

  w.em.faults.error5xxRate = 0.3
  writeFileSync(join(w.dir, 'sales.csv'), [header, ...rows.map(x => x.replace(/q(\d)/g, 'z$1'))].join('\n') + '\n')
  const again = await w.run('--json')
  t.equal(again.code, 0, again.stdout)
  t.equal((await stored(w.em)).events.length, 16, 'every event delivered despite the 503s')
})
