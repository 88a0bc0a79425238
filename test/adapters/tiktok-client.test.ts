// The TikTok client against the emulator over real HTTP on loopback: classification, exact
// 19-digit ids, rate limits (matching and stricter), 5xx and reset storms, revoked tokens,
// poison-row bisection, and the emulator's own validation.
import t from 'tap'
import { createHash } from 'node:crypto'
import { classify } from '../../adapters/tiktok/classify.js'
import { parseEnvelope, quoteBigIntegers } from '../../adapters/tiktok/envelope.js'
import { TikTokClient } from '../../adapters/tiktok/tiktok-client.js'
import { createAudience, mapping, getAudiences, listAudiences, deleteAudience, audienceName } from '../../adapters/tiktok/audiences.js'
import { exchangeAuthCode, authorizationUrl, authorizedAdvertisers, advertiserRole, userInfo, advertiserInfo } from '../../adapters/tiktok/oauth.js'
import { startEmulator, type EmulatorOptions } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP, DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'

const kAdv = '7123456789012345678'
const hex = (s: string): string => createHash('sha256').update(s).digest('hex')
const digests = (n: number, tag = 'x'): string[] => Array.from({ length: n }, (_, i) => hex(`${tag}${i}`))

t.test('classification table', async t => {
  const rows: Array<[number | undefined, number | undefined, string | undefined, string]> = [
    [200, 0, undefined, 'success'], [200, 20001, undefined, 'success'],
    [200, 40100, undefined, 'rate_limited'], [200, 40016, undefined, 'rate_limited'], [200, 40133, undefined, 'rate_limited'],
    [200, 40001, undefined, 'reauthorize'], [200, 40102, undefined, 'reauthorize'], [200, 40104, undefined, 'reauthorize'],
    [200, 40105, undefined, 'reauthorize'], [200, 40106, undefined, 'reauthorize'],
    [200, 40002, undefined, 'terminal'], [200, 40011, undefined, 'terminal'], [200, 40007, undefined, 'terminal'],
    [200, 50000, undefined, 'retry'], [200, 50002, undefined, 'retry'], [500, undefined, undefined, 'retry'], [503, undefined, undefined, 'retry'],
    [undefined, undefined, 'ECONNRESET', 'retry'], [undefined, undefined, 'UND_ERR_HEADERS_TIMEOUT', 'retry'],
    [200, undefined, undefined, 'retry'], [404, undefined, undefined, 'terminal'], [429, undefined, undefined, 'rate_limited']
  ]
  for (const [status, code, transport, verdict] of rows) t.equal(classify(status, code, transport).verdict, verdict, `${status}/${code}/${transport}`)
  t.equal(classify(200, 40133).scope, 'advertiser')
  t.equal(classify(200, 40100).scope, 'app')
})

t.test('19-digit ids survive parsing, even as bare numbers', async t => {
  const env = parseEnvelope('{"code":0,"message":"OK","request_id":"r","data":{"audience_id":1800000000000000123,"n":12,"s":"1800000000000000123","f":1.5e3}}')!
  t.same(env.data, { audience_id: '1800000000000000123', n: 12, s: '1800000000000000123', f: 1500 })
  t.equal(quoteBigIntegers('{"a":"x\\"1234567890123456789"}'), '{"a":"x\\"1234567890123456789"}', 'digits inside strings untouched')
  t.equal(parseEnvelope('<html>502</html>'), undefined)
  t.equal(parseEnvelope('{"code":0,"mess'), undefined)
})

async function setup (t: { teardown: (fn: () => Promise<void>) => void }, options: EmulatorOptions = {}, clientLimits = { qps: 200, qpm: 12000 }): Promise<{ client: TikTokClient, em: Awaited<ReturnType<typeof startEmulator>> }> {
  const em = await startEmulator({ limits: { qps: 200, qpm: 12000, advertiserQps: 200 }, ...options })
  const client = new TikTokClient({ apiBaseUrl: em.apiBaseUrl, accessToken: DEFAULT_TOKEN, rateLimit: clientLimits, retryBaseMs: 20, retryCapMs: 200, rateLimitBackoffMs: { base: 50, cap: 400 }, retryBudgetMs: 20_000, timeoutMs: 2000 })
  t.teardown(async () => { await client.close(); await em.close() })
  return { client, em }
}

