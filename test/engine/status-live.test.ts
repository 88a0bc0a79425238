// status beside a running distribute: it reads without the writer's lock, shows the live
// position, after a SIGKILL what TikTok acknowledged, refreshes with --watch, needs no app
// secret and never creates a state directory.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { distributeWorld, people } from '../helpers/distribute-world.js'
import { cliPath, runCli } from '../helpers/cli.js'
import { DEFAULT_APP } from '../../adapters/emulator/emulator-state.js'

function start (args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess, out: () => string, err: () => string } {
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cliPath, ...args], { env: { ...process.env, ...env } })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  return { child, out: () => out, err: () => err }
}

async function until (what: string, check: () => boolean | Promise<boolean>, ms = 40_000): Promise<void> {
  const end = Date.now() + ms
  while (!await check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

t.test('status while distribute runs, and after it was killed', async t => {
  const w = await distributeWorld(t, 'first-party', 100)
  writeFileSync(w.input, people(0, 4000))
  w.em.faults.slowMs = 2500
  const d = start(['distribute', '--config', w.config, '--threads', '1'], { TIKTOK_APP_SECRET: DEFAULT_APP.secret })
  t.teardown(() => { d.child.kill('SIGKILL') })
  await until('the delivery', () => w.mappings() >= 3)
  // No app secret in the environment: status does not need it.
  const env = { TIKTOK_APP_SECRET: undefined }
  let s = await runCli(['status', '--config', w.config, '--json'], { env })
  t.equal(s.code, 0, s.stderr)
  const live = JSON.parse(s.stdout).distributions[0].runs[0].live
  t.equal(live.total, 4000, 'the plan size')
  t.type(live.writer_pid, 'number', 'the writer is running')
  await until('acknowledged batches', async () => {
    s = await runCli(['status', '--config', w.config], { env })
    t.equal(s.code, 0, s.stderr)
    return /run \S+: running \(running now, pid \d+, delivering: [1-9][\d,]* of 4,000 sent, \d+ s ago\)/.test(s.stdout)
  })
  t.pass('the live position while it runs')
  d.child.kill('SIGKILL')
  await once(d.child, 'close')
  s = await runCli(['status', '--config', w.config], { env })
  t.equal(s.code, 0, s.stderr)
  t.match(s.stdout, /interrupted in delivering; [1-9][\d,]* of 4,000 sent acknowledged by TikTok; distribute resumes it/)
  t.match(s.stdout, /delivered: {5}nothing committed yet; [1-9][\d,]* acknowledged by TikTok/)
  t.notMatch(s.stdout, /\+0 -0/)
  t.notMatch(s.stdout + s.stderr, /user\d+@|\b[0-9a-f]{64}\b/, 'no identifier')
  w.em.faults.slowMs = 0
})

t.test('status --watch refreshes until killed', async t => {
  const w = await distributeWorld(t, 'first-party', 100)
  const s = start(['status', '--config', w.config, '--watch', '0.2'])
  t.teardown(() => { s.child.kill('SIGKILL') })
  await until('two refreshes', () => (s.out().match(/^status at /gm) ?? []).length >= 2)
  s.child.kill('SIGINT')
  const [code] = await once(s.child, 'close') as [number | null]
  t.equal(code, 130, s.err())
  t.match(s.out(), /seg → Acme/)
})

t.test('status never creates the state directory', async t => {
  const w = await distributeWorld(t, 'first-party', 100)
  const config = join(w.dir, 'fresh.yaml')
  writeFileSync(config, readFileSync(w.config, 'utf8').replace('state_dir: state', 'state_dir: fresh-state'))
  const s = await runCli(['status', '--config', config], { env: { TIKTOK_APP_SECRET: undefined } })
  t.equal(s.code, 0, s.stderr)
  t.match(s.stdout, /no state yet in .*fresh-state.*hashpipe connect tiktok --config/)
  t.match(s.stdout, /audience: {6}not created yet/)
  t.notOk(existsSync(join(w.dir, 'fresh-state')), 'no state directory made')
  const j = JSON.parse((await runCli(['status', '--config', config, '--json'])).stdout)
  t.equal(j.state, 'missing')
  t.notOk(existsSync(join(w.dir, 'fresh-state')))
})
