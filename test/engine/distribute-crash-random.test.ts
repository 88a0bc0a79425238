// Crash and resume, end to end (3 of 3): kills at random moments of a first-party run, and a
// Record Sync sequence (grow, shrink, change) with kills in the delete phase; each ends with the
// audience equal to the segment.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { cliPath as cli } from '../helpers/cli.js'
import { kAppSecret, world, people, run, expectedSet } from '../helpers/crash-world.js'

t.test('kills at random moments, then a rerun', async t => {
  const w = await world(t, 'first-party')
  writeFileSync(w.input, people(0, 2000))
  let seed = 7
  for (let i = 0; i < 4; i++) {
    seed = (seed * 48271) % 2147483647
    const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cli, 'distribute', '--config', w.config, '--threads', '1'], { env: { ...process.env, TIKTOK_APP_SECRET: kAppSecret }, stdio: 'ignore' })
    const exited = once(child, 'exit')
    await new Promise(resolve => setTimeout(resolve, 200 + (seed % 1200)))
    child.kill('SIGKILL')
    await exited
  }
  const last = await run(['distribute', '--config', w.config, '--threads', '1'])
  t.equal(last.code, 0, last.stderr)
  t.same(w.members(), await expectedSet(w.dir, w.input))
  t.equal(w.audiences(), 1)
})

t.test('record sync over inputs that grow, shrink and change, with kills in the delete phase', async t => {
  const w = await world(t, 'first-party-record-sync')
  const steps: Array<[number, number, string | undefined]> = [[0, 300, undefined], [0, 500, 'after-batch-ack:2'], [200, 500, 'after-batch-sent:4'], [250, 700, 'after-batch-recorded:6'], [250, 700, 'after-commit-rename']]
  for (const [from, to, point] of steps) {
    writeFileSync(w.input, people(from, to))
    if (point !== undefined) t.equal((await run(['distribute', '--config', w.config, '--threads', '1'], { HASHPIPE_CRASHPOINT: point })).signal, 'SIGKILL', `killed at ${point}`)
    const r = await run(['distribute', '--config', w.config, '--threads', '1', '--allow-mass-delete'])
    t.equal(r.code, 0, r.stderr)
    t.same(w.members(), await expectedSet(w.dir, w.input), `audience mirrors people ${from}..${to}`)
  }
  t.equal(w.audiences(), 1)
})
