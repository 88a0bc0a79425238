import t from 'tap'
import { inspect } from 'node:util'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkConfig, loadConfig, parseConfig, type ConfigProblem } from '../../engine/config.js'
import { formatPath, interpolateString, interpolateTree } from '../../engine/config-interpolate.js'
import { suggestKey } from '../../engine/config-rules.js'
import { ConfigError } from '../../pipeline/errors.js'
import { CANARY_SECRETS, assertNoCanary } from '../helpers/canary.js'

const kSecret = CANARY_SECRETS[1]!.plain
const kAdvertiser = '7123456789012345678' // > 2^53: a JS number would round it
const kEnv = { TIKTOK_APP_ID: '7000000000000000001', TIKTOK_APP_SECRET: kSecret }

const kBase = `
tiktok:
  app_id: \${TIKTOK_APP_ID}
  secret: \${TIKTOK_APP_SECRET:?TikTok app secret is required}
destinations:
  - name: Acme US
    integration: first-party
    advertiser_id: "${kAdvertiser}"
    connection: acme
segments:
  - name: loyal-2026
    inputs: [data/loyal.csv.gz]
    columns: { email: Email, phone: Phone, maid: MAID }
    destination: Acme US
`

/** The base config as a JS object, to mutate per case and feed as JSON. */
function base (): any {
  return {
    tiktok: { app_id: '${TIKTOK_APP_ID}', secret: '${TIKTOK_APP_SECRET}' },
    destinations: [{ name: 'Acme US', integration: 'first-party', advertiser_id: kAdvertiser, connection: 'acme' }],
    segments: [{ name: 'loyal-2026', inputs: ['data/loyal.csv.gz'], columns: { email: 'Email' }, destination: 'Acme US' }]
  }
}

function problemsOf (obj: unknown, env: Record<string, string> = kEnv): string[] {
  return checkConfig(JSON.stringify(obj), { path: '/cfg/hashpipe.json', env }).problems.map(p => `${p.path}: ${p.message}`)
}

t.test('interpolation forms', async t => {
  const env = { A: 'alpha', EMPTY: '', NL: 'x\ny', CR: 'x\ry' }
  const ok = (s: string): string => { const r = interpolateString(s, env); t.ok(r.ok, s); return r.ok ? r.value : '' }
  const err = (s: string): string => { const r = interpolateString(s, env); t.notOk(r.ok, s); return r.ok ? '' : r.message }
  t.equal(ok('plain'), 'plain')
  t.equal(ok('${A}'), 'alpha')
  t.equal(ok('pre-${A}-${A}-post'), 'pre-alpha-alpha-post')
  t.equal(ok('${EMPTY}'), '', 'set but empty is allowed by ${VAR}')
  t.equal(ok('${UNSET:-dflt}'), 'dflt')
  t.equal(ok('${EMPTY:-dflt}'), 'dflt', ':- also replaces an empty value')
  t.equal(ok('${A:-dflt}'), 'alpha')
  t.equal(ok('${UNSET-dflt}'), 'dflt')
  t.equal(ok('${EMPTY-dflt}'), '', '- keeps an empty value')
  t.equal(ok('${UNSET:-}'), '', 'explicit empty default')
  t.equal(ok('${A:?need A}'), 'alpha')
  t.equal(ok('$$'), '$')
  t.equal(ok('$${A}'), '${A}', '$$ escapes a reference')
  t.equal(ok('cost $5'), 'cost $5', 'a lone $ is literal')
  t.match(err('${UNSET}'), /environment variable UNSET is not set; set it, or give a default with \$\{UNSET:-default\}/)
  t.equal(err('${UNSET:?TikTok app secret is required}'), 'TikTok app secret is required (environment variable UNSET is not set)')
  t.equal(err('${EMPTY:?must be set}'), 'must be set (environment variable EMPTY is empty)')
  t.match(err('${UNSET:?}'), /UNSET is not set and is required/)
  t.equal(ok('${EMPTY?only when unset}'), '')
  t.match(err('${UNSET?only when unset}'), /only when unset/)
  t.match(err('${A'), /malformed \$\{\.\.\.\} reference at character 1/)
  t.match(err('x${1BAD}'), /malformed .* at character 2/)
  t.match(err('${A B}'), /malformed/)
  t.match(err('${NL}'), /NL contains a line break; values with newlines are refused/)
  t.match(err('${CR}'), /line break/)
  t.notMatch(err('${NL}'), /x\s*y/, 'the value is not quoted')
})

