import t from 'tap'
import { execFile } from 'node:child_process'
import { PassThrough } from 'node:stream'
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import segments from '../../engine/commands/segments.js'
import { parseConfig } from '../../engine/config.js'
import type { CommandIo } from '../../engine/command.js'

const kCli = fileURLToPath(new URL('../../engine/cli.js', import.meta.url))
const kEnv = { TIKTOK_APP_ID: '7000000000000000001', TIKTOK_APP_SECRET: 'app-secret-value' }

const kConfig = `# hashpipe config
tiktok:
  app_id: \${TIKTOK_APP_ID}
  secret: \${TIKTOK_APP_SECRET:?TikTok app secret is required}   # from the environment
destinations:
  - name: Acme US
    integration: first-party
    advertiser_id: "7123456789012345678"
    connection: acme
segments:
  # loyalty members, exported nightly
  - name: loyal-2026
    inputs: [data/loyal.csv.gz]   # the export
    columns: { email: Email, phone: Phone }
    destination: Acme US
  - name: lapsed
    inputs: [data/lapsed.csv]
    destination: Acme US
`

function io (): { io: CommandIo, out: () => string, err: () => string } {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let o = ''
  let e = ''
  stdout.setEncoding('utf8').on('data', (c: string) => { o += c })
  stderr.setEncoding('utf8').on('data', (c: string) => { e += c })
  return { io: { stdin: new PassThrough(), stdout, stderr, env: kEnv, signal: new AbortController().signal }, out: () => o, err: () => e }
}

function setup (text = kConfig, name = 'hashpipe.yaml'): { dir: string, config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-segments-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = join(dir, name)
  writeFileSync(config, text)
  return { dir, config }
}

