// The version has one source, package.json: `hashpipe --version` and hashpipe_build_info say
// what it says.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { runCli } from '../helpers/cli.js'
import { VERSION } from '../../engine/version.js'

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }

t.test('hashpipe --version prints package.json\'s version', async t => {
  const r = await runCli(['--version'])
  t.equal(r.code, 0)
  t.equal(r.stdout, `hashpipe ${pkg.version}\n`)
  t.equal(r.stderr, '')
})

t.test('engine/version.ts reads the same version', async t => {
  t.match(VERSION, /^\d+\.\d+\.\d+/)
  t.equal(VERSION, pkg.version)
})