t.test('interpolateTree walks values only and names key paths', async t => {
  const r = interpolateTree({ 'a-${A}': '${A}', list: ['${A}', { deep: '${MISSING}' }], n: 5, literal: 'two\nlines' }, { A: 'v' })
  t.same(r.value, { 'a-${A}': 'v', list: ['v', { deep: '${MISSING}' }], n: 5, literal: 'two\nlines' })
  t.same(r.problems.map(p => p.path), ['list[1].deep', 'literal'])
  t.match(r.problems[0]!.message, /MISSING is not set/)
  t.match(r.problems[1]!.message, /contains a line break; values with newlines are refused/)
  t.equal(formatPath(['destinations', 0, 'advertiser_id']), 'destinations[0].advertiser_id')
  t.equal(formatPath(['segments', 1, 'columns', 'a b']), 'segments[1].columns["a b"]')
})

t.test('a valid YAML config resolves fully, with defaults', async t => {
  const c = parseConfig(kBase, { path: '/srv/hp/hashpipe.yaml', env: kEnv })
  t.equal(c.file, '/srv/hp/hashpipe.yaml')
  t.equal(c.stateDir, '/srv/hp/.hashpipe', 'state_dir defaults to .hashpipe beside the config file')
  t.equal(c.tiktok.apiBaseUrl, 'https://business-api.tiktok.com/open_api/v1.3')
  t.equal(c.tiktok.authUrl, 'https://business-api.tiktok.com/portal/auth')
  t.equal(c.tiktok.appId, '7000000000000000001')
  t.equal(c.tiktok.secret.reveal(), kSecret)
  t.same(c.tiktok.rateLimit, { qps: 10, qpm: 600 }, 'Basic tier')
  t.equal(c.tiktok.batchSize, 1000)
  t.equal(c.tiktok.fileMaxBytes, 250_000_000, 'TikTok\'s 250 MB per upload file')
  t.equal(c.tiktok.phoneHashForm, 'e164')
  t.same(c.normalize, { defaultCountry: 'US', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: false })
  t.same(c.destinations, [{ name: 'Acme US', integration: 'first-party', advertiserId: kAdvertiser, connection: 'acme', region: 'US', audienceType: 'partner' }], 'audience_type defaults to partner')
  t.same(c.segments, [{
    name: 'loyal-2026',
    inputs: ['/srv/hp/data/loyal.csv.gz'],
    columns: { email: 'Email', phone: 'Phone', maid: 'MAID' },
    destination: 'Acme US',
    dataType: 'first-party'
  }])
  t.equal(typeof c.destinations[0]!.advertiserId, 'string')
})

