// An input edited in place between an interrupted run and its resume — same size, same mtime,
// the change in the middle, away from the 64 KiB edges the cheap fingerprint reads — is caught
// by the content digest the hash pass took, and the resume is refused with the way out.
import t from 'tap'
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { distributeWorld, people, expectedMembers } from '../helpers/distribute-world.js'

t.test('a mid-file edit that keeps size and mtime refuses the resume; --restart delivers the new content', async t => {
  const w = await distributeWorld(t, 'first-party')
  writeFileSync(w.input, people(0, 20000))
  const killed = await w.distribute([], { HASHPIPE_CRASHPOINT: 'after-prepare' })
  t.equal(killed.signal, 'SIGKILL', 'killed after the hash pass')
  const before = statSync(w.input)
  const text = readFileSync(w.input, 'utf8')
  t.ok(text.length > 3 * 64 * 1024, 'the file is larger than both edges')
  const edited = text.replace('user10000@example.com', 'user29999@example.com')
  t.equal(edited.length, text.length)
  writeFileSync(w.input, edited)
  // Half a millisecond in: float seconds must not round below the recorded whole millisecond.
  utimesSync(w.input, before.atime, (Math.trunc(before.mtimeMs) + 0.5) / 1000)
  const resumed = await w.distribute()
  t.equal(resumed.code, 1, resumed.stderr)
  t.match(resumed.stderr, /HP_ERR_INPUT_CHANGED/)
  t.match(resumed.stderr, /changed content/)
  t.match(resumed.stderr, /--restart/, 'names the way out')
  t.equal(w.mappings(), 0, 'nothing was sent from the stale plan')
  const restarted = await w.distribute(['--restart'])
  t.equal(restarted.code, 0, restarted.stderr)
  const want = expectedMembers(0, 20000)
  want.delete([...expectedMembers(10000, 10001)][0]!)
  for (const m of expectedMembers(29999, 30000)) want.add(m)
  t.same(w.members(), want, 'the audience is the edited file')
})

t.test('an unchanged input resumes', async t => {
  const w = await distributeWorld(t, 'first-party')
  writeFileSync(w.input, people(0, 3000))
  t.equal((await w.distribute([], { HASHPIPE_CRASHPOINT: 'after-prepare' })).signal, 'SIGKILL')
  const resumed = await w.distribute()
  t.equal(resumed.code, 0, resumed.stderr)
  t.same(w.members(), expectedMembers(0, 3000))
})
