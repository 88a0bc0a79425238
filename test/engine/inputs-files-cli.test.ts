// Files as data engineers have them, end to end: directories and quoted globs on the command
// line (sorted, hidden skipped, no match an error naming the pattern), and Parquet through the
// same pool as CSV (same digests), a corrupt Parquet file a coded error with nothing written.
import t from 'tap'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from '../helpers/cli.js'
import { tempDir } from '../helpers/temp-dir.js'
import { writeParquet } from '../helpers/parquet-fixture.js'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const rows = (stdout: string): string[] => stdout.trim().split('\n').slice(1).sort()
const people = [['a@example.com', '2025550100'], ['b@example.com', '2025550101'], ['c@example.com', '']]
const expected = [...people.map(p => `EMAIL_SHA256,${sha(p[0]!)}`), `PHONE_SHA256,${sha('+12025550100')}`, `PHONE_SHA256,${sha('+12025550101')}`].sort()

t.test('a directory and a quoted glob on the command line: files sorted, hidden skipped; no match names the pattern', async t => {
  const dir = tempDir(t, 'hp-inputs-')
  mkdirSync(join(dir, 'data'))
  writeFileSync(join(dir, 'data', 'b.csv'), 'email\nb@example.com\nb@example.com\n')
  writeFileSync(join(dir, 'data', 'a.csv'), 'email\na@example.com\n')
  writeFileSync(join(dir, 'data', '.hidden.csv'), 'email\nhidden@example.com\n')
  const byDir = await runCli(['hash', join(dir, 'data'), '--no-progress', '--json', '--out', join(dir, 'dir.out')])
  t.equal(byDir.code, 0, byDir.stderr)
  const summary = JSON.parse(byDir.stdout)
  t.same(summary.inputs.map((i: { file: string }) => i.file), [join(dir, 'data', 'a.csv'), join(dir, 'data', 'b.csv')])
  t.same(rows(readFileSync(join(dir, 'dir.out'), 'utf8')), [`EMAIL_SHA256,${sha('a@example.com')}`, `EMAIL_SHA256,${sha('b@example.com')}`].sort())
  const byGlob = await runCli(['hash', join(dir, 'data', '*.csv'), '--no-progress', '--json', '--out', join(dir, 'glob.out')])
  t.equal(byGlob.code, 0, byGlob.stderr)
  t.same(JSON.parse(byGlob.stdout).inputs.map((i: { file: string }) => i.file), summary.inputs.map((i: { file: string }) => i.file))
  const none = await runCli(['hash', join(dir, 'data', '*.csv.gz'), '--no-progress'])
  t.equal(none.code, 1)
  t.match(none.stderr, /HP_ERR_INPUT_UNREADABLE: no file matches the pattern '.*\*\.csv\.gz' \(the command line\)/)
})

t.test('Parquet goes through the pool: the same digests as the CSV of its values; a corrupt file writes nothing', async t => {
  const dir = tempDir(t, 'hp-inputs-')
  writeParquet(join(dir, 'people.parquet'), [
    { name: 'id', data: [1, 2, 3], type: 'INT32' },
    { name: 'Email', data: people.map(p => p[0]), type: 'STRING' },
    { name: 'phone', data: [2025550100n, 2025550101n, null], type: 'INT64', nullable: true }
  ])
  const r = await runCli(['hash', join(dir, 'people.parquet'), '--no-progress', '--json', '--out', join(dir, 'pq.out'), '--rejects', join(dir, 'rej.csv')])
  t.equal(r.code, 0, r.stderr)
  t.same(rows(readFileSync(join(dir, 'pq.out'), 'utf8')), expected)
  const summary = JSON.parse(r.stdout)
  t.equal(summary.inputs[0].format, 'parquet')
  t.equal(summary.rows, 3)
  t.equal(summary.empty.phone, 1, 'a null phone is an empty cell, counted')

  const bytes = readFileSync(join(dir, 'people.parquet'))
  writeFileSync(join(dir, 'broken.parquet'), bytes.subarray(0, bytes.length - 9))
  const broken = await runCli(['hash', join(dir, 'broken.parquet'), '--no-progress', '--out', join(dir, 'broken.out')])
  t.equal(broken.code, 1)
  t.match(broken.stderr, /HP_ERR_INPUT_CORRUPT_PARQUET: Parquet input '.*broken\.parquet' is not a readable Parquet file/)
  t.notOk(existsSync(join(dir, 'broken.out')), 'no output written')
})
