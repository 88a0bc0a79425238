// `distribute --recreate-audience` replaces the audience: the distribution lets go of the old id
// (recorded in the run), deletes the old audience at TikTok, creates a new one, delivers into it.
// Killed at any of those steps and run again without the option, it finishes the same run: one
// audience (the new one), holding the segment exactly.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { distributeWorld, people, expectedMembers } from '../helpers/distribute-world.js'

t.test('a recreate killed half-way finishes on a plain rerun: one audience, exact members', async t => {
  for (const point of ['before-create-audience', 'after-create-audience', 'after-batch-ack:2']) {
    const w = await distributeWorld(t, 'first-party-record-sync', 40)
    writeFileSync(w.input, people(0, 300))
    t.equal((await w.distribute()).code, 0)
    const oldId = w.audienceIds()[0]
    writeFileSync(w.input, people(50, 300))
    const killed = await w.distribute(['--recreate-audience'], { HASHPIPE_CRASHPOINT: point })
    t.equal(killed.signal, 'SIGKILL', `killed at ${point}`)
    const r = await w.distribute()
    t.equal(r.code, 0, r.stderr)
    t.equal(w.audienceIds().length, 1, `${point}: one audience`)
    t.not(w.audienceIds()[0], oldId, `${point}: the new one`)
    t.same(w.members(), expectedMembers(50, 300), `${point}: exact`)
  }
})
