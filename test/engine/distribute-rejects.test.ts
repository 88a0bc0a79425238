// distribute --rejects FILE (as hash writes it, with the segment first) and the breakdown of
// rejects by reason in the summary, the JSON and status.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { distributeWorld, people } from '../helpers/distribute-world.js'

t.test('--rejects FILE, and the breakdown by reason in the summary, the JSON and status', async t => {
  const w = await distributeWorld(t, 'first-party', 100)
  writeFileSync(w.input, people(0, 50) + 'not-an-email\nalso bad\nx@\n')
  const rejects = `${w.dir}/rejects.csv`
  const r = await w.distribute(['--rejects', rejects])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /3 input rejects \(email_invalid 3\)/)
  const text = readFileSync(rejects, 'utf8')
  const rows = text.trim().split('\n')
  t.equal(rows[0], 'segment,file,line,byte_offset,field,reason')
  t.equal(rows.length, 4)
  const offset = Buffer.byteLength(people(0, 50))
  t.equal(rows[1], `seg,${w.input},52,${offset},email,email_invalid`, 'file, line and byte offset of the reject')
  t.notMatch(text, /not-an-email|also bad/, 'no value')

  const j = await w.distribute(['--json', '--restart'])
  t.same(JSON.parse(j.stdout).distributions[0].result.rejects_by_reason, { email_invalid: 3 })

  const s = await w.run(['status', '--config', w.config])
  t.equal(s.code, 0, s.stderr)
  t.match(s.stdout, /3 input rejects \(email_invalid 3\)/, 'status keeps the breakdown of the last run')
})
