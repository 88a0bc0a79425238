// Inputs in a config: a corrupt Parquet input sends nothing; a glob with a delimiter is
// delivered, and the resume fingerprint of the expanded list sees the file the glob added.
import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { distributeWorld } from '../helpers/distribute-world.js'

const people = [['a@example.com', '2025550100'], ['b@example.com', '2025550101'], ['c@example.com', '']]
const delimited = (d: string): string => `name${d}email${d}phone\n` + people.map((p, i) => `"n${d}${i}"${d}${p[0]!}${d}${p[1]!}`).join('\n') + '\n'

t.test('distribute: a corrupt Parquet input sends nothing; a glob with a delimiter in the config is delivered', async t => {
  const w = await distributeWorld(t, 'first-party-record-sync')
  writeFileSync(w.input, Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 7)]))
  const bad = await w.distribute()
  t.equal(bad.code, 1, bad.stderr)
  t.match(bad.stderr, /HP_ERR_INPUT_CORRUPT_PARQUET: seg → Acme: Parquet input '.*seg\.csv' is not a readable Parquet file/)
  t.equal(w.mappings(), 0, 'nothing sent')
  t.equal(w.audienceIds().length, 0, 'no audience created')

  mkdirSync(join(w.dir, 'exports'))
  writeFileSync(join(w.dir, 'exports', 'part-1.csv'), delimited(';'))
  writeFileSync(join(w.dir, 'exports', 'part-2.csv'), 'email\nd@example.com\n')
  writeFileSync(w.config, readFileSync(w.config, 'utf8').replace('inputs: [seg.csv]', 'inputs: [exports/part-*.csv], delimiter: ";"'))
  const none = await w.run(['validate', '--config', w.config])
  t.equal(none.code, 0, none.stderr)
  // The failed run is still open: its fingerprint is of the expanded list, which changed.
  const changed = await w.distribute()
  t.equal(changed.code, 1)
  t.match(changed.stderr, /HP_ERR_INPUT_CHANGED: .*had 1 input file\(s\), now 2 \(.*part-1\.csv is new\)/)
  const ok = await w.distribute(['--restart'])
  t.equal(ok.code, 0, ok.stderr)
  t.equal(w.members().size, 6, 'three emails and two phones from part-1, one email from part-2')
})
