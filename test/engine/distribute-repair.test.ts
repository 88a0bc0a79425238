// A damaged or missing delivered snapshot (hashpipe's record of what TikTok holds) is not a dead
// end: the refusal names `--rebuild-delivered` (the whole snapshot re-sent as adds) and, for
// Record Sync, `--rebuild-delivered --recreate-audience` (a new audience, the old one deleted);
// both commands exist in `distribute --help`, and running them gets the distribution back to a
// state where a plain run works and sends nothing.
import t from 'tap'
import { rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { distributeWorld, people, expectedMembers, namedCommands, type World } from '../helpers/distribute-world.js'

function deliveredDir (w: World): string {
  const name = readdirSync(w.spool()).find(n => n.startsWith('delivered-'))
  if (name === undefined) throw new Error('no delivered snapshot')
  return join(w.spool(), name)
}

function damage (file: string): void {
  const bytes = readFileSync(file)
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x10
  writeFileSync(file, bytes)
}

const union = (...sets: Array<Set<string>>): Set<string> => new Set(sets.flatMap(s => [...s]))

t.test('Record Sync, damaged delivered snapshot: refused with two ways out, both work', async t => {
  const w = await distributeWorld(t, 'first-party-record-sync')
  const help = (await w.run(['distribute', '--help'])).stdout
  writeFileSync(w.input, people(0, 300))
  t.equal((await w.distribute()).code, 0)
  const before = expectedMembers(0, 300)
  damage(join(deliveredDir(w), 'EMAIL_SHA256.bin'))
  writeFileSync(w.input, people(100, 400))
  const now = expectedMembers(100, 400)

  const refused = await w.distribute()
  t.equal(refused.code, 1)
  t.match(refused.stderr, /delivered snapshot.*damaged or missing.*--restart can't help/)
  const commands = namedCommands(refused.stderr)
  const rebuild = commands.find(c => c.includes('--rebuild-delivered') && !c.includes('--recreate-audience'))
  const recreate = commands.find(c => c.includes('--recreate-audience'))
  t.ok(rebuild !== undefined && recreate !== undefined, `both ways out are named: ${JSON.stringify(commands)}`)
  for (const c of commands) {
    for (const flag of c.filter(a => a.startsWith('--'))) t.match(help, flag, `${flag} is in distribute --help`)
    t.equal(c[c.indexOf('--config') + 1], w.config)
  }
  t.match(refused.stderr, /identifiers that left the segment would stay.*campaigns targeting the old one must be re-pointed/, 'the trade-off is stated')
  const sentBefore = w.mappings()
  const restarted = await w.distribute(['--restart'])
  t.equal(restarted.code, 1, '--restart alone does not help, and says so')
  t.same(namedCommands(restarted.stderr), commands)
  t.equal(w.mappings(), sentBefore, 'nothing was sent from the damaged record')

  const rebuilt = await w.run(rebuild!)
  t.equal(rebuilt.code, 0, rebuilt.stderr)
  t.match(rebuilt.stderr, /not deleted/, 'the re-add trade-off is stated when it happens')
  t.same(w.members(), union(before, now), 're-adding: everything now in the segment, and the stale members stay')
  t.equal(w.audienceIds().length, 1)
  const settled = w.mappings()
  t.equal((await w.distribute()).code, 0)
  t.equal(w.mappings(), settled, 'the record is whole again: an unchanged segment sends nothing')

  const oldId = w.audienceIds()[0]
  const recreated = await w.run(recreate!)
  t.equal(recreated.code, 0, recreated.stderr)
  t.match(recreated.stderr, /re-pointed/)
  t.equal(w.audienceIds().length, 1, 'the old audience is deleted')
  t.not(w.audienceIds()[0], oldId, 'a new audience id')
  t.same(w.members(), now, 'recreating: the audience equals the segment exactly')
  t.match(recreated.stdout, `audience ${w.audienceIds()[0]!}`)
  const again = w.mappings()
  t.equal((await w.distribute()).code, 0)
  t.equal(w.mappings(), again)
})

t.test('first-party, missing delivered snapshot: --rebuild-delivered re-sends the snapshot', async t => {
  const w = await distributeWorld(t, 'first-party')
  writeFileSync(w.input, people(0, 200))
  t.equal((await w.distribute()).code, 0)
  rmSync(deliveredDir(w), { recursive: true, force: true })
  writeFileSync(w.input, people(0, 260))
  const refused = await w.distribute()
  t.equal(refused.code, 1)
  const commands = namedCommands(refused.stderr)
  t.same(commands.map(c => c.filter(a => a.startsWith('--'))), [['--config', '--segment', '--rebuild-delivered']], 'only the re-add way out: first-party never deletes')
  const r = await w.run(commands[0]!)
  t.equal(r.code, 0, r.stderr)
  t.same(w.members(), expectedMembers(0, 260))
  t.equal(w.audienceIds().length, 1)
  const sent = w.mappings()
  t.equal((await w.distribute()).code, 0)
  t.equal(w.mappings(), sent)
})