t.test('clone copies the segment without destination, keeps the rest of the file', async t => {
  const { dir, config } = setup()
  chmodSync(config, 0o640)
  const x = io()
  t.equal(await segments(['clone', 'loyal-2026', '--name', 'loyal-2026-eu', '--config', config], x.io), 0)
  const text = readFileSync(config, 'utf8')
  t.match(text, /^# hashpipe config\n/, 'leading comment kept')
  t.match(text, /secret: \$\{TIKTOK_APP_SECRET:\?TikTok app secret is required\} +# from the environment/, 'interpolation left as written, comment kept')
  t.notMatch(text, 'app-secret-value', 'values are not interpolated into the file')
  t.match(text, /# loyalty members, exported nightly\n {2}- name: loyal-2026\n/)
  t.match(text, /# cloned from 'loyal-2026' \(hashpipe segments clone\): set its destination to another ad account\n {2}- name: loyal-2026-eu\n {4}inputs: \[ data\/loyal\.csv\.gz \]/)
  t.equal(statSync(config).mode & 0o777, 0o640, 'file mode kept')
  t.same(readdirSync(dir), ['hashpipe.yaml'], 'no temp file left')

  const c = parseConfig(text, { path: config, env: kEnv })
  t.same(c.segments.map(s => [s.name, s.destination ?? null]), [['loyal-2026', 'Acme US'], ['loyal-2026-eu', null], ['lapsed', 'Acme US']])
  t.same(c.segments[1]!.columns, { email: 'Email', phone: 'Phone' })
  t.same(c.segments[1]!.inputs, c.segments[0]!.inputs)

  t.match(x.out(), `cloned segment 'loyal-2026' as 'loyal-2026-eu' in ${config} (same inputs and columns, no destination).`)
  t.match(x.out(), /1\. add a destination for the other TikTok ad account under destinations:/)
  t.match(x.out(), /2\. set destination: of segment 'loyal-2026-eu' to it/)
  t.match(x.out(), `4. hashpipe distribute --config ${config} --segment loyal-2026-eu`)
  t.equal(x.err(), '', 'the cloned config is valid')

  // Giving the clone another account's destination makes a config that validates.
  const withEu = text
    .replace('destinations:\n', 'destinations:\n  - name: Acme EU\n    integration: first-party\n    advertiser_id: "7123456789012345670"\n    connection: acme\n')
    .replace(/(- name: loyal-2026-eu\n(?: {4}.*\n)*)/, '$1    destination: Acme EU\n')
  t.same(parseConfig(withEu, { path: config, env: kEnv }).segments.map(s => s.destination), ['Acme US', 'Acme EU', 'Acme US'])
})

t.test('clone refusals', async t => {
  const { config } = setup()
  const before = readFileSync(config, 'utf8')
  await t.rejects(segments(['clone', 'nope', '--name', 'x', '--config', config], io().io), { code: 'HP_ERR_USAGE', exitCode: 2, message: /no segment named 'nope' .*segments: 'loyal-2026', 'lapsed'/ })
  await t.rejects(segments(['clone', 'loyal-2026', '--name', 'Lapsed', '--config', config], io().io), { code: 'HP_ERR_USAGE', message: /a segment named 'Lapsed' already exists/ })
  await t.rejects(segments(['clone', 'loyal-2026', '--config', config], io().io), { code: 'HP_ERR_USAGE', message: /--name NEW is required/ })
  await t.rejects(segments(['clone', 'loyal-2026', '--name', 'x'.repeat(71), '--config', config], io().io), { code: 'HP_ERR_USAGE', message: /1 to 70 characters/ })
  await t.rejects(segments(['clone', 'loyal-2026', '--name', 'x'], io().io), { code: 'HP_ERR_USAGE', message: /--config FILE is required/ })
  await t.rejects(segments(['rename', 'loyal-2026'], io().io), { code: 'HP_ERR_USAGE', message: /unknown subcommand 'rename'/ })
  await t.rejects(segments(['clone', 'a', '--name', 'b', '--config', join(config, '..', 'missing.yaml')], io().io), { code: 'HP_ERR_CONFIG_INVALID', exitCode: 78 })
  t.equal(readFileSync(config, 'utf8'), before, 'nothing written on refusal')
  const help = io()
  t.equal(await segments(['--help'], help.io), 0)
  t.match(help.out(), /^usage: hashpipe segments clone NAME --name NEW --config FILE/)
  t.match(help.out(), /TikTok does not allow the same segment to be sent to multiple TikTok ad accounts/)
})

t.test('JSON configs stay JSON, numbers exact', async t => {
  const obj = {
    tiktok: { app_id: '${TIKTOK_APP_ID}', secret: '${TIKTOK_APP_SECRET}', batch_size: 900 },
    destinations: [{ name: 'A', integration: 'first-party', advertiser_id: '7123456789012345678', connection: 'acme' }],
    segments: [{ name: 's', inputs: ['a.csv'], destination: 'A', type: 'email' }]
  }
  // An unquoted 19-digit number elsewhere must come back digit for digit, not as a float.
  const text = JSON.stringify(obj, null, 2).replace('"batch_size": 900', '"batch_size": 900, "x_big": 7123456789012345678')
  const { config } = setup(text, 'hashpipe.json')
  const x = io()
  t.equal(await segments(['clone', 's', '--name', 's2', '--config', config], x.io), 0)
  const out = readFileSync(config, 'utf8')
  const parsed = JSON.parse(out) as typeof obj
  t.same(parsed.segments, [obj.segments[0], { name: 's2', inputs: ['a.csv'], type: 'email' }])
  t.match(out, '"x_big": 7123456789012345678')
  t.match(x.err(), /note: the config still has 1 problem/, 'problems already there are reported, not hidden')
})

t.test('through the CLI', async t => {
  const { config } = setup()
  const r = await new Promise<{ code: number, stdout: string }>(resolve => {
    execFile(process.execPath, [kCli, 'segments', 'clone', 'lapsed', '--name', 'lapsed-2', '--config', config], { env: kEnv, encoding: 'utf8' }, (err, stdout) => {
      resolve({ code: err === null ? 0 : Number(err.code), stdout })
    })
  })
  t.equal(r.code, 0)
  t.match(r.stdout, /cloned segment 'lapsed' as 'lapsed-2'/)
  t.match(readFileSync(config, 'utf8'), /- name: lapsed-2\n {4}inputs: \[ data\/lapsed\.csv \]\n/)
})
