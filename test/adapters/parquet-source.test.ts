// Parquet inputs (adapters/parquet-source.ts), with files written here by hyparquet-writer:
// every column type an identifier arrives in comes out as the CSV records the hash pool reads
// (strings plain, dictionary- and delta-encoded, raw byte arrays, INT64 phones, nulls as empty
// cells); a file of many row groups is read one row group at a time; a corrupt file is a coded
// error naming the file.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openParquet } from '../../adapters/parquet-source.js'
import { tempDir } from '../helpers/temp-dir.js'
import { writeParquet } from '../helpers/parquet-fixture.js'

async function text (chunks: AsyncIterable<Buffer>): Promise<string> {
  let s = ''
  for await (const c of chunks) s += c.toString('utf8')
  return s
}

t.test('string, dictionary, delta, byte array, INT64 and null columns as CSV records', async t => {
  const dir = tempDir(t, 'hp-parquet-')
  const file = join(dir, 'types.parquet')
  const emails = ['a@x.com', null, 'quote"d@x.com', 'comma,@x.com', 'é@x.com']
  writeParquet(file, [
    { name: 'email', data: emails, type: 'STRING', nullable: true },
    { name: 'phone', data: [2025550100n, 2025550101n, null, 2025550103n, 2025550104n], type: 'INT64', nullable: true },
    // Five rows, two distinct values: the writer keeps the dictionary it halves the size with.
    { name: 'maid', data: Array.from({ length: 5 }, (_, i) => i % 2 === 0 ? '6d92078a-8246-4ba4-ae5b-76104861e7dc' : 'ad3b9c1f-0d4c-4ef4-9a6a-3a1f2b2c3d4e'), type: 'STRING', encoding: 'RLE_DICTIONARY' },
    { name: 'email_delta', data: ['d1@x.com', 'd2@x.com', null, 'd4@x.com', 'd5@x.com'], type: 'STRING', nullable: true, encoding: 'DELTA_LENGTH_BYTE_ARRAY' },
    { name: 'raw', data: emails.map(e => e === null ? null : new TextEncoder().encode(e)), type: 'BYTE_ARRAY', nullable: true }
  ])
  const p = await openParquet(file)
  t.teardown(p.close)
  t.same(p.columns, ['email', 'phone', 'maid', 'email_delta', 'raw'])
  t.equal(p.rows, 5)
  t.equal(await text(p.records(['email']).chunks), 'a@x.com\n""\n"quote""d@x.com"\n"comma,@x.com"\né@x.com\n', 'a lone null is an empty quoted cell, not a blank line')
  const q = await openParquet(file)
  t.teardown(q.close)
  t.equal(await text(q.records(['phone', 'maid', 'email_delta', 'raw']).chunks), [
    '2025550100,6d92078a-8246-4ba4-ae5b-76104861e7dc,d1@x.com,a@x.com',
    '2025550101,ad3b9c1f-0d4c-4ef4-9a6a-3a1f2b2c3d4e,d2@x.com,',
    ',6d92078a-8246-4ba4-ae5b-76104861e7dc,,"quote""d@x.com"',
    '2025550103,ad3b9c1f-0d4c-4ef4-9a6a-3a1f2b2c3d4e,d4@x.com,"comma,@x.com"',
    '2025550104,6d92078a-8246-4ba4-ae5b-76104861e7dc,d5@x.com,é@x.com',
    ''
  ].join('\n'))
})

t.test('many row groups are read one at a time', async t => {
  const dir = tempDir(t, 'hp-parquet-')
  const file = join(dir, 'groups.parquet')
  const rows = 100_000
  writeParquet(file, [
    { name: 'email', data: Array.from({ length: rows }, (_, i) => `user${i}@example.com`), type: 'STRING' },
    { name: 'other', data: Array.from({ length: rows }, (_, i) => `padding that is never read ${i}`), type: 'STRING' }
  ], { rowGroupSize: 5000 })
  const p = await openParquet(file)
  t.teardown(p.close)
  t.equal(p.rowGroups, 20)
  const source = p.records(['email'])
  // The footer read (hyparquet fetches the file's last 512 KiB at once) is not row data.
  const footer = source.bytesRead()
  let lines = 0
  let maxChunk = 0
  let readAtFirst = -1
  for await (const chunk of source.chunks) {
    if (readAtFirst === -1) readAtFirst = source.bytesRead() - footer
    maxChunk = Math.max(maxChunk, chunk.length)
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++
  }
  t.equal(lines, rows)
  t.ok(readAtFirst < p.size / 10, `${readAtFirst} of ${p.size} bytes read when the first records came out: one row group, not the file`)
  t.ok(source.bytesRead() - footer < p.size * 0.7, 'the unmapped column is never read')
  t.ok(maxChunk <= 5000 * 30, `chunks hold at most a row group's records (${maxChunk} bytes)`)
})

t.test('a corrupt file is HP_ERR_INPUT_CORRUPT_PARQUET naming the file', async t => {
  const dir = tempDir(t, 'hp-parquet-')
  const good = join(dir, 'good.parquet')
  writeParquet(good, [{ name: 'email', data: Array.from({ length: 1000 }, (_, i) => `u${i}@x.com`), type: 'STRING' }], { codec: 'UNCOMPRESSED' })
  const bytes = readFileSync(good)
  const truncated = join(dir, 'truncated.parquet')
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 20))
  await t.rejects(openParquet(truncated), { code: 'HP_ERR_INPUT_CORRUPT_PARQUET', message: /^Parquet input '.*truncated\.parquet' is not a readable Parquet file/ })
  const notParquet = join(dir, 'text.parquet')
  writeFileSync(notParquet, 'email\na@b.com\n')
  await t.rejects(openParquet(notParquet), { code: 'HP_ERR_INPUT_CORRUPT_PARQUET' })
  // Pages overwritten with junk: the footer reads, the column does not.
  const damaged = Buffer.from(bytes)
  damaged.fill(0xff, 4, 200)
  const pages = join(dir, 'pages.parquet')
  writeFileSync(pages, damaged)
  const p = await openParquet(pages)
  await t.rejects(text(p.records(['email']).chunks), { code: 'HP_ERR_INPUT_CORRUPT_PARQUET', message: /'.*pages\.parquet' row group 1 of 1, column 'email', cannot be decoded/ })
})
