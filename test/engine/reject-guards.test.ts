// Guards that used to look away: whole-record rejects (invalid UTF-8, NUL bytes, over-long
// records) count toward the reject ratio, and a run with no valid identifier but some rejects
// fails with exit 3 — in `hash`, and in `distribute` before anything is planned or sent.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from '../helpers/cli.js'
import { tempDir } from '../helpers/temp-dir.js'
import { distributeWorld } from '../helpers/distribute-world.js'

const invalidUtf8 = (n: number): Buffer => Buffer.concat([Buffer.from('email\n'), ...Array.from({ length: n }, (_, i) => Buffer.from(`bad\xff${i}@example.com\n`, 'latin1'))])
// Whole-record rejects in every row: NUL bytes (a file of invalid UTF-8 rows is an encoding error, tested below).
const nulRows = (n: number): Buffer => Buffer.concat([Buffer.from('email\n'), ...Array.from({ length: n }, (_, i) => Buffer.from(`bad\u0000${i}@example.com\n`, 'latin1'))])

t.test('100 rows with NUL bytes: exit 3, not a quiet success', async t => {
  const dir = tempDir(t, 'hp-guards-')
  writeFileSync(join(dir, 'bad.csv'), nulRows(100))
  const r = await runCli(['hash', join(dir, 'bad.csv'), '--out', join(dir, 'out.csv'), '--no-progress'])
  t.equal(r.code, 3, r.stderr)
  t.match(r.stderr, /no valid identifiers: all 100 rejected \(100 nul_byte\)/)
})

t.test('100 rows of invalid UTF-8: exit 3, the encoding named with the byte offset', async t => {
  const dir = tempDir(t, 'hp-guards-')
  writeFileSync(join(dir, 'bad.csv'), invalidUtf8(100))
  const r = await runCli(['hash', join(dir, 'bad.csv'), '--out', join(dir, 'out.csv'), '--no-progress'])
  t.equal(r.code, 3, r.stderr)
  t.match(r.stderr, /HP_ERR_INPUT_ENCODING: input '.*bad\.csv' is not UTF-8: byte 0xFF at byte offset 9 \(line 2/)
  t.match(r.stderr, /iconv -f LATIN1 -t UTF-8/)
})

t.test('a UTF-16 file (BOM and NUL bytes) is exit 3', async t => {
  const dir = tempDir(t, 'hp-guards-')
  writeFileSync(join(dir, 'u16.csv'), Buffer.from('\ufeffemail\nuser@example.com\nother@example.com\n', 'utf16le'))
  const r = await runCli(['hash', join(dir, 'u16.csv'), '--out', join(dir, 'out.csv'), '--no-progress'])
  t.equal(r.code, 3, r.stderr)
  t.notMatch(r.stderr, /example\.com/, 'no identifier in the message')
})

t.test('whole-record rejects count in the ratio', async t => {
  const dir = tempDir(t, 'hp-guards-')
  const good = Array.from({ length: 20 }, (_, i) => `user${i}@example.com\n`).join('')
  writeFileSync(join(dir, 'mixed.csv'), Buffer.concat([invalidUtf8(5), Buffer.from(good)]))
  const strict = await runCli(['hash', join(dir, 'mixed.csv'), '--out', join(dir, 'out.csv'), '--no-progress'])
  t.equal(strict.code, 3, '5 of 25 records rejected is over 0.1')
  t.match(strict.stderr, /5 of 25 identifiers and records rejected \(20\.0%: 5 invalid_utf8\)/)
  const lenient = await runCli(['hash', join(dir, 'mixed.csv'), '--out', join(dir, 'out.csv'), '--no-progress', '--max-reject-ratio', '0.25'])
  t.equal(lenient.code, 0, lenient.stderr)
})

t.test('distribute refuses a segment with no valid identifier before any TikTok call', async t => {
  const w = await distributeWorld(t, 'first-party-record-sync')
  writeFileSync(w.input, nulRows(50))
  const before = [...w.em.stats.values()].reduce((a, b) => a + b, 0)
  const r = await w.distribute()
  t.equal(r.code, 3, r.stderr)
  t.match(r.stderr, /HP_ERR_NO_IDENTIFIERS|no valid identifiers/)
  t.match(r.stderr, /hashpipe hash .* --rejects/, 'names a command that shows the rejects')
  t.equal(w.audienceIds().length, 0, 'no audience created')
  t.equal(w.mappings(), 0, 'nothing sent')
  t.ok([...w.em.stats.values()].reduce((a, b) => a + b, 0) - before <= 2, 'at most the read-only audience lookups')
})

t.test('an over-long first NDJSON record is a reject like any later one', async t => {
  const dir = tempDir(t, 'hp-guards-')
  const long = JSON.stringify({ email: 'x'.repeat(3000) + '@example.com' })
  const rows = [long, ...Array.from({ length: 10 }, (_, i) => JSON.stringify({ email: `user${i}@example.com` })), long, JSON.stringify({ email: 'last@example.com' })]
  writeFileSync(join(dir, 'in.ndjson'), rows.join('\n') + '\n')
  const r = await runCli(['hash', join(dir, 'in.ndjson'), '--out', join(dir, 'out.csv'), '--rejects', join(dir, 'rejects.csv'), '--max-line-bytes', '1024', '--max-reject-ratio', '0.5', '--json', '--no-progress'])
  t.equal(r.code, 0, r.stderr)
  const summary = JSON.parse(r.stdout)
  t.equal(summary.valid, 11)
  t.equal(summary.rejected.line_too_long, 2)
  const rejects = readFileSync(join(dir, 'rejects.csv'), 'utf8').trim().split('\n').slice(1).map(l => l.split(','))
  t.same(rejects.map(f => [f[1], f[2], f[4]]), [['1', '0', 'line_too_long'], ['12', String(Buffer.byteLength(rows.slice(0, 11).join('\n') + '\n')), 'line_too_long']], 'lines and byte offsets of both')
})
