// An audience deleted at TikTok behind hashpipe's back (Ads Manager): distribute refuses to
// deliver into it and names `distributions reset --forget-audience`, which leads to a
// distribute that delivers everything into a new audience.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { distributeWorld, people, expectedMembers } from '../helpers/distribute-world.js'
import { manage } from '../helpers/manage-world.js'

t.test('the way out distribute names works: distributions reset --forget-audience, then distribute', async t => {
  const w = await distributeWorld(t, 'first-party')
  writeFileSync(w.input, people(0, 120))
  t.equal((await w.distribute()).code, 0)
  const [old] = w.audienceIds()
  w.em.state.audiences.delete(old!)
  const refused = await w.distribute()
  t.equal(refused.code, 1)
  const named = /hashpipe (distributions reset [^\n]*?--yes)/.exec(refused.stderr)
  t.ok(named, 'a command is named')
  const reset = await manage(named![1]!.split(' '))
  t.equal(reset.code, 0, reset.stderr)
  t.equal((await w.distribute()).code, 0)
  t.same(w.members(), expectedMembers(0, 120))
  t.not(w.audienceIds()[0], old)
})
