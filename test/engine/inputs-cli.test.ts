// Delimiters end to end: `;` and tab delimited files give the comma file's digests, and a
// first row that splits on another delimiter gets a hint naming it; a UTF-16 file is named with
// its fix.
import t from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from '../helpers/cli.js'
import { tempDir } from '../helpers/temp-dir.js'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const rows = (stdout: string): string[] => stdout.trim().split('\n').slice(1).sort()
const people = [['a@example.com', '2025550100'], ['b@example.com', '2025550101'], ['c@example.com', '']]
const expected = [...people.map(p => `EMAIL_SHA256,${sha(p[0]!)}`), `PHONE_SHA256,${sha('+12025550100')}`, `PHONE_SHA256,${sha('+12025550101')}`].sort()
const delimited = (d: string): string => `name${d}email${d}phone\n` + people.map((p, i) => `"n${d}${i}"${d}${p[0]!}${d}${p[1]!}`).join('\n') + '\n'

t.test('--delimiter ; and tab give the comma file\'s digests; without it, a hint names the delimiter', async t => {
  const dir = tempDir(t, 'hp-inputs-')
  writeFileSync(join(dir, 'semi.csv'), delimited(';'))
  writeFileSync(join(dir, 'tab.csv'), delimited('\t'))
  const semi = await runCli(['hash', join(dir, 'semi.csv'), '--delimiter', ';', '--no-progress'])
  t.equal(semi.code, 0, semi.stderr)
  t.same(rows(semi.stdout), expected)
  const tab = await runCli(['hash', join(dir, 'tab.csv'), '--delimiter', 'tab', '--no-progress', '--json', '--out', join(dir, 'tab.out')])
  t.equal(tab.code, 0, tab.stderr)
  t.same(rows(readFileSync(join(dir, 'tab.out'), 'utf8')), expected)
  t.equal(JSON.parse(tab.stdout).empty.phone, 1, 'the empty phone cell is counted as empty')
  const hint = await runCli(['hash', join(dir, 'semi.csv'), '--no-progress'])
  t.equal(hint.code, 1)
  t.match(hint.stderr, /HP_ERR_INPUT_NO_COLUMNS: .*the first row splits into 3 fields on ';': set delimiter: ';' \(--delimiter ';'\)/)
  const wrong = await runCli(['hash', join(dir, 'semi.csv'), '--delimiter', ';', '--format', 'tsv', '--no-progress'])
  t.equal(wrong.code, 2)
  t.match(wrong.stderr, /--delimiter applies to csv only/)
})

t.test('a UTF-16 file without a byte-order mark is named with the fix, exit 3', async t => {
  const dir = tempDir(t, 'hp-inputs-')
  writeFileSync(join(dir, 'excel.csv'), Buffer.from('email\r\nuser@example.com\r\n', 'utf16le'))
  const r = await runCli(['hash', join(dir, 'excel.csv'), '--no-progress'])
  t.equal(r.code, 3, r.stderr)
  t.match(r.stderr, /HP_ERR_INPUT_ENCODING: input '.*excel\.csv' looks like UTF-16 little-endian .*iconv -f UTF-16 -t UTF-8/)
  t.notMatch(r.stderr, /example\.com/)
})
