// `hashpipe doctor` and the `hash --json` summary say whether the native core is active, and
// why not when it is not; HASHPIPE_NATIVE=0 turns it off with identical output.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../helpers/cli.js'
import type { NativeStatus } from '../../pipeline/native-hash.js'

const kOff = { active: false, reason: 'turned off by HASHPIPE_NATIVE=0' }
const kUnset = { HASHPIPE_NATIVE: undefined }

// The status without HASHPIPE_NATIVE in the environment (active where the addon is built), as a
// fresh process loads it: this one may run under HASHPIPE_NATIVE=0.
function statusUnset (): NativeStatus {
  const moduleUrl = new URL('../../pipeline/native-hash.js', import.meta.url).href
  const { HASHPIPE_NATIVE: _unused, ...env } = process.env
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `console.log(JSON.stringify((await import(${JSON.stringify(moduleUrl)})).nativeStatus))`], { env, encoding: 'utf8', timeout: 30_000 })
  return JSON.parse(r.stdout) as NativeStatus
}
const on = statusUnset()

const dir = mkdtempSync(join(tmpdir(), 'hp-native-status-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

t.test('doctor reports the native core, as text and as JSON, without failing on it', async t => {
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, 'state_dir: state\ntiktok:\n  app_id: "123"\n  secret: s3cret\n')
  const text = await runCli(['doctor', '--config', config], { env: kUnset })
  t.equal(text.code, 0, text.stderr)
  t.match(text.stdout, on.active ? /^info native core: active/m : /^info native core: inactive: /m)
  const off = await runCli(['doctor', '--config', config], { env: { HASHPIPE_NATIVE: '0' } })
  t.equal(off.code, 0, 'an inactive native core is not a failed check')
  t.match(off.stdout, /^info native core: inactive: turned off by HASHPIPE_NATIVE=0 \(hashing takes the pure-Node path: identical output, slower\)$/m)
  const json = await runCli(['doctor', '--config', config, '--json'], { env: { HASHPIPE_NATIVE: '0' } })
  t.equal(json.code, 0)
  t.match(JSON.parse(json.stdout), { native: kOff })
})

t.test('the hash summary carries native: active, or inactive with the reason; the output is the same', async t => {
  const input = join(dir, 'ids.csv')
  const rows = ['email,phone,maid']
  for (let i = 0; i < 3000; i++) rows.push(`User${i}@Example.com,(415) 555-${String(1000 + (i % 9000)).padStart(4, '0')},${i % 7 === 0 ? 'bad' : `${String(i).padStart(8, '0')}-0000-4000-8000-000000000001`}`)
  writeFileSync(input, rows.join('\n') + '\n')
  const outputs: string[] = []
  for (const [env, expected] of [[kUnset, on], [{ HASHPIPE_NATIVE: '0' }, kOff]] as const) {
    const out = join(dir, `out-${outputs.length}.csv`)
    const r = await runCli(['hash', input, '--out', out, '--json', '--no-progress', '--threads', '1', '--batch-bytes', '16KiB', '--max-reject-ratio', '1'], { env })
    t.equal(r.code, 0, r.stderr)
    const summary = JSON.parse(r.stdout) as { native: unknown, valid: number }
    t.same(summary.native, expected, `HASHPIPE_NATIVE=${env.HASHPIPE_NATIVE ?? '(unset)'}`)
    t.ok(summary.valid > 6000)
    outputs.push(readFileSync(out, 'utf8'))
  }
  const text = await runCli(['hash', input, '--out', join(dir, 'text.csv'), '--no-progress', '--max-reject-ratio', '1'], { env: { HASHPIPE_NATIVE: '0' } })
  t.match(text.stdout, /^native core {5}inactive: turned off by HASHPIPE_NATIVE=0$/m, 'the text summary says so too')
  t.equal(outputs[0], outputs[1], 'byte-identical output with and without the native core')
})
