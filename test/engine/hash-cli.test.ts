// `hashpipe hash` end to end: every input format, gzip by magic bytes, stdin, several files,
// BOM and CRLF, output formats, the rejects file, the JSON summary, exit codes, and hostile
// input (a 100 MB line, invalid UTF-8, NUL, truncated gzip, empty and header-only files).
import t from 'tap'
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, openSync, writeSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../helpers/cli.js'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const dir = mkdtempSync(join(tmpdir(), 'hp-cli-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, content: string | Buffer): string => { const p = join(dir, name); writeFileSync(p, content); return p }

function rows (stdout: string): string[] {
  const lines = stdout.trim().split('\n')
  return lines.slice(1).sort()
}

const jane = `EMAIL_SHA256,${sha('janedoe@gmail.com')}`
const phone = `PHONE_SHA256,${sha('+16577770000')}`
const maid = `IDFA_SHA256,${sha('5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25')}`

t.test('every input format gives the same set', async t => {
  const expected = [jane, maid, phone].sort()
  const inputs: Array<[string, string | Buffer, string[]]> = [
    ['a.csv', 'Email,Phone,MAID\n JaneDoe@Gmail.com ,(657)777-0000,5F3A2B18-9C4D-4E7F-B8E2-17D3A1E69B25\n', []],
    ['a.tsv', 'email\tmobile\tidfa\njanedoe@gmail.com\t+1 657 777 0000\t5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25\n', []],
    ['a.ndjson', '{"email":"janedoe@gmail.com","phone":"6577770000","maid":"5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25"}\n', []],
    ['a.json', '[{"email":"janedoe@gmail.com","phone":"(657) 777-0000","maid":"5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25"}]', []],
    ['b.csv', gzipSync('\uFEFFEmail,Phone,MAID\r\n"janedoe@gmail.com","657-777-0000",5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25\r\n'), []]
  ]
  for (const [name, content] of inputs) {
    const r = await runCli(['hash', file(name, content), '--no-progress'])
    t.equal(r.code, 0, `${name}: ${r.stderr}`)
    t.same(rows(r.stdout), expected, name)
  }
  const lines = await runCli(['hash', file('e.txt', 'JaneDoe@gmail.com\n\n janedoe@gmail.com\n'), '--type', 'email', '--no-progress'])
  t.same(rows(lines.stdout), [jane], 'lines with --type, blank line skipped, duplicate dropped')
  const strings = await runCli(['hash', file('s.json', '["janedoe@gmail.com", "JANEDOE@GMAIL.COM"]'), '--type', 'email', '--no-progress'])
  t.same(rows(strings.stdout), [jane], 'JSON array of strings')
  const stdin = await runCli(['hash', '-', file('m.txt', 'maid\n5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25\n'), '--no-progress'], { stdin: 'email\njanedoe@gmail.com\n' })
  t.same(rows(stdin.stdout), [jane, maid].sort(), 'stdin and a file in one run')
})

t.test('outputs: ndjson, rejects with lines and offsets, json summary, exit codes', async t => {
  const input = file('r.csv', 'email,phone\nok@x.com,bad\n"multi\nline@x.com",6577770000\nnot-an-email,\n')
  const out = join(dir, 'out.ndjson')
  const rejects = join(dir, 'rej.csv')
  const r = await runCli(['hash', input, '--out', out, '--out-format', 'ndjson', '--rejects', rejects, '--json', '--no-progress', '--max-reject-ratio', '1'])
  t.equal(r.code, 0, r.stderr)
  const summary = JSON.parse(r.stdout)
  t.match(summary, { rows: 3, identifiers: { email: 3, phone: 2 }, valid: 2, rejected: { email_invalid: 2, phone_invalid: 1 }, duplicates: 0, unique: { EMAIL_SHA256: 1, PHONE_SHA256: 1 } })
  t.ok(summary.seconds > 0 && summary.bytes > 0 && summary.identifiers_per_second >= 0)
  t.same(readFileSync(out, 'utf8').trim().split('\n').map(l => JSON.parse(l)).map((o: { id_type: string }) => o.id_type).sort(), ['EMAIL_SHA256', 'PHONE_SHA256'])
  const rej = readFileSync(rejects, 'utf8').trim().split('\n')
  t.equal(rej[0], 'file,line,byte_offset,field,reason')
  t.same(rej.slice(1).map(l => l.split(',').slice(1).join(',')), ['2,12,phone,phone_invalid', '3,25,email,email_invalid', '5,55,email,email_invalid'], 'line numbers count the quoted newline')
  t.notMatch(readFileSync(rejects, 'utf8'), 'not-an-email', 'no raw values by default')
  const withValues = await runCli(['hash', input, '--out', join(dir, 'o2.csv'), '--rejects', rejects, '--rejects-include-values', '--no-progress', '--max-reject-ratio', '1'])
  t.equal(withValues.code, 0)
  t.match(readFileSync(rejects, 'utf8'), 'not-an-email')
  const over = await runCli(['hash', input, '--out', join(dir, 'o3.csv'), '--no-progress', '--max-reject-ratio', '0'])
  t.equal(over.code, 3, 'rejects over the ratio')
  const nodedupe = await runCli(['hash', file('d.txt', 'a@x.com\nA@x.com\n'), '--type', 'email', '--no-dedupe', '--no-progress'])
  t.equal(rows(nodedupe.stdout).length, 2)
  t.equal((await runCli(['hash', input, '--threads', 'zero'])).code, 2)
  t.equal((await runCli(['hash', input, '--bogus'])).code, 2)
  t.equal((await runCli(['hash'])).code, 2)
})

