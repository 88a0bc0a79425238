import t from 'tap'
import { createHash } from 'node:crypto'
import { parsePhoneNumberFromString } from 'libphonenumber-js/max'
import { CANARIES, CANARY_EMAILS, CANARY_PHONES, CANARY_MAIDS, CANARY_SECRETS, assertNoCanary, canaryCsv, findCanaries } from './canary.js'

t.test('the canaries are what the pipeline accepts, so they reach every stage', async t => {
  for (const p of CANARY_PHONES) {
    const n = parsePhoneNumberFromString(p.plain, 'US')
    t.ok(n?.isValid(), `${p.label} is a valid number`)
    t.equal(n?.number, p.normalized[0], `${p.label} E.164 form`)
  }
  for (const e of CANARY_EMAILS) t.equal(e.normalized[0], e.plain.trim().toLowerCase(), `${e.label} normalized`)
  for (const m of CANARY_MAIDS) t.match(m.plain, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)
  const plains = CANARIES.map(c => c.plain)
  t.equal(new Set(plains).size, plains.length)
})

t.test('finds plain, normalized and hashed forms; passes clean text', async t => {
  t.same(findCanaries('{"level":30,"msg":"row 12 rejected: email_invalid"}'), [])
  const email = CANARY_EMAILS[0]!
  t.same(findCanaries(`x ${email.plain.trim().toUpperCase()} y`, [email]), ['email#1 plain', 'email#1 normalized[0]'])
  const hex = createHash('sha256').update(CANARY_PHONES[0]!.normalized[0]!).digest('hex')
  t.same(findCanaries(hex.toUpperCase(), CANARY_PHONES), ['phone#1 (US national) sha256-hex(normalized[0])'])
  const b64 = createHash('sha256').update(CANARY_MAIDS[1]!.normalized[0]!).digest('base64')
  t.same(findCanaries(`digest=${b64}`, CANARY_MAIDS), ['maid#2 (GAID) sha256-base64(normalized[0])'])
  t.same(findCanaries('+44 20 7946 0958', CANARY_PHONES), ['phone#2 (UK) plain'])
  t.same(findCanaries(`Access-Token: ${CANARY_SECRETS[0]!.plain}`, CANARY_SECRETS), ['access token plain'])
})

t.test('assertNoCanary reports through the test object', async t => {
  const calls: Array<[unknown, unknown, string | undefined]> = []
  const fake = { same: (a: unknown, b: unknown, m?: string) => { calls.push([a, b, m]); return false } }
  const hits = assertNoCanary(fake, `leak ${CANARY_EMAILS[1]!.normalized[2]!}`, CANARIES, 'stderr')
  t.same(hits, ['email#2 (gmail, plus tag) normalized[2]'])
  t.same(calls, [[hits, [], 'no canary in stderr']])
  t.notMatch(String(calls[0]![2]), /gmail\.com/, 'the message names the canary, not its value')
  assertNoCanary(t, 'clean output', CANARIES)
})

t.test('canaryCsv has every identifier canary', async t => {
  const csv = canaryCsv()
  t.equal(csv.split('\n')[0], 'email,phone,maid')
  for (const c of [...CANARY_EMAILS, ...CANARY_PHONES, ...CANARY_MAIDS]) t.ok(csv.includes(c.plain), c.label)
})
