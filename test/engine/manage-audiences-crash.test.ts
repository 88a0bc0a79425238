// A crash between TikTok's delete and the state change of `audiences delete --with-distribution`:
// the next distribute sends nothing into the gone audience and names the way out, and running
// the same delete again finishes it, after which distribute delivers everything anew.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { distributeWorld, people, expectedMembers } from '../helpers/distribute-world.js'
import { distribution, listed, manage } from '../helpers/manage-world.js'

t.test('a crash between TikTok\'s delete and the state change: distribute says what to do; the same delete finishes it', async t => {
  const w = await distributeWorld(t, 'first-party')
  writeFileSync(w.input, people(0, 200))
  t.equal((await w.distribute()).code, 0)
  const [old] = w.audienceIds()
  // A child process, so the crashpoint can SIGKILL it between the two steps.
  const crashed = await w.run(['audiences', 'delete', '--config', w.config, '--audience-id', old!, '--with-distribution', '--yes'], { HASHPIPE_CRASHPOINT: 'after-audience-delete' })
  t.equal(crashed.signal, 'SIGKILL')
  t.same(w.audienceIds(), [], 'TikTok deleted it')
  t.equal(distribution(w)?.audienceId, old, 'the state still holds it')

  // The next distribute sends nothing into the gone audience and names the way out.
  writeFileSync(w.input, people(0, 250))
  const mappings = w.mappings()
  const refused = await w.distribute()
  t.equal(refused.code, 1)
  t.match(refused.stderr, /audience \d+, the one this distribution delivers into, is not at TikTok any more.*nothing was sent.*hashpipe distributions reset seg:Acme --config \S+ --forget-audience --yes/)
  t.equal(w.mappings(), mappings, 'no mapping request')
  t.match((await listed(w)).missing, [{ audience_id: old, distribution: 'seg:Acme', command: /distributions reset seg:Acme .*--forget-audience --yes/ }])

  // Running the interrupted delete again finishes it: the audience is gone, the state goes.
  const again = await manage(['audiences', 'delete', '--config', w.config, '--audience-id', old!, '--with-distribution', '--yes'])
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /already gone from TikTok/)
  t.equal(distribution(w)?.audienceId, null)
  t.equal((await w.distribute()).code, 0)
  t.equal(w.audienceIds().length, 1)
  t.same(w.members(), expectedMembers(0, 250))
})