t.test('audience lifecycle with exact ids and set semantics', async t => {
  const { client, em } = await setup(t)
  const long = 'n'.repeat(80)
  const id = await createAudience(client, kAdv, long)
  t.match(id, /^\d{19}$/)
  t.equal(audienceName(long).length, 70)
  const list = await listAudiences(client, kAdv)
  t.same(list.map(a => a.audienceId), [id], 'the id round-trips exactly')
  t.equal(list[0]!.name, `${'n'.repeat(67)}...`)
  const d = digests(1200)
  t.same(await mapping(client, kAdv, id, 'add', 'EMAIL_SHA256', d.slice(0, 1000)), [])
  await mapping(client, kAdv, id, 'add', 'EMAIL_SHA256', d.slice(500, 1200))
  await mapping(client, kAdv, id, 'delete', 'EMAIL_SHA256', d.slice(0, 100))
  const members = em.state.snapshot()[0]!.members['EMAIL_SHA256']!
  t.same(new Set(members), new Set(d.slice(100)), 'add and delete are set operations')
  const [info] = await getAudiences(client, kAdv, [id])
  t.equal(info!.coverNum, Math.floor(1100 * 0.62), 'simulated cover_num above 1000 members')
  await deleteAudience(client, kAdv, id)
  t.same(await listAudiences(client, kAdv), [])
})

t.test('terminal and validation codes', async t => {
  const { client } = await setup(t)
  const id = await createAudience(client, kAdv, 'v')
  await t.rejects(mapping(client, kAdv, '1800000000000009999', 'add', 'EMAIL_SHA256', digests(2)), { code: 'HP_ERR_API_TERMINAL', apiCode: 40002 }, 'unknown audience')
  await t.rejects(mapping(client, kAdv, id, 'add', 'EMAIL_SHA256', digests(1001)), { code: 'HP_ERR_API_TERMINAL', apiCode: 40011 }, 'more rows than allowed')
  await t.rejects(mapping(client, '7999999999999999999', id, 'add', 'EMAIL_SHA256', digests(1)), { code: 'HP_ERR_API_REAUTHORIZE', apiCode: 40001, exitCode: 4 })
  await t.rejects(client.call('POST', '/segment/mapping/', { body: { advertiser_ids: [Number(kAdv)], action: 'add', id_schema: ['EMAIL_SHA256'], batch_data: [[{ id: digests(1)[0], audience_ids: [id] }]] } }), { code: 'HP_ERR_API_TERMINAL', apiCode: 40002 }, 'ids must be digit strings')
  await t.rejects(client.call('POST', '/segment/mapping/', { body: { advertiser_ids: [kAdv], action: 'add', id_schema: ['EMAIL_SHA256', 'PHONE_SHA256'], batch_data: [[{ id: digests(1)[0], audience_ids: [id] }]] } }), { code: 'HP_ERR_API_TERMINAL', apiCode: 40002 }, 'rows aligned with id_schema')
})

t.test('missing token is a re-authorization error', async t => {
  const { em } = await setup(t)
  const c = new TikTokClient({ apiBaseUrl: em.apiBaseUrl, rateLimit: { qps: 50, qpm: 3000 } })
  t.teardown(async () => await c.close())
  await t.rejects(userInfo(c), { code: 'HP_ERR_API_REAUTHORIZE', apiCode: 40104, exitCode: 4 })
})

t.test('limits matching the emulator: zero 40100; stricter emulator: recovery and full delivery', async t => {
  const matching = await setup(t, { limits: { qps: 10, qpm: 600, advertiserQps: 10 } }, { qps: 10, qpm: 600 })
  const a = await createAudience(matching.client, kAdv, 'm')
  await Promise.all(Array.from({ length: 15 }, async (_, i) => await mapping(matching.client, kAdv, a, 'add', 'EMAIL_SHA256', digests(10, `m${i}`))))
  t.equal(matching.em.stats.get('40100') ?? 0, 0, 'no 40100 when the limiter matches the tier')
  const strict = await setup(t, { limits: { qps: 3, qpm: 600, advertiserQps: 3 } }, { qps: 10, qpm: 600 })
  const b = await createAudience(strict.client, kAdv, 's')
  await Promise.all(Array.from({ length: 12 }, async (_, i) => await mapping(strict.client, kAdv, b, 'add', 'EMAIL_SHA256', digests(10, `s${i}`))))
  t.ok((strict.em.stats.get('40100') ?? 0) + (strict.em.stats.get('40133') ?? 0) > 0, 'the stricter emulator did push back')
  t.equal(strict.em.state.snapshot()[0]!.members['EMAIL_SHA256']!.length, 120, 'everything delivered')
})

