// `hashpipe distributions reset`: the delivered record, an interrupted run and its batch ledger
// are forgotten, so the next distribute re-sends the whole snapshot into the same audience (the
// emulator receives it again and holds exactly the snapshot); refused without --yes off a
// terminal, for a name that is not a distribution, and while another process holds the state.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { distributeWorld, people, expectedMembers } from '../helpers/distribute-world.js'
import { distribution, manage } from '../helpers/manage-world.js'
import { StateStore } from '../../engine/state/state-store.js'

t.test('reset after an interrupted run: the next distribute re-sends the whole snapshot into the same audience', async t => {
  const w = await distributeWorld(t, 'first-party')
  writeFileSync(w.input, people(0, 300))
  t.equal((await w.distribute()).code, 0)
  const [audience] = w.audienceIds()
  t.equal(w.em.state.received.get(audience!), 300)

  // An interrupted run with acknowledged batches in its ledger.
  writeFileSync(w.input, people(0, 400))
  const crashed = await w.distribute([], { HASHPIPE_CRASHPOINT: 'after-batch-ack' })
  t.equal(crashed.signal, 'SIGKILL')
  const sent = w.em.state.received.get(audience!)!
  t.equal(sent, 400, 'one batch of the 100 new ones acknowledged before the crash')

  const unconfirmed = await manage(['distributions', 'reset', 'seg:Acme', '--config', w.config])
  t.equal(unconfirmed.code, 2)
  t.match(unconfirmed.stderr, /^hashpipe: HP_ERR_USAGE: resetting distribution seg:Acme needs confirmation .*add --yes/m)
  const notName = await manage(['distributions', 'reset', 'seg', '--config', w.config, '--yes'])
  t.equal(notName.code, 2)
  t.match(notName.stderr, /'seg' is not a distribution name; write SEGMENT:DESTINATION \(recorded: seg:Acme\)/)
  const unknown = await manage(['distributions', 'reset', 'seg:Other', '--config', w.config, '--yes'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /^hashpipe: HP_ERR_STATE_MISSING: no distribution 'seg:Other' is recorded .*; recorded: seg:Acme/m)

  const before = distribution(w)!
  const r = await manage(['distributions', 'reset', 'seg→Acme', '--config', w.config, '--yes', '--json'])
  t.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  t.match(out, { distribution: 'seg:Acme', audience_id: audience, forgotten_audience_id: null, abandoned_run: /.+/, next: /sends the whole snapshot as adds into audience/ })
  t.match(distribution(w), { audienceId: audience, deliveredSnapshot: null, deliveredCounts: {}, deliveredAt: null })
  const state = StateStore.open(join(w.dir, 'state'))
  try {
    t.equal(state.runs.get(out.abandoned_run).outcome, 'abandoned')
    t.same(state.ledger.batches(out.abandoned_run), [], 'the batch ledger is forgotten')
    t.equal(state.runs.unfinished(before.id), undefined)
  } finally {
    state.close()
  }

  const next = await w.distribute(['--json'])
  t.equal(next.code, 0, next.stderr)
  t.same(w.audienceIds(), [audience], 'the same audience')
  t.same(w.members(), expectedMembers(0, 400), 'TikTok holds exactly the snapshot')
  t.equal(w.em.state.received.get(audience!), sent + 400, 'the whole snapshot was sent again')
  t.match(distribution(w), { audienceId: audience, deliveredCounts: { EMAIL_SHA256: 400 } })
})

t.test('reset --forget-audience: the next distribute finds the audience by name again', async t => {
  const w = await distributeWorld(t, 'first-party')
  writeFileSync(w.input, people(0, 150))
  t.equal((await w.distribute()).code, 0)
  const [audience] = w.audienceIds()
  const r = await manage(['distributions', 'reset', 'seg:Acme', '--config', w.config, '--yes', '--forget-audience'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, new RegExp(`audience id ${audience} forgotten; the next distribute looks up an audience named 'seg'`))
  t.equal(distribution(w)?.audienceId, null)
  t.equal((await w.distribute()).code, 0)
  t.same(w.audienceIds(), [audience], 'adopted by name, not a second one')
  t.equal(w.em.state.received.get(audience!), 300, 'sent again')
})

t.test('refused while another process holds the state: the refusal names its pid and command', async t => {
  const w = await distributeWorld(t, 'first-party')
  const store = fileURLToPath(new URL('../../engine/state/state-store.js', import.meta.url))
  const holder = spawn(process.execPath, ['--input-type=module', '-e', `const { StateStore } = await import(${JSON.stringify(store)}); StateStore.open(${JSON.stringify(join(w.dir, 'state'))}); console.log('held'); setInterval(() => {}, 1000)`], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { holder.kill('SIGKILL') })
  await once(holder.stdout, 'data')
  const r = await manage(['distributions', 'reset', 'seg:Acme', '--config', w.config, '--yes'])
  t.equal(r.code, 1)
  t.match(r.stderr, new RegExp(`^hashpipe: HP_ERR_STATE_LOCKED: state directory .* is in use by another hashpipe process \\(pid ${holder.pid!}\\); wait for it to finish.* \\(it runs: .*StateStore\\.open`, 'm'))
})
