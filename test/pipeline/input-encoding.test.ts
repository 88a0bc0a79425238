// The start of an input tells its encoding: UTF-16 by its byte-order mark or by NULs in every
// other byte, Latin-1 (or any bytes invalid as UTF-8) by the first bad byte's offset and line;
// a few bad records in a UTF-8 file stay rejects. And the delimiter hint and values.
import t from 'tap'
import { delimiterHint, encodingProblem, parseDelimiter } from '../../pipeline/column-plan.js'

const text = 'email,phone\nuser@example.com,2025550100\nother@example.com,2025550101\n'

function utf16be (s: string): Buffer {
  const le = Buffer.from(s, 'utf16le')
  for (let i = 0; i + 1 < le.length; i += 2) { const a = le[i]!; le[i] = le[i + 1]!; le[i + 1] = a }
  return le
}

t.test('UTF-16 little- and big-endian, with and without a byte-order mark', async t => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['LE with BOM', Buffer.from('\ufeff' + text, 'utf16le'), /is UTF-16 \(little-endian, by its byte-order mark\)/],
    ['BE with BOM', utf16be('\ufeff' + text), /is UTF-16 \(big-endian, by its byte-order mark\)/],
    ['LE without BOM', Buffer.from(text, 'utf16le'), /looks like UTF-16 little-endian without a byte-order mark/],
    ['BE without BOM', utf16be(text), /looks like UTF-16 big-endian without a byte-order mark/]
  ]
  for (const [name, bytes, message] of cases) {
    const p = encodingProblem('in.csv', bytes)
    t.match(p?.message, message, name)
    t.match(p?.message, /iconv -f UTF-16 -t UTF-8 'in\.csv' > 'in\.csv\.utf8'/, `${name}: names the fix`)
    t.notMatch(p?.message, /example/, `${name}: no identifier in the message`)
  }
})

t.test('Latin-1 bytes: the file, byte offset and line of the first, and the fix', async t => {
  const latin1 = Buffer.from('Prénom,email\nJosé,jose@example.com\n', 'latin1')
  const p = encodingProblem('people.csv', latin1, 3)
  t.same(p?.byteOffset, 3 + 2)
  t.match(p?.message, /^input 'people\.csv' is not UTF-8: byte 0xE9 at byte offset 5 \(line 1, and 1 more of the first 2 lines\) is invalid UTF-8 — likely Latin-1 or Windows-1252; convert it first: iconv -f LATIN1 -t UTF-8/)
  const rows = Buffer.concat([Buffer.from('email\n'), ...Array.from({ length: 10 }, (_, i) => Buffer.from(`caf\xe9${i}@example.com\n`, 'latin1'))])
  t.match(encodingProblem('x.csv', rows)?.message, /byte 0xE9 at byte offset 9 \(line 2, and 9 more of the first 11 lines\)/, 'most lines bad: an encoding error')
})

t.test('UTF-8 text, a cut sequence at the end, and a few bad records are no encoding error', async t => {
  t.equal(encodingProblem('a.csv', Buffer.from('email\nzoë@example.com\nΑΒΓ@example.com\n')), undefined)
  const cut = Buffer.from('email\nzoë@example.com\n€')
  t.equal(encodingProblem('a.csv', cut.subarray(0, cut.length - 1)), undefined, 'a sequence the next chunk completes')
  const few = Buffer.concat([Buffer.from('email\n' + 'ok@example.com\n'.repeat(20)), Buffer.from('bad\xff@example.com\n', 'latin1')])
  t.equal(encodingProblem('a.csv', few), undefined, 'one bad record of 22 lines stays a reject')
  t.equal(encodingProblem('a.csv', Buffer.from('email\nnul\u0000@example.com\nok@example.com\n')), undefined, 'a NUL byte is a record reject')
  t.ok(encodingProblem('a.csv', Buffer.from([0x65, 0xed, 0xa0, 0x80, 0x0a])) !== undefined, 'an encoded surrogate is invalid UTF-8')
  t.ok(encodingProblem('a.csv', Buffer.from([0x65, 0xc0, 0xaf, 0x0a])) !== undefined, 'an overlong form is invalid UTF-8')
})

t.test('the delimiter hint names the delimiter the first row splits on best', async t => {
  t.equal(delimiterHint('name;email;phone', 44), "the first row splits into 3 fields on ';': set delimiter: ';' (--delimiter ';')")
  t.equal(delimiterHint('email\tphone', 44), 'the first row splits into 2 fields on tab: set delimiter: tab (--delimiter tab)')
  t.equal(delimiterHint('a|b|c|d', 59), "the first row splits into 4 fields on '|': set delimiter: '|' (--delimiter '|')")
  t.equal(delimiterHint('email,phone', 59), "the first row splits into 2 fields on ',': set delimiter: ',' (--delimiter ',')")
  t.equal(delimiterHint('justonefield', 44), undefined)
  t.same([',', ';', '|', 'tab', '\t', '\\t', ':', ';;', ''].map(parseDelimiter), [44, 59, 124, 9, 9, 9, undefined, undefined, undefined])
})