t.test('explicit values, JSON input, and the same result as YAML', async t => {
  const obj = base()
  obj.state_dir = '/var/lib/hashpipe'
  obj.tiktok = {
    ...obj.tiktok,
    api_base_url: 'http://127.0.0.1:8080/open_api/v1.3/',
    auth_url: 'http://localhost:8080/portal/auth',
    rate_limit: { qps: 20, qpm: '1200' },
    batch_size: 500,
    phone_hash_form: 'digits'
  }
  obj.hashing = { default_country: 'gb', email_canonicalize: 'gmail', strip_plus_tag: 'true' }
  obj.segments[0].inputs = 'one.csv'
  obj.segments[0].format = 'csv'
  const c = parseConfig(JSON.stringify(obj), { path: '/x/c.json', env: kEnv })
  t.equal(c.stateDir, '/var/lib/hashpipe', 'absolute state_dir kept')
  t.equal(c.tiktok.apiBaseUrl, 'http://127.0.0.1:8080/open_api/v1.3', 'loopback http allowed, trailing slash dropped')
  t.same(c.tiktok.rateLimit, { qps: 20, qpm: 1200 })
  t.equal(c.tiktok.batchSize, 500)
  t.same(c.normalize, { defaultCountry: 'GB', phoneHashForm: 'digits', emailCanonicalize: 'gmail', stripPlusTag: true })
  t.same(c.segments[0]!.inputs, ['/x/one.csv'], 'a single input may be a string')
  t.equal(c.segments[0]!.format, 'csv')

  const fromJson = parseConfig(JSON.stringify(base()), { path: '/x/c.json', env: kEnv })
  const fromYaml = parseConfig(kBase.replace('{ email: Email, phone: Phone, maid: MAID }', '{ email: Email }'), { path: '/x/c.yaml', env: kEnv })
  t.same(JSON.parse(JSON.stringify({ ...fromJson, file: 0 })), JSON.parse(JSON.stringify({ ...fromYaml, file: 0 })))
})

t.test('19-digit ids: kept exact as strings, refused as numbers', async t => {
  const ids = ['7123456789012345678', '9007199254740993001', '0000000000000000001']
  for (const id of ids) {
    const obj = base()
    obj.destinations[0].advertiser_id = id
    t.equal(parseConfig(JSON.stringify(obj), { env: kEnv }).destinations[0]!.advertiserId, id)
  }
  const yaml = kBase.replace(`"${kAdvertiser}"`, kAdvertiser)
  const problems = checkConfig(yaml, { env: kEnv }).problems
  t.same(problems.map(p => p.path), ['destinations[0].advertiser_id'])
  t.match(problems[0]!.message, /^must be exactly 19 digits, as a quoted string/)
  t.match(problems[0]!.message, `advertiser_id: "${kAdvertiser}"`, 'the exact digits as written, not a rounded float')
  const json = JSON.stringify(base()).replace(`"${kAdvertiser}"`, kAdvertiser)
  t.match(checkConfig(json, { path: 'c.json', env: kEnv }).problems[0], { path: 'destinations[0].advertiser_id', message: /quoted string.*"7123456789012345678"/ })
  for (const bad of ['712345678901234567', '71234567890123456789', '712345678901234567x', '']) {
    const obj = base()
    obj.destinations[0].advertiser_id = bad
    // 18 and 20 digits, a letter, empty: one problem, at the key, whatever the shape.
    t.same(problemsOf(obj), ['destinations[0].advertiser_id: must be exactly 19 digits, as a quoted string'], JSON.stringify(bad))
  }
  t.match(checkConfig(kBase.replace('app_id: ${TIKTOK_APP_ID}', 'app_id: 7000000000000000001'), { env: kEnv }).problems, [{ path: 'tiktok.app_id', message: /must be a string: quote it/ }])
})