t.test('5xx and reset storms are retried; a spent budget is resumable (exit 5)', async t => {
  let n = 0
  const random = (): number => ((n = (n * 1103515245 + 12345) % 2147483648) / 2147483648)
  const { client, em } = await setup(t, { faults: { error5xxRate: 0.3, resetRate: 0.2 }, random })
  const id = await createAudience(client, kAdv, 'storm')
  for (let i = 0; i < 10; i++) await mapping(client, kAdv, id, 'add', 'PHONE_SHA256', digests(5, `p${i}`))
  t.equal(em.state.snapshot()[0]!.members['PHONE_SHA256']!.length, 50)
  t.ok((em.stats.get('http503') ?? 0) + (em.stats.get('reset') ?? 0) > 0, 'faults happened')
  em.faults.error5xxRate = 1
  const short = new TikTokClient({ apiBaseUrl: em.apiBaseUrl, accessToken: DEFAULT_TOKEN, rateLimit: { qps: 100, qpm: 6000 }, retryBaseMs: 10, retryCapMs: 50, retryBudgetMs: 300 })
  t.teardown(async () => await short.close())
  await t.rejects(mapping(short, kAdv, id, 'add', 'PHONE_SHA256', digests(1)), { code: 'HP_ERR_API_UNAVAILABLE', exitCode: 5 })
})

t.test('a 40100 storm is waited out with bounded request rate', async t => {
  const { client, em } = await setup(t, { faults: { storm: { startMs: 0, durationMs: 1500 } } })
  const t0 = Date.now()
  const info = await userInfo(client)
  t.equal(info.displayName, 'Emulated User')
  t.ok(Date.now() - t0 >= 1000, 'it waited for the storm to pass')
  t.ok((em.stats.get('40100') ?? 0) <= 12, `requests during the storm stayed bounded (${em.stats.get('40100')})`)
})

t.test('a revoked token stops with a re-authorization error', async t => {
  const { client } = await setup(t, { faults: { revokeTokenAfter: 3 } })
  const id = await createAudience(client, kAdv, 'r')
  await mapping(client, kAdv, id, 'add', 'EMAIL_SHA256', digests(3))
  await mapping(client, kAdv, id, 'add', 'EMAIL_SHA256', digests(3, 'y'))
  await t.rejects(mapping(client, kAdv, id, 'add', 'EMAIL_SHA256', digests(3, 'z')), { code: 'HP_ERR_API_REAUTHORIZE', apiCode: 40105 })
})

t.test('a poison identifier is isolated by bisection and the rest delivered', async t => {
  const d = digests(1000, 'poison')
  const { client, em } = await setup(t, { faults: { poisonId: d[637]! } })
  const id = await createAudience(client, kAdv, 'p')
  const key = 'POST /open_api/v1.3/segment/mapping/'
  const before = em.stats.get(key) ?? 0
  const poisoned = await mapping(client, kAdv, id, 'add', 'EMAIL_SHA256', d)
  t.same(poisoned, [637])
  const calls = (em.stats.get(key) ?? 0) - before
  t.ok(calls <= 2 * Math.ceil(Math.log2(1000)) + 1, `O(log n) calls (${calls})`)
  t.equal(em.state.snapshot()[0]!.members['EMAIL_SHA256']!.length, 999)
})

t.test('OAuth: consent redirect, single-use code, advertisers and roles', async t => {
  const { em } = await setup(t)
  const c = new TikTokClient({ apiBaseUrl: em.apiBaseUrl, rateLimit: { qps: 50, qpm: 3000 } })
  t.teardown(async () => await c.close())
  const url = authorizationUrl(em.authUrl, DEFAULT_APP.appId, 'st4te', 'http://127.0.0.1:9/cb')
  const res = await fetch(url, { redirect: 'manual' })
  t.equal(res.status, 302)
  const back = new URL(res.headers.get('location')!)
  t.equal(back.searchParams.get('state'), 'st4te')
  const code = back.searchParams.get('auth_code')!
  const grant = await exchangeAuthCode(c, DEFAULT_APP.appId, DEFAULT_APP.secret, code)
  t.ok(grant.advertiserIds.includes(kAdv))
  t.ok(grant.scopes.includes(31))
  await t.rejects(exchangeAuthCode(c, DEFAULT_APP.appId, DEFAULT_APP.secret, code), { code: 'HP_ERR_API_TERMINAL', apiCode: 40110 }, 'the code is single-use')
  c.setAccessToken(grant.accessToken)
  t.same((await authorizedAdvertisers(c, DEFAULT_APP.appId, DEFAULT_APP.secret)).map(a => a.advertiserId), grant.advertiserIds)
  t.equal(await advertiserRole(c, kAdv), 'ADMIN')
  t.equal(await advertiserRole(c, '7123456789012345679'), 'ANALYST')
  t.equal((await advertiserInfo(c, [kAdv]))[0]!.advertiserId, kAdv)
})
