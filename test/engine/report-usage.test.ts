// `hashpipe report usage` against the emulator: totals equal the seeded delivery to the cent,
// deleted ad groups included, pages past 1,000 rows, a 31-day month split for TikTok's 30-day
// cap, the highest rate on a mixed ad group, a non-UTC yen account, retries, re-authorization,
// month refusals, the reported month recorded and status/doctor pointing at a missing one.
import t from 'tap'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP, DEFAULT_TOKEN, kAllScopes } from '../../adapters/emulator/emulator-state.js'
import { monthDates, seededDays, type EmulatorAdGroup } from '../../adapters/emulator/emulator-reporting.js'
import { reportUsage } from '../../engine/commands/report.js'
import status from '../../engine/commands/status.js'
import doctor from '../../engine/commands/doctor.js'
import { lastReportableMonth } from '../../engine/report/month.js'
import { StateStore } from '../../engine/state/state-store.js'
import { HashpipeError } from '../../pipeline/errors.js'
import { runCli } from '../helpers/cli.js'
import { tempDir } from '../helpers/temp-dir.js'
import type { CommandIo } from '../../engine/command.js'

const kA = '7123456789012345678' // UTC, USD
const kB = '7123456789012345680' // Asia/Tokyo, JPY
const aud = { s1: '1800000000000000011', s2: '1800000000000000012', s3: '1800000000000000013', other: '1800000000000000099' }
const kNow = new Date('2026-12-02T13:00:00Z')
const kMonth = '2026-10'

async function world (t: { teardown: (fn: () => void | Promise<void>) => void }, createdAt?: Date): Promise<{ dir: string, config: string, em: Awaited<ReturnType<typeof startEmulator>>, groups: EmulatorAdGroup[] }> {
  const dir = tempDir(t, 'hp-report-')
  const em = await startEmulator({
    limits: { qps: 5000, qpm: 300000, advertiserQps: 5000 },
    seed: { advertisers: [{ advertiserId: kA, name: 'Acme US', role: 'ADMIN' }, { advertiserId: kB, name: 'Acme JP', role: 'ADMIN', currency: 'JPY', timezone: 'Asia/Tokyo' }] },
    random: mulberry(7)
  })
  t.teardown(async () => { await em.close() })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `state_dir: state
tiktok:
  api_base_url: ${em.apiBaseUrl}
  app_id: "${DEFAULT_APP.appId}"
  secret: \${TIKTOK_APP_SECRET}
  rate_limit: { qps: 4000, qpm: 200000 }
destinations:
  - { name: DM1, integration: data-marketplace-3pd, advertiser_id: "${kA}", connection: acme, data_usage_reporting_requirement: I Agree, payment_model: true, payment_requirement: true, reporting_contact_email: "ops@example.com, billing@example.com", data_cost_percent: 10 }
  - { name: DM2, integration: data-marketplace-3pd, advertiser_id: "${kA}", connection: acme, data_usage_reporting_requirement: true, payment_model: true, payment_requirement: true, reporting_contact_email: ops@example.com, data_cost_percent: 15 }
  - { name: DM3, integration: data-marketplace-3pd, advertiser_id: "${kB}", connection: acme, data_usage_reporting_requirement: true, payment_model: true, payment_requirement: true, reporting_contact_email: jp@example.com, data_cost_percent: "12.5" }
segments:
  - { name: s1, inputs: [a.csv], destination: DM1, data_type: third-party }
  - { name: s2, inputs: [a.csv], destination: DM2, data_type: third-party }
  - { name: s3, inputs: [a.csv], destination: DM3, data_type: third-party }
`)
  const state = StateStore.open(join(dir, 'state'), createdAt === undefined ? {} : { now: () => createdAt })
  state.catalog.putConnection({ name: 'acme', advertiserIds: [kA, kB], scopes: kAllScopes })
  state.tokens.write('acme', DEFAULT_TOKEN)
  for (const [segment, destination, adv, audienceId] of [['s1', 'DM1', kA, aud.s1], ['s2', 'DM2', kA, aud.s2], ['s3', 'DM3', kB, aud.s3]] as const) {
    const d = state.distributions.ensure(segment, destination, adv)
    state.distributions.recordAudienceRequest(d.id, segment)
    state.distributions.setAudienceId(d.id, audienceId)
  }
  state.close()

  const dates = [...monthDates(kMonth), '2026-09-30', '2026-11-01']
  const groups: EmulatorAdGroup[] = []
  let n = 0
  const add = (advertiserId: string, audienceIds: string[], excludedAudienceIds: string[], deleted: boolean, withDays = true): EmulatorAdGroup => {
    n++
    const g: EmulatorAdGroup = {
      advertiserId,
      campaignId: `17000000000000000${String(n % 3).padStart(2, '0')}`,
      campaignName: `Campaign, "${n % 3}"`,
      adgroupId: `171000000000000${String(n).padStart(4, '0')}`,
      name: `Ad group ${n}`,
      audienceIds,
      excludedAudienceIds,
      deleted,
      days: withDays ? seededDays(n, dates) : new Map()
    }
    em.state.adGroups.set(g.adgroupId, g)
    groups.push(g)
    return g
  }
  add(kA, [aud.s1], [], false)
  add(kA, [aud.s1], [aud.s2], false) // mixes 10 % and 15 %
  add(kA, [aud.s2], [], true) // deleted during the month
  add(kA, [aud.other], [], false) // not hashpipe's 3PD data
  // 43 ad groups × 30 days > 1,000 rows; 36,000 ads, past the 20,000 a synchronous report covers.
  for (let i = 0; i < 40; i++) add(kA, [aud.s1, aud.other], [], false).ads = 900
  for (let i = 0; i < 1000; i++) add(kA, [], [], false, false) // /adgroup/get/ past one page
  add(kB, [aud.s3], [], false)
  return { dir, config, em, groups }
}

