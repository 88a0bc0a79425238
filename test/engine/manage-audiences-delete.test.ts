// `hashpipe audiences delete` against the emulator: an owned audience is refused unless the
// distribution goes with it, every delete needs --yes off a terminal, and a delete with
// --with-distribution leaves a state whose next distribute makes a new audience with everything.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { distributeWorld, people, expectedMembers, kAdv } from '../helpers/distribute-world.js'
import { distribution, manage } from '../helpers/manage-world.js'

t.test('delete: refusals (owned without --with-distribution; no --yes without a terminal), then an unowned delete', async t => {
  const w = await distributeWorld(t, 'first-party')
  writeFileSync(w.input, people(0, 50))
  t.equal((await w.distribute()).code, 0)
  const [owned] = w.audienceIds()
  const other = w.em.state.createAudience(kAdv, 'stray')

  const refused = await manage(['audiences', 'delete', '--config', w.config, '--audience-id', owned!, '--yes'])
  t.equal(refused.code, 2)
  t.match(refused.stderr, /^hashpipe: HP_ERR_USAGE: audience \d+ belongs to distribution seg:Acme .*--with-distribution --yes.*hashpipe distributions reset seg:Acme/m)
  t.same(w.audienceIds().sort(), [owned, other].sort(), 'nothing deleted')

  const unconfirmed = await manage(['audiences', 'delete', '--config', w.config, '--audience-id', other])
  t.equal(unconfirmed.code, 2)
  t.match(unconfirmed.stderr, /^hashpipe: HP_ERR_USAGE: deleting audience \d+ needs confirmation and this run has no terminal to ask on; add --yes/m)
  t.ok(w.audienceIds().includes(other), 'still there')

  const unknown = await manage(['audiences', 'delete', '--config', w.config, '--audience-id', '42', '--yes'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /no audience 42 in ad account 7123456789012345678; see what there is: hashpipe audiences list/)

  const done = await manage(['audiences', 'delete', '--config', w.config, '--audience-id', other, '--yes', '--json'])
  t.equal(done.code, 0, done.stderr)
  t.match(JSON.parse(done.stdout), { audience_id: other, deleted: true, distribution: null, distribution_reset: false })
  t.same(w.audienceIds(), [owned])
  t.equal(distribution(w)?.audienceId, owned, 'the distribution is untouched')
})

t.test('delete --with-distribution: the audience is gone, so is the state; the next distribute makes a new audience with everything', async t => {
  const w = await distributeWorld(t, 'first-party-record-sync')
  writeFileSync(w.input, people(0, 300))
  t.equal((await w.distribute()).code, 0)
  const [old] = w.audienceIds()
  const r = await manage(['audiences', 'delete', '--config', w.config, '--audience-id', old!, '--with-distribution', '--yes'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /deleted at TikTok\ndistribution seg:Acme: delivered state and audience id forgotten/)
  t.same(w.audienceIds(), [], 'TikTok no longer has it')
  t.match(distribution(w), { audienceId: null, deliveredSnapshot: null, deliveredCounts: {} })

  const next = await w.distribute()
  t.equal(next.code, 0, next.stderr)
  const ids = w.audienceIds()
  t.equal(ids.length, 1)
  t.not(ids[0], old, 'a new audience')
  t.same(w.members(), expectedMembers(0, 300), 'everything delivered into it')
  t.equal(distribution(w)?.audienceId, ids[0])
})

t.test('delete of a customer-file audience with its distribution', async t => {
  const w = await distributeWorld(t, 'first-party', 100, { destination: ', audience_type: customer_file' })
  writeFileSync(w.input, people(0, 1200))
  t.equal((await w.distribute()).code, 0)
  const [old] = w.audienceIds()
  const r = await manage(['audiences', 'delete', '--config', w.config, '--audience-id', old!, '--with-distribution', '--yes', '--json'])
  t.equal(r.code, 0, r.stderr)
  t.match(JSON.parse(r.stdout), { kind: 'customer_file', deleted: true, distribution: 'seg:Acme', distribution_reset: true })
  t.same(w.audienceIds(), [])
  t.equal(w.em.stats.get('POST /open_api/v1.3/dmp/custom_audience/delete/'), 1, 'deleted through the customer-file endpoint')
})
