// validate's environment checks find what distribute would refuse: columns the header row lacks,
// connections not made, destinations not activated.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { StateStore } from '../../engine/state/state-store.js'
import { gzipSync } from 'node:zlib'
import { CANARY_SECRETS } from '../helpers/canary.js'

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

t.test('a column the header row lacks, plain and gzip: named by config key, as distribute would fail', async t => {
  const { dir, config } = setup()
  connectAndActivate(join(dir, '.hashpipe'))
  writeFileSync(config, kConfig.replace('columns: { email: Email }', 'columns: { email: Emial }'))
  const r = await cli(['validate', '--config', config])
  t.equal(r.code, 78)
  t.match(r.stderr, `segments[0].inputs[0]: segments[0].columns.email 'Emial': no such column in the header row of '${join(dir, 'data', 'loyal.csv')}'`)
  t.notMatch(r.stderr, /--columns/, 'no CLI flag in a config message')

  writeFileSync(join(dir, 'data', 'loyal.csv.gz'), gzipSync('Name,Contact\nx,a@b.example\n'))
  writeFileSync(config, kConfig.replace('data/loyal.csv', 'data/loyal.csv.gz').replace('    columns: { email: Email }\n', ''))
  const gz = await cli(['validate', '--config', config])
  t.equal(gz.code, 78)
  t.match(gz.stderr, /segments\[0\]\.inputs\[0\]: the first row of '.*loyal\.csv\.gz' \(2 fields\) is not a header naming an identifier column; map columns with segments\[0\]\.columns \(email: <name>/)
  const json = await cli(['validate', '--config', config, '--json'])
  t.same((JSON.parse(json.stdout) as { problems: Array<{ path: string }> }).problems.map(p => p.path), ['segments[0].inputs[0]'])
})

t.test('connections and activation, from the state catalog', async t => {
  const { dir, config } = setup()
  const stateDir = join(dir, '.hashpipe')
  // A state database exists (another connection was made) but not this connection.
  StateStore.open(stateDir).close()
  const missing = await cli(['validate', '--config', config])
  t.equal(missing.code, 78)
  t.match(missing.stderr, `destinations[0].connection: connection 'acme' is not made yet; run: hashpipe connect tiktok --config ${config} --name acme`)

  connectAndActivate(stateDir, { activate: false })
  const inactive = await cli(['validate', '--config', config])
  t.equal(inactive.code, 78)
  t.match(inactive.stderr, `destinations[0]: destination 'Acme US' is not activated; run: hashpipe connect tiktok --config ${config} --name acme`)

  connectAndActivate(stateDir)
  const ok = await cli(['validate', '--config', config])
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stderr, '')
})