t.test('every schema rule, by key path', async t => {
  const cases: Array<[string, (c: any) => void, string | RegExp]> = [
    ['missing tiktok', c => { delete c.tiktok }, 'tiktok: is required'],
    ['missing app_id', c => { delete c.tiktok.app_id }, 'tiktok.app_id: is required'],
    ['missing secret', c => { delete c.tiktok.secret }, 'tiktok.secret: is required'],
    ['empty secret', c => { c.tiktok.secret = '' }, 'tiktok.secret: must not be empty'],
    ['https only', c => { c.tiktok.api_base_url = 'http://api.example.com/v1.3' }, /^tiktok\.api_base_url: must use https/],
    ['not a URL', c => { c.tiktok.auth_url = 'portal/auth' }, 'tiktok.auth_url: must be an absolute http(s) URL'],
    ['URL with query', c => { c.tiktok.auth_url = 'https://x.example/auth?a=1' }, /tiktok\.auth_url: must not carry credentials, a query/],
    ['qps 0', c => { c.tiktok.rate_limit = { qps: 0 } }, 'tiktok.rate_limit.qps: must be at least 1'],
    ['qpm fraction', c => { c.tiktok.rate_limit = { qpm: 1.5 } }, 'tiktok.rate_limit.qpm: must be a whole number'],
    ['batch over TikTok max', c => { c.tiktok.batch_size = 1001 }, 'tiktok.batch_size: must be at most 1000'],
    ['phone form', c => { c.tiktok.phone_hash_form = 'national' }, 'tiktok.phone_hash_form: must be one of e164, digits'],
    ['country', c => { c.hashing = { default_country: 'USA' } }, /hashing\.default_country: must be an ISO 3166 alpha-2 country code/],
    ['canonicalize', c => { c.hashing = { email_canonicalize: 'all' } }, 'hashing.email_canonicalize: must be one of none, gmail'],
    ['strip flag', c => { c.hashing = { strip_plus_tag: 'yes' } }, 'hashing.strip_plus_tag: must be true or false'],
    ['destinations type', c => { c.destinations = { name: 'x' } }, 'destinations: must be a list'],
    ['destination name empty', c => { c.destinations[0].name = ' ' }, 'destinations[0].name: must not be empty'],
    ['destination name 150', c => { c.destinations[0].name = 'x'.repeat(150); c.segments[0].destination = 'x'.repeat(150) }, 'destinations[0].name: must be fewer than 150 characters'],
    ['integration', c => { c.destinations[0].integration = 'third-party' }, 'destinations[0].integration: must be one of first-party, first-party-record-sync, data-marketplace-3pd'],
    ['connection name', c => { c.destinations[0].connection = '../etc' }, /destinations\[0\]\.connection: must be a connection name/],
    ['region', c => { c.destinations[0].region = 'Europe' }, /destinations\[0\]\.region: must be a two-letter/],
    ['segment name long', c => { c.segments[0].name = 's'.repeat(71) }, /segments\[0\]\.name: must be at most 70 characters/],
    ['no inputs', c => { c.segments[0].inputs = [] }, 'segments[0].inputs: must list at least one input file'],
    ['input type', c => { c.segments[0].inputs = [3] }, 'segments[0].inputs[0]: must be a string (quote it)'],
    ['column type', c => { c.segments[0].columns = { emial: 'Email' } }, /segments\[0\]\.columns\.emial: is not an identifier type; use email\|/],
    ['column header', c => { c.segments[0].columns = { email: '' } }, 'segments[0].columns.email: must be the header (column or key) name, a non-empty string'],
    ['one-column type', c => { delete c.segments[0].columns; c.segments[0].type = 'fax' }, /segments\[0\]\.type: must be one of email, email_sha256/],
    ['format', c => { c.segments[0].format = 'xlsx' }, /segments\[0\]\.format: must be one of csv, tsv, lines, ndjson, json/],
    ['data_type', c => { c.segments[0].data_type = 'second-party' }, 'segments[0].data_type: must be one of first-party, third-party'],
    ['unknown top key', c => { c.statedir = 'x' }, 'statedir: unknown key; did you mean state_dir?'],
    ['camelCase key', c => { c.destinations[0].advertiserId = '1' }, 'destinations[0].advertiserId: unknown key; did you mean advertiser_id?'],
    ['unknown nested key', c => { c.tiktok.rate_limit = { qpd: 1 } }, 'tiktok.rate_limit.qpd: unknown key; did you mean qps?']
  ]
  for (const [name, mutate, want] of cases) {
    const c = base()
    mutate(c)
    const got = problemsOf(c)
    if (typeof want === 'string') t.same(got, [want], name)
    else t.match(got, [want], name)
    t.equal(got.length, 1, `${name}: exactly one problem`)
  }
})

