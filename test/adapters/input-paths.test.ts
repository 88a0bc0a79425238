// Inputs as written to the files they name: directories (files sorted, hidden and subdirectories
// skipped), globs expanded by hashpipe in code-unit order, no match an error naming the pattern
// and where it was written; and the resume fingerprint of an expanded list sees a file added.
import t from 'tap'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expandInputs } from '../../adapters/input-paths.js'
import { fingerprintChange, fingerprintInputs } from '../../engine/distribute/input-fingerprint.js'
import { tempDir } from '../helpers/temp-dir.js'

function tree (t: { teardown: (fn: () => void) => void }): string {
  const dir = tempDir(t, 'hp-paths-')
  mkdirSync(join(dir, 'data', 'sub'), { recursive: true })
  for (const name of ['b.csv.gz', 'a.csv.gz', 'B.csv.gz', '.hidden.csv.gz', 'notes.txt', 'sub/c.csv.gz']) writeFileSync(join(dir, 'data', name), name)
  return dir
}

t.test('a directory is its files, sorted by code unit, hidden files and subdirectories skipped', async t => {
  const dir = tree(t)
  symlinkSync(join(dir, 'data', 'notes.txt'), join(dir, 'data', 'link.txt'))
  const files = await expandInputs([join(dir, 'data')])
  t.same(files, ['B.csv.gz', 'a.csv.gz', 'b.csv.gz', 'link.txt', 'notes.txt'].map(n => join(dir, 'data', n)))
  t.same(await expandInputs([join(dir, 'data')]), files, 'the same list every time')
})

t.test('a glob is expanded by hashpipe, sorted, hidden files skipped; ** reaches subdirectories', async t => {
  const dir = tree(t)
  t.same(await expandInputs([join(dir, 'data', '*.csv.gz')]), ['B.csv.gz', 'a.csv.gz', 'b.csv.gz'].map(n => join(dir, 'data', n)))
  t.same(await expandInputs([join(dir, 'data', '**', '*.csv.gz')]), ['B.csv.gz', 'a.csv.gz', 'b.csv.gz', 'sub/c.csv.gz'].map(n => join(dir, 'data', n)))
  t.same(await expandInputs([join(dir, 'data', '{a,b}.csv.gz'), join(dir, 'data', 'notes.txt'), '-']),
    [join(dir, 'data', 'a.csv.gz'), join(dir, 'data', 'b.csv.gz'), join(dir, 'data', 'notes.txt'), '-'], 'list order kept, each entry expanded in place')
})

t.test('a glob that matches nothing is an error naming the pattern and the config key', async t => {
  const dir = tree(t)
  const pattern = join(dir, 'data', '*.parquet')
  await t.rejects(expandInputs([pattern], 'segments[0].inputs'), { code: 'HP_ERR_INPUT_UNREADABLE', message: `no file matches the pattern '${pattern}' (segments[0].inputs)` })
  const hidden = join(dir, 'data', '*.hidden*')
  await t.rejects(expandInputs([hidden], 'segments[0].inputs'), { code: 'HP_ERR_INPUT_UNREADABLE' }, 'hidden files never match')
})

t.test('an empty directory is an error; a missing plain path is kept for the open to report', async t => {
  const dir = tempDir(t, 'hp-paths-')
  mkdirSync(join(dir, 'empty'))
  writeFileSync(join(dir, 'empty', '.only-hidden'), 'x')
  await t.rejects(expandInputs([join(dir, 'empty')], 'conversions[0].inputs'), { code: 'HP_ERR_INPUT_UNREADABLE', message: /input directory '.*empty' \(conversions\[0\]\.inputs\) holds no files/ })
  t.same(await expandInputs([join(dir, 'missing.csv')]), [join(dir, 'missing.csv')])
  // A file whose name holds glob characters is taken as itself.
  writeFileSync(join(dir, 'odd[1].csv'), 'x')
  t.same(await expandInputs([join(dir, 'odd[1].csv')]), [join(dir, 'odd[1].csv')])
})

t.test('the fingerprint of an expanded directory sees a file added', async t => {
  const dir = tree(t)
  const before = await fingerprintInputs(await expandInputs([join(dir, 'data', '*.csv.gz')]))
  t.equal(fingerprintChange(before, await fingerprintInputs(await expandInputs([join(dir, 'data', '*.csv.gz')]))), undefined, 'unchanged')
  writeFileSync(join(dir, 'data', 'c.csv.gz'), 'new')
  const after = await fingerprintInputs(await expandInputs([join(dir, 'data', '*.csv.gz')]))
  t.match(fingerprintChange(before, after), /had 3 input file\(s\), now 4 \(.*c\.csv\.gz is new\)/)
})
