import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { StateStore } from '../../engine/state/state-store.js'
import { CANARY_SECRETS, assertNoCanary } from '../helpers/canary.js'

const kCli = fileURLToPath(new URL('../../engine/cli.js', import.meta.url))
const kSecret = CANARY_SECRETS[1]!.plain
const kEnv = { TIKTOK_APP_ID: '7000000000000000001', TIKTOK_APP_SECRET: kSecret }

interface Result { code: number, stdout: string, stderr: string }

async function cli (args: string[], env: Record<string, string> = kEnv): Promise<Result> {
  return await new Promise(resolve => {
    execFile(process.execPath, [kCli, ...args], { env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

const kConfig = `# test config
tiktok:
  app_id: \${TIKTOK_APP_ID}
  secret: \${TIKTOK_APP_SECRET:?TikTok app secret is required}
destinations:
  - name: Acme US
    integration: first-party
    advertiser_id: "7123456789012345678"
    connection: acme
segments:
  - name: loyal-2026
    inputs: [data/loyal.csv]
    columns: { email: Email }
    destination: Acme US
`

function setup (): { dir: string, config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-validate-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'data'))
  writeFileSync(join(dir, 'data', 'loyal.csv'), 'Email\na@b.example\n')
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, kConfig)
  return { dir, config }
}

/** What `connect` records: the token, the connection and (unless told otherwise) the activated destination. */
function connectAndActivate (stateDir: string, { activate = true }: { activate?: boolean } = {}): void {
  const state = StateStore.open(stateDir)
  try {
    state.tokens.write('acme', CANARY_SECRETS[0]!.plain)
    state.catalog.putConnection({ name: 'acme', advertiserIds: ['7123456789012345678'], scopes: [] })
    state.catalog.putDestination({ name: 'Acme US', advertiserId: '7123456789012345678', integration: 'first-party', connection: 'acme', region: 'US' })
    if (activate) state.catalog.activateDestination('Acme US', 'ADMIN')
  } finally {
    state.close()
  }
}

t.test('--help and usage errors', async t => {
  const help = await cli(['validate', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /^usage: hashpipe validate --config FILE/)
  t.match(help.stdout, /exits 78/)
  const missing = await cli(['validate'])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /--config FILE is required/)
  const unknown = await cli(['validate', '--config', 'x.yaml', '--frobnicate'])
  t.equal(unknown.code, 2)
})

t.test('a valid config: exit 0 and the summary line', async t => {
  const { dir, config } = setup()
  const r = await cli(['validate', '--config', config])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, 'config OK: 1 destination, 1 segment\n')
  t.match(r.stderr, `note: connection 'acme' is not connected yet; run: hashpipe connect tiktok --config ${config} --name acme`)
  t.notOk(existsSync(join(dir, '.hashpipe')), 'validate creates no state directory')
  connectAndActivate(join(dir, '.hashpipe'))
  const connected = await cli(['validate', '--config', config])
  t.equal(connected.code, 0)
  t.equal(connected.stderr, '', 'no note once the connection exists')
  assertNoCanary(t, r.stdout + r.stderr + connected.stdout + connected.stderr, CANARY_SECRETS)

  const json = await cli(['validate', '--config', config, '--json'])
  t.equal(json.code, 0)
  t.same(JSON.parse(json.stdout), { ok: true, file: config, destinations: 1, segments: 1, conversions: 0, problems: [], notes: [] })
})

t.test('an invalid config: exit 78 listing every problem, secret never shown', async t => {
  const { dir, config } = setup()
  writeFileSync(config, kConfig
    .replace('"7123456789012345678"', '7123456789012345678')
    .replace('integration: first-party', 'integration: first-party-ish')
    .replace('destination: Acme US', 'destination: [Acme US, Acme EU]')
    .replace('app_id: ${TIKTOK_APP_ID}', `app_id: ${kSecret} x`))
  const r = await cli(['validate', '--config', config])
  t.equal(r.code, 78)
  t.equal(r.stdout, '')
  const lines = r.stderr.trimEnd().split('\n')
  t.equal(lines[0], `hashpipe: HP_ERR_CONFIG_INVALID: config '${config}' is invalid (4 problems):`)
  t.match(lines.slice(1), [
    /^ {2}tiktok\.app_id: must not contain spaces$/,
    /^ {2}destinations\[0\]\.integration: must be one of first-party, first-party-record-sync, data-marketplace-3pd$/,
    /^ {2}destinations\[0\]\.advertiser_id: must be exactly 19 digits, as a quoted string/,
    /^ {2}segments\[0\]\.destination: names 2 destinations; .*hashpipe segments clone loyal-2026 --name NEW/
  ])
  assertNoCanary(t, r.stdout + r.stderr, CANARY_SECRETS)

  const json = await cli(['validate', '--config', config, '--json'])
  t.equal(json.code, 78)
  const body = JSON.parse(json.stdout) as { ok: boolean, problems: Array<{ path: string, message: string }> }
  t.equal(body.ok, false)
  t.same(body.problems.map(p => p.path), ['tiktok.app_id', 'destinations[0].integration', 'destinations[0].advertiser_id', 'segments[0].destination'])
  assertNoCanary(t, json.stdout + json.stderr, CANARY_SECRETS)

  // An unset variable without default names the key path and the variable.
  writeFileSync(config, kConfig)
  const unset = await cli(['validate', '--config', config], { TIKTOK_APP_ID: '1' })
  t.equal(unset.code, 78)
  t.match(unset.stderr, /tiktok\.secret: TikTok app secret is required \(environment variable TIKTOK_APP_SECRET is not set\)/)

  const gone = await cli(['validate', '--config', join(dir, 'nope.yaml')])
  t.equal(gone.code, 78)
  t.match(gone.stderr, /cannot read config file .*nope\.yaml': ENOENT/)
})

t.test('environment checks: missing inputs, --no-environment', async t => {
  const { dir, config } = setup()
  rmSync(join(dir, 'data', 'loyal.csv'))
  const r = await cli(['validate', '--config', config])
  t.equal(r.code, 78)
  t.match(r.stderr, `segments[0].inputs[0]: input file '${join(dir, 'data', 'loyal.csv')}' does not exist (paths are relative to the config file's directory)`)
  const skipped = await cli(['validate', '--config', config, '--no-environment'])
  t.equal(skipped.code, 0)
  t.equal(skipped.stdout, 'config OK: 1 destination, 1 segment\n')
})