t.test('seed rules', async t => {
  const dm = { name: 'DM', integration: 'data-marketplace-3pd', advertiser_id: '7123456789012345679', connection: 'acme' }
  const cases: Array<[string, (c: any) => void, RegExp[]]> = [
    ['duplicate destination (case-insensitive)', c => { c.destinations.push({ ...c.destinations[0], name: 'acme us' }) },
      [/^destinations\[1\]\.name: duplicate destination name 'acme us' \(also destinations\[0\]\)/]],
    ['segment to two destinations', c => { c.destinations.push({ ...c.destinations[0], name: 'Acme EU', advertiser_id: '7123456789012345670' }); c.segments[0].destination = ['Acme US', 'Acme EU'] },
      [/^segments\[0\]\.destination: names 2 destinations; .*TikTok does not allow the same segment to be sent to multiple TikTok ad accounts.*hashpipe segments clone loyal-2026 --name NEW/]],
    ['segment destinations key', c => { c.segments[0].destinations = ['Acme US'] },
      [/^segments\[0\]\.destinations: a segment has one destination .*hashpipe segments clone loyal-2026 --name NEW/]],
    ['same segment name, other destination', c => {
      c.destinations.push({ ...c.destinations[0], name: 'Acme EU', advertiser_id: '7123456789012345670' })
      c.segments.push({ ...c.segments[0], destination: 'Acme EU' })
    }, [/^segments\[1\]\.name: segment 'loyal-2026' already goes to destination 'Acme US' \(segments\[0\]\); this entry sends it to 'Acme EU'\. TikTok does not allow .*clone it under a unique name: hashpipe segments clone loyal-2026 --name NEW/]],
    ['same segment name, same destination', c => { c.segments.push({ ...c.segments[0] }) },
      [/^segments\[1\]\.name: duplicate segment name 'loyal-2026' \(also segments\[0\]\)/]],
    ['unknown destination', c => { c.segments[0].destination = 'Acme UK' },
      [/^segments\[0\]\.destination: no destination named 'Acme UK'; defined: 'Acme US'/]],
    ['columns and type', c => { c.segments[0].type = 'email' }, [/^segments\[0\]\.type: set either columns .* or type .*, not both/]],
    ['record sync outside US', c => { c.destinations[0].integration = 'first-party-record-sync'; c.destinations[0].region = 'gb' },
      [/^destinations\[0\]\.region: integration first-party-record-sync \(Record Sync\) is available only in the US/]],
    ['data marketplace agreements missing', c => { c.destinations.push({ ...dm }) }, [
      /^destinations\[1\]\.data_usage_reporting_requirement: is required for integration data-marketplace-3pd: set it to true \(or "I Agree"\)/,
      /^destinations\[1\]\.payment_model: is required .*% of campaign spend/,
      /^destinations\[1\]\.payment_requirement: is required .*TikTok Data Agreement/,
      /^destinations\[1\]\.reporting_contact_email: is required .*comma separated/
    ]],
    ['data marketplace agreement values', c => {
      c.destinations.push({ ...dm, data_usage_reporting_requirement: 'yes', payment_model: false, payment_requirement: 'I Agree', reporting_contact_email: 'ops@acme.example, not-an-email, ,x@y' })
    }, [
      /^destinations\[1\]\.data_usage_reporting_requirement: must be true or "I Agree"$/,
      /^destinations\[1\]\.payment_model: must be true or "I Agree"$/,
      /^destinations\[1\]\.reporting_contact_email: entries 2, 3, 4 of the comma-separated list are not email addresses$/
    ]],
    ['agreements on a first-party destination', c => { c.destinations[0].payment_model = true },
      [/^destinations\[0\]\.payment_model: applies only to integration data-marketplace-3pd; remove it/]],
    ['third-party segment to first-party destination', c => { c.segments[0].data_type = 'third-party' },
      [/^segments\[0\]\.data_type: third-party \(Data Marketplace\) segments go only to a data-marketplace-3pd destination; 'Acme US' is first-party/]],
    ['first-party segment to marketplace destination', c => {
      c.destinations = [{ ...dm, data_usage_reporting_requirement: true, payment_model: true, payment_requirement: 'i agree', reporting_contact_email: 'a@b.example' }]
      c.segments[0].destination = 'DM'
    }, [/^segments\[0\]\.destination: 'DM' is a data-marketplace-3pd destination, for third-party/]],
    ['third-party segment with MAIDs', c => {
      c.destinations = [{ ...dm, data_usage_reporting_requirement: true, payment_model: true, payment_requirement: true, reporting_contact_email: ['a@b.example'] }]
      c.segments[0] = { ...c.segments[0], destination: 'DM', data_type: 'third-party', columns: { email: 'E', maid: 'M' } }
    }, [/^segments\[0\]\.columns\.maid: Data Marketplace segments can carry only emails \(plain or SHA-256\) and plain phone numbers/]]
  ]
  for (const [name, mutate, want] of cases) {
    const c = base()
    mutate(c)
    const got = problemsOf(c)
    t.match(got, want, name)
    t.equal(got.length, want.length, `${name}: ${want.length} problem(s): ${got.join(' | ')}`)
  }

  const ok = base()
  ok.destinations.push({ ...dm, data_usage_reporting_requirement: true, payment_model: 'I Agree', payment_requirement: true, reporting_contact_email: 'a@b.example, c@d.example' })
  ok.segments.push({ name: 'dm-seg', inputs: ['x.csv'], columns: { email: 'E', phone: 'P' }, destination: 'DM', data_type: 'third-party' })
  ok.segments.push({ name: 'loyal-2026-eu', inputs: ['data/loyal.csv.gz'] })
  const c = parseConfig(JSON.stringify(ok), { env: kEnv })
  t.same(c.destinations[1]!.marketplace, { dataUsageReportingRequirement: true, paymentModel: true, paymentRequirement: true, reportingContactEmails: ['a@b.example', 'c@d.example'] })
  t.equal(c.segments[2]!.destination, undefined, 'a segment may have no destination (a fresh clone)')
  t.equal(c.segments[1]!.dataType, 'third-party')
})

