// The conversions row reader: CSV records split across chunks (quoted line breaks included),
// line numbers of the record start, BOM, TSV, malformed rows, NDJSON and JSON arrays.
import t from 'tap'
import { PassThrough } from 'node:stream'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readRows, type InputRow, type MalformedRow } from '../../adapters/conversion-rows.js'
import { tempDir } from '../helpers/temp-dir.js'

async function rows (text: string, chunk: number, format?: 'csv' | 'tsv' | 'ndjson' | 'json'): Promise<Array<InputRow | MalformedRow>> {
  const stdin = new PassThrough()
  const buf = Buffer.from(text)
  const feed = (async () => {
    for (let i = 0; i < buf.length; i += chunk) {
      stdin.write(buf.subarray(i, i + chunk))
      await new Promise(resolve => setImmediate(resolve))
    }
    stdin.end()
  })()
  const out: Array<InputRow | MalformedRow> = []
  for await (const block of readRows('-', stdin, format)) out.push(...block)
  await feed
  return out
}

const flat = (r: InputRow | MalformedRow): unknown => 'malformed' in r ? `${r.line}:malformed` : `${r.line}:${JSON.stringify(Object.fromEntries(r.cells))}`

t.test('CSV in chunks of every size gives the same rows', async t => {
  const csv = '\uFEFFEmail,Note,At\r\na@x.io,"two\nlines",1\r\n\r\nb@x.io,"say ""hi""",2\n"c@x.io",plain,3\nd@x.io,"open,4\n'
  const want = [
    '2:{"email":"a@x.io","note":"two\\nlines","at":"1"}',
    '5:{"email":"b@x.io","note":"say \\"hi\\"","at":"2"}',
    '6:{"email":"c@x.io","note":"plain","at":"3"}',
    '7:malformed'
  ]
  for (const chunk of [1, 2, 3, 7, 1000]) t.same((await rows(csv, chunk, 'csv')).map(flat), want, `chunks of ${chunk}`)
})

t.test('TSV, NDJSON and JSON arrays', async t => {
  t.same((await rows('A\tB\nx\ty\n', 3, 'tsv')).map(flat), ['2:{"a":"x","b":"y"}'])
  t.same((await rows('{"Email":"a@x.io","At":17,"V":1.5}\nnot json\n\n[1]\n{"Email":null}', 5, 'ndjson')).map(flat),
    ['1:{"email":"a@x.io","at":"17","v":"1.5"}', '2:malformed', '4:malformed', '5:{"email":""}'])
  t.same((await rows('[{"Email":"a@x.io"},{"Email":"b@x.io","N":{"k":1}}]', 4, 'json')).map(flat),
    ['1:{"email":"a@x.io"}', '2:{"email":"b@x.io","n":"{\\"k\\":1}"}'])
})

t.test('format from the file name, gzip detected; a lines file is refused', async t => {
  const dir = tempDir(t, 'hp-conv-rows-')
  const { gzipSync } = await import('node:zlib')
  writeFileSync(join(dir, 'a.csv.gz'), gzipSync('Email\na@x.io\n'))
  const got: unknown[] = []
  for await (const b of readRows(join(dir, 'a.csv.gz'), new PassThrough())) got.push(...b.map(flat))
  t.same(got, ['2:{"email":"a@x.io"}'])
  writeFileSync(join(dir, 'a.txt'), 'a@x.io\n')
  await t.rejects(async () => { for await (const b of readRows(join(dir, 'a.txt'), new PassThrough())) void b }, { code: 'HP_ERR_INPUT_FORMAT' })
})
