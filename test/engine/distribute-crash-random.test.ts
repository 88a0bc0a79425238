// Crash and resume (see distribute-crash.test.ts): kills at random moments of a first-party run,
// then a rerun ends with the audience equal to the segment.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { cliPath as cli } from '../helpers/cli.js'
import { kAppSecret, world, people, expectedSet } from '../helpers/crash-world.js'

t.test('kills at random moments, then a rerun', async t => {
  const w = await world(t, 'first-party', ['seg'])
  const content = people(0, 2000)
  writeFileSync(w.input('seg'), content)
  let seed = 7
  for (let i = 0; i < 4; i++) {
    seed = (seed * 48271) % 2147483647
    const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cli, 'distribute', '--config', w.config, '--threads', '1'], { env: { ...process.env, TIKTOK_APP_SECRET: kAppSecret }, stdio: 'ignore' })
    const exited = once(child, 'exit')
    await new Promise(resolve => setTimeout(resolve, 200 + (seed % 1200)))
    child.kill('SIGKILL')
    await exited
  }
  const last = await w.distribute('seg')
  t.equal(last.code, 0, last.stderr)
  t.same(w.members('seg'), expectedSet(content))
  t.equal(w.audiences('seg'), 1)
})