t.test('every problem is listed at once, in document order', async t => {
  const c = base()
  c.state_dir = ''
  c.tiktok.batch_size = 0
  c.tiktok.secret = '${NOPE}'
  c.destinations[0].advertiser_id = '123'
  c.destinations.push({ name: 'Acme US', integration: 'x', advertiser_id: 5, connection: 'acme' })
  c.segments[0].destination = 'Nowhere'
  c.segments.push({ name: 'loyal-2026', inputs: [] })
  const problems = checkConfig(JSON.stringify(c), { path: 'c.json', env: { TIKTOK_APP_ID: '1' } }).problems
  t.same(problems.map(p => p.path), [
    'state_dir',
    'tiktok.secret',
    'tiktok.batch_size',
    'destinations[0].advertiser_id',
    'destinations[1].integration',
    'destinations[1].advertiser_id',
    'destinations[1].name',
    'segments[0].destination',
    'segments[1].inputs',
    'segments[1].name'
  ])
  t.match(problems.find(p => p.path === 'tiktok.secret')!.message, /environment variable NOPE is not set/)

  const err = t.throws(() => parseConfig(JSON.stringify(c), { path: 'c.json', env: { TIKTOK_APP_ID: '1' } })) as ConfigError
  t.ok(err instanceof ConfigError)
  t.equal(err.code, 'HP_ERR_CONFIG_INVALID')
  t.equal(err.exitCode, 78)
  t.equal(err.issues.length, 10)
  t.match(err.message, /^config 'c\.json' is invalid \(10 problems\):\n {2}state_dir: must not be empty\n/)
  t.ok(err.issues.includes('destinations[0].advertiser_id: must be exactly 19 digits, as a quoted string'))
})

