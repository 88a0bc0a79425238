import t from 'tap'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CANARY_SECRETS, assertNoCanary } from '../helpers/canary.js'
import { kSecret, cli, kConfig, setup, connectAndActivate } from '../helpers/validate-world.js'

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
