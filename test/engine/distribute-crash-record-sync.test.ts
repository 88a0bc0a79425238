// Crash and resume (see distribute-crash.test.ts): a Record Sync audience over inputs that grow,
// shrink and change, with kills in the delete phase; after each rerun the audience mirrors the
// input exactly, and one audience exists throughout.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { world, people, expectedSet } from '../helpers/crash-world.js'

t.test('record sync over inputs that grow, shrink and change, with kills in the delete phase', async t => {
  const w = await world(t, 'first-party-record-sync', ['seg'])
  const steps: Array<[number, number, string | undefined]> = [[0, 300, undefined], [0, 500, 'after-batch-ack:2'], [200, 500, 'after-batch-sent:4'], [250, 700, 'after-batch-recorded:6'], [250, 700, 'after-commit-rename']]
  for (const [from, to, point] of steps) {
    const content = people(from, to)
    writeFileSync(w.input('seg'), content)
    if (point !== undefined) t.equal((await w.distribute('seg', { crashpoint: point })).signal, 'SIGKILL', `killed at ${point}`)
    const r = await w.distribute('seg', { extra: ['--allow-mass-delete'] })
    t.equal(r.code, 0, r.stderr)
    t.same(w.members('seg'), expectedSet(content), `audience mirrors people ${from}..${to}`)
  }
  t.equal(w.audiences('seg'), 1)
})