t.test('syntax errors name line and column', async t => {
  const yaml = checkConfig('tiktok:\n  app_id: "1"\n  app_id: "2"\n', { env: {} }).problems
  t.match(yaml, [{ path: '', message: /^YAML syntax error at line 3, column 3: Map keys must be unique/ }])
  const json = checkConfig('{"tiktok": {"app_id": "1"}', { path: 'c.json', env: {} }).problems
  t.match(json, [{ path: '', message: /^JSON syntax error at line 1/ }])
  t.match(checkConfig('', { env: {} }).problems, [{ message: 'the config is empty' }])
  t.match(checkConfig('- a\n- b\n', { env: {} }).problems, [{ message: /must be a mapping/ }])
})

t.test('the secret never appears in a problem', async t => {
  const leaks = (text: string, env: Record<string, string>, path?: string): ConfigProblem[] => {
    const r = checkConfig(text, { ...(path !== undefined ? { path } : {}), env })
    const all = r.problems.map(p => `${p.path}: ${p.message}`).join('\n')
    assertNoCanary(t, all, CANARY_SECRETS)
    try { parseConfig(text, { ...(path !== undefined ? { path } : {}), env }) } catch (err) { assertNoCanary(t, (err as Error).message, CANARY_SECRETS) }
    return r.problems
  }
  // The secret as a wrong-type value, as a YAML syntax error's neighbour, and reused in other fields.
  t.ok(leaks(kBase.replace('${TIKTOK_APP_SECRET:?TikTok app secret is required}', '[' + kSecret + ']'), kEnv).length > 0)
  t.ok(leaks(`tiktok:\n  secret: ${kSecret}\n  app_id: [unclosed\n`, {}).length > 0)
  const c = base()
  c.tiktok.api_base_url = '${TIKTOK_APP_SECRET}'
  c.tiktok.app_id = `${kSecret} x`
  c.destinations[0].advertiser_id = '${TIKTOK_APP_SECRET}'
  c.destinations[0].name = kSecret.repeat(4)
  c.destinations[0].integration = kSecret
  c.segments[0].destination = kSecret
  c.segments[0].columns = { [kSecret]: 'x' }
  c[kSecret] = 1
  t.ok(leaks(JSON.stringify(c), kEnv, 'c.json').length >= 7)
  const d = base()
  d.segments[0].destination = kSecret
  t.match(leaks(JSON.stringify(d), kEnv, 'c.json'), [{ path: 'segments[0].destination', message: /no destination named '\*\*\*'/ }])
  // From an environment value with a newline.
  const nl = leaks(kBase, { ...kEnv, TIKTOK_APP_SECRET: `${kSecret}\nmore` })
  t.match(nl, [{ path: 'tiktok.secret', message: /TIKTOK_APP_SECRET contains a line break/ }])

  const cfg = parseConfig(kBase, { env: kEnv })
  for (const dump of [JSON.stringify(cfg), inspect(cfg, { depth: 10 }), String(cfg.tiktok.secret)]) {
    assertNoCanary(t, dump, CANARY_SECRETS)
    t.match(dump, /\[redacted\]/)
  }
})

t.test('loadConfig reads files; unreadable is a config error', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'hp.yaml'), kBase)
  const c = await loadConfig(join(dir, 'hp.yaml'), kEnv)
  t.equal(c.stateDir, join(dir, '.hashpipe'))
  t.same(c.segments[0]!.inputs, [join(dir, 'data/loyal.csv.gz')])
  writeFileSync(join(dir, 'hp.json'), JSON.stringify(base()))
  t.equal((await loadConfig(join(dir, 'hp.json'), kEnv)).destinations[0]!.advertiserId, kAdvertiser)
  await t.rejects(loadConfig(join(dir, 'missing.yaml'), kEnv), { code: 'HP_ERR_CONFIG_INVALID', exitCode: 78, message: /cannot read config file .*missing\.yaml': ENOENT/ })
})

t.test('key suggestions', async t => {
  t.equal(suggestKey('batchSize', ['batch_size', 'app_id']), 'batch_size')
  t.equal(suggestKey('api-base-url', ['api_base_url']), 'api_base_url')
  t.equal(suggestKey('segmnt', ['segments']), 'segments')
  t.equal(suggestKey('completely_else', ['segments']), undefined)
})