function mulberry (seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function io (): CommandIo & { out: () => string, err: () => string } {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (c: Buffer) => { out += c.toString() })
  stderr.on('data', (c: Buffer) => { err += c.toString() })
  return { stdin: new PassThrough(), stdout, stderr, env: { TIKTOK_APP_SECRET: DEFAULT_APP.secret }, signal: new AbortController().signal, out: () => out, err: () => err }
}

async function exitOf (p: Promise<number>): Promise<{ code: number, message: string }> {
  try { return { code: await p, message: '' } } catch (e) { return { code: (e as HashpipeError).exitCode ?? -1, message: (e as Error).message } }
}

/** The seeded minor units of October for one ad group, and its cost at rate10/10 %, rounded half up. */
function expected (g: EmulatorAdGroup, rate10: number): { spend: number, impressions: number, cost: number } {
  let spend = 0
  let impressions = 0
  for (const [d, v] of g.days) if (d.startsWith(kMonth)) { spend += v.spendMinor; impressions += v.impressions }
  return { spend, impressions, cost: Math.floor((spend * rate10 * 2 + 1000) / 2000) }
}
const cents = (n: number): string => `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')}`

t.test('the report, to the cent', async t => {
  const w = await world(t)
  const out = join(w.dir, 'usage.json')
  const x = io()
  t.equal(await reportUsage(['--config', w.config, '--month', kMonth, '--format', 'json', '--out', out], x, { now: kNow }), 0)
  const r = JSON.parse(readFileSync(out, 'utf8'))
  t.same(r.reporting_contacts, [{ destination: 'DM1', emails: ['ops@example.com', 'billing@example.com'] }, { destination: 'DM2', emails: ['ops@example.com'] }, { destination: 'DM3', emails: ['jp@example.com'] }])

  const ours = w.groups.filter(g => g.advertiserId === kA && [...g.audienceIds, ...g.excludedAudienceIds].some(id => id === aud.s1 || id === aud.s2))
  const rowsA = r.rows.filter((x: { advertiser_id: string }) => x.advertiser_id === kA)
  t.equal(rowsA.length, ours.length, 'every ad group with hashpipe 3PD audiences, the one with only other audiences left out')
  let spend = 0
  let impressions = 0
  let cost = 0
  for (const g of ours) {
    const rate10 = [...g.audienceIds, ...g.excludedAudienceIds].includes(aud.s2) ? 150 : 100
    const e = expected(g, rate10)
    spend += e.spend; impressions += e.impressions; cost += e.cost
    const row = rowsA.find((x: { adgroup_id: string }) => x.adgroup_id === g.adgroupId)
    t.equal(row?.spend, cents(e.spend), `spend of ${g.name}`)
    t.equal(row?.impressions, String(e.impressions))
    t.equal(row?.data_cost, cents(e.cost))
  }
  const mixed = rowsA.find((x: { adgroup_name: string }) => x.adgroup_name === 'Ad group 2')
  t.same([mixed.segments, mixed.audience_ids, mixed.excluded_audience_ids, mixed.data_cost_percent], [['s1', 's2'], [aud.s1], [aud.s2], '15'], 'the highest rate of the mixed ad group')
  const deleted = rowsA.find((x: { adgroup_name: string }) => x.adgroup_name === 'Ad group 3')
  t.equal(deleted?.adgroup_deleted, true, 'the deleted ad group is reported')
  t.same(rowsA.find((x: { adgroup_name: string }) => x.adgroup_name === 'Ad group 5').audience_ids, [aud.s1], 'only hashpipe 3PD audience ids are listed')
  const totalA = r.totals.find((x: { advertiser_id: string }) => x.advertiser_id === kA)
  t.same([totalA.spend, totalA.impressions, totalA.data_cost, totalA.currency, totalA.timezone], [cents(spend), String(impressions), cents(cost), 'USD', 'Etc/GMT'], 'totals equal the seeded data to the cent')

  const jp = w.groups.find(g => g.advertiserId === kB)!
  const e = expected(jp, 125)
  const rowB = r.rows.find((x: { advertiser_id: string }) => x.advertiser_id === kB)
  // The emulator reports JPY minor units as whole yen.
  t.same([rowB.currency, rowB.timezone, rowB.spend, rowB.data_cost, rowB.data_cost_percent], ['JPY', 'Asia/Tokyo', String(e.spend), String(e.cost), '12.5'], 'a yen account in Tokyo time')
  t.ok((w.em.stats.get('GET /open_api/v1.3/report/integrated/get/') ?? 0) >= 4, 'two date ranges for 31 days, the first over two pages')
  t.ok((w.em.stats.get('GET /open_api/v1.3/adgroup/get/') ?? 0) >= 3, 'ad groups paged past 1,000')
  t.ok((w.em.stats.get('GET /open_api/v1.3/report/integrated/get/') ?? 0) >= 7, 'the chunk cut at 20,000 ads was asked again in halves')

  const state = StateStore.open(join(w.dir, 'state'))
  t.same(['DM1', 'DM2', 'DM3'].map(d => state.usageReports.find(d, kMonth)?.output), [out, out, out], 'the month is recorded as reported')
  state.close()

  const csv = io()
  t.equal(await reportUsage(['--config', w.config, '--month', kMonth, '--destination', 'DM3'], csv, { now: kNow }), 0)
  const lines = csv.out().trim().split('\n')
  t.match(lines[1], /^# reporting contact \(DM3\): jp@example\.com$/)
  t.match(lines[2], /^row_type,month,advertiser_id,/)
  t.equal(lines.at(-1), `total,${kMonth},${kB},Acme JP,JPY,Asia/Tokyo,,,,,,,,,,${e.impressions},${e.spend},,${e.cost}`)
})

t.test('month refusals, retries and re-authorization', async t => {
  const w = await world(t)
  const args = ['--config', w.config, '--month', kMonth]
  let r = await exitOf(reportUsage(args, io(), { now: new Date('2026-10-15T00:00:00Z') }))
  t.equal(r.code, 2)
  t.match(r.message, /2026-10 has not ended yet in any time zone \(the first, UTC\+14, ends it at 2026-10-31T10:00:00\.000Z\)/, 'refused before any TikTok call')
  r = await exitOf(reportUsage(args, io(), { now: new Date('2026-10-31T20:00:00Z') }))
  t.equal(r.code, 2)
  t.match(r.message, /2026-10 has not ended yet in advertiser 7123456789012345678's time zone \(Etc\/GMT\)/)
  r = await exitOf(reportUsage([...args, '--destination', 'DM3'], io(), { now: new Date('2026-10-31T20:00:00Z') }))
  t.match(r.message, /2026-10 ended less than a day ago in advertiser 7123456789012345680's time zone \(Asia\/Tokyo\).*12:00 UTC.*from 2026-11-02T12:00:00\.000Z/, 'Tokyo has finished October, not a day ago')
  r = await exitOf(reportUsage(args, io(), { now: new Date('2026-11-02T11:00:00Z') }))
  t.match(r.message, /TikTok's daily data fix \(12:00 UTC\) has not run since/, 'a day later, but before the 12:00 UTC data fix')
  t.equal((await exitOf(reportUsage([...args.slice(0, 3), '2026-13'], io(), { now: kNow }))).code, 2, 'not a month')

  w.em.faults.error5xxRate = 0.3
  const out = join(w.dir, 'retry.json')
  t.equal(await reportUsage([...args, '--destination', 'DM3', '--format', 'json', '--out', out], io(), { now: kNow, client: { retryBaseMs: 5, retryCapMs: 20 } }), 0, 'TikTok 503s are retried')
  t.ok((w.em.stats.get('http503') ?? 0) > 0)
  const jp = w.groups.find(g => g.advertiserId === kB)!
  t.equal(JSON.parse(readFileSync(out, 'utf8')).totals[0].spend, String(expected(jp, 125).spend), 'and the totals are still exact')
  w.em.faults.error5xxRate = 0

  jp.ads = 25_000
  r = await exitOf(reportUsage([...args, '--destination', 'DM3', '--out', join(w.dir, 'cut.csv')], io(), { now: kNow }))
  t.equal(r.code, 1)
  t.match(r.message, /ad group \d+ of advertiser 7123456789012345680 holds more than 20,000 ads.*asynchronous reports/, 'one ad group past 20,000 ads is refused, not reported short')
  jp.ads = 1

  w.em.faults.error5xxRate = 1
  r = await exitOf(reportUsage([...args, '--destination', 'DM3'], io(), { now: kNow, client: { retryBaseMs: 5, retryCapMs: 10, retryBudgetMs: 200 } }))
  t.equal(r.code, 5, 'TikTok still failing after the retry budget: exit 5, run again later')
  w.em.faults.error5xxRate = 0

  const state = StateStore.open(join(w.dir, 'state'))
  state.catalog.putConnection({ name: 'acme', advertiserIds: [kA], scopes: kAllScopes })
  state.close()
  r = await exitOf(reportUsage([...args, '--destination', 'DM3'], io(), { now: kNow }))
  t.equal(r.code, 4, 'a connection that no longer reaches the ad account')
  t.match(r.message, /connection 'acme' does not reach advertiser 7123456789012345680 .*hashpipe connect tiktok/)
  const restore = StateStore.open(join(w.dir, 'state'))
  restore.catalog.putConnection({ name: 'acme', advertiserIds: [kA, kB], scopes: kAllScopes })
  restore.close()

  const help = await runCli(['report', 'usage', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /usage: hashpipe report usage --config FILE --month YYYY-MM/)
  w.em.faults.revokeTokenAfter = 0
  const cli = await runCli(['report', 'usage', ...args, '--out', join(w.dir, 'never.csv')], { env: { TIKTOK_APP_SECRET: DEFAULT_APP.secret } })
  t.equal(cli.code, 4, cli.stderr)
  t.match(cli.stderr, /run hashpipe connect tiktok again/)
  t.notMatch(cli.stderr, DEFAULT_TOKEN)
  t.same(readdirSync(w.dir).filter(n => n.includes('never')), [], 'no output and no temp file left')
})

t.test('status and doctor name the missing monthly report until it is made', async t => {
  const w = await world(t, new Date('2020-01-15T00:00:00Z'))
  const due = lastReportableMonth(new Date()).text
  const before = io()
  t.equal(await status(['--config', w.config, '--json'], before), 0)
  const usage = JSON.parse(before.out()).usage_reports
  t.same(usage.map((u: { destination: string, month: string, reported: boolean }) => [u.destination, u.month, u.reported]), [['DM1', due, false], ['DM2', due, false], ['DM3', due, false]])
  t.equal(usage[2].command, `hashpipe report usage --config ${w.config} --month ${due} --destination DM3 --out usage-${due}.csv`)

  t.equal(await reportUsage(['--config', w.config, '--month', due, '--destination', 'DM3', '--out', join(w.dir, 'dm3.csv')], io()), 0)
  const text = io()
  await status(['--config', w.config], text)
  t.match(text.out(), new RegExp(`usage report ${due} for DM3: made `))
  t.match(text.out(), new RegExp(`usage report ${due} for DM1: missing; .*run: hashpipe report usage --config \\S+ --month ${due} --destination DM1`))
  const doc = io()
  t.not(await doctor(['--config', w.config], doc), 0, 'doctor does not pass')
  t.match(doc.out(), new RegExp(`FAIL monthly usage reported: DM1: no usage report for ${due} yet`))
  t.match(doc.out(), /ok {3}monthly usage reported: DM3/)
})