t.test('column problems are explained without echoing data', async t => {
  const wrong = await runCli(['hash', file('w.csv', 'Email,Phone\na@x.com,1\n'), '--columns', 'email=EMail_Address', '--no-progress'])
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /--columns email=EMail_Address: no such column/)
  const headless = await runCli(['hash', file('h.csv', 'secret.person@x.com,4155552671\n'), '--no-progress'])
  t.equal(headless.code, 1)
  t.match(headless.stderr, /is not a header naming an identifier column/)
  t.notMatch(headless.stderr, 'secret.person')
})

t.test('hostile input never crashes and never slips through', async t => {
  const longPath = join(dir, 'long.csv')
  const fd = openSync(longPath, 'w')
  writeSync(fd, 'email\nfirst@x.com\n')
  const block = Buffer.alloc(1 << 20, 0x61)
  for (let i = 0; i < 100; i++) writeSync(fd, block)
  writeSync(fd, '@x.com\nlast@x.com\n')
  closeSync(fd)
  const rejects = join(dir, 'long-rej.csv')
  const long = await runCli(['hash', longPath, '--rejects', rejects, '--no-progress', '--max-reject-ratio', '1'])
  t.equal(long.code, 0, long.stderr)
  t.same(rows(long.stdout), [`EMAIL_SHA256,${sha('first@x.com')}`, `EMAIL_SHA256,${sha('last@x.com')}`].sort())
  t.match(readFileSync(rejects, 'utf8'), /long\.csv,3,18,,line_too_long/)
  t.ok(long.peakRssKiB < 200 * 1024, `peak RSS ${Math.round(long.peakRssKiB / 1024)} MiB for a 100 MB line`)

  const bad = Buffer.concat([Buffer.from('email\ngood@x.com\nbad'), Buffer.from([0xc3, 0x28]), Buffer.from('@x.com\nnul'), Buffer.from([0]), Buffer.from('@x.com\nalso@x.com\n')])
  const dirty = await runCli(['hash', file('dirty.csv', bad), '--rejects', rejects, '--no-progress', '--max-reject-ratio', '1'])
  t.equal(dirty.code, 0)
  t.same(rows(dirty.stdout), [`EMAIL_SHA256,${sha('good@x.com')}`, `EMAIL_SHA256,${sha('also@x.com')}`].sort(), 'nothing replaced with U+FFFD and hashed')
  t.match(readFileSync(rejects, 'utf8'), /dirty\.csv,3,\d+,,invalid_utf8/)
  t.match(readFileSync(rejects, 'utf8'), /dirty\.csv,4,\d+,,nul_byte/)

  const gz = gzipSync(Buffer.from('email\n' + 'someone@example.com\n'.repeat(5000)))
  const out = join(dir, 'trunc-out.csv')
  const trunc = await runCli(['hash', file('t.csv.gz', gz.subarray(0, gz.length - 30)), '--out', out, '--no-progress'])
  t.equal(trunc.code, 1)
  t.match(trunc.stderr, /gzip input .* is truncated at compressed byte \d+/)
  t.notOk(existsSync(out), 'no output left behind')

  const empty = await runCli(['hash', file('empty.csv', ''), '--no-progress'])
  t.equal(empty.code, 0)
  t.match(empty.stderr, /is empty/)
  const header = await runCli(['hash', file('header.csv', 'email,phone\n'), '--no-progress'])
  t.equal(header.code, 0)
  t.match(header.stderr, /has a header row and no data/)
  const missing = await runCli(['hash', join(dir, 'nope.csv'), '--no-progress'])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /cannot read input .*nope\.csv.*ENOENT; check the path/)
  t.equal(missing.stdout, '', 'nothing written before the check')
})
