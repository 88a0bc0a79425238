// validate's environment checks find what distribute would refuse: columns the header row lacks,
// connections not made, destinations not activated.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { StateStore } from '../../engine/state/state-store.js'
import { gzipSync } from 'node:zlib'
import { cli, kConfig, setup, connectAndActivate } from '../helpers/validate-world.js'

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
