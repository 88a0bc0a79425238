// openInput reads a file in chunks into buffers the consumer hands back with recycle(): the
// bytes must come out exactly as on disk however the consumer recycles, gzip included, and a
// chunk that is not the reader's own is never taken into its pool.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { openInput } from '../../adapters/file-source.js'
import { tempDir } from '../helpers/temp-dir.js'

const dir = tempDir(t, 'hp-source-')
// Several chunks and a partial last one.
const data = randomBytes((5 << 20) + 12345)

async function readAll (path: string, recycle: 'each' | 'late' | 'never' | 'foreign'): Promise<{ bytes: Buffer, chunks: number, gzip: boolean }> {
  const src = await openInput(path, new PassThrough())
  const copies: Buffer[] = []
  let held: Buffer | undefined
  let chunks = 0
  for await (const chunk of src.chunks) {
    chunks++
    if (recycle === 'late') {
      // Held across the next read (and its read-ahead): copied only then, so a reader that
      // reused a buffer not yet handed back would show up as wrong bytes.
      if (held !== undefined) { copies.push(Buffer.from(held)); src.recycle(held) }
      held = chunk
      continue
    }
    copies.push(Buffer.from(chunk))
    if (recycle === 'each') src.recycle(chunk)
    if (recycle === 'foreign') src.recycle(Buffer.alloc(chunk.length))
  }
  if (held !== undefined) copies.push(Buffer.from(held))
  return { bytes: Buffer.concat(copies), chunks, gzip: src.gzip }
}

t.test('chunks carry the file exactly, whatever the consumer recycles and when', async t => {
  const path = join(dir, 'plain.bin')
  writeFileSync(path, data)
  for (const mode of ['each', 'late', 'never', 'foreign'] as const) {
    const r = await readAll(path, mode)
    t.ok(r.bytes.equals(data), `recycle ${mode}: identical bytes`)
    t.equal(r.chunks, 6, `recycle ${mode}: 1 MiB chunks`)
    t.equal(r.gzip, false)
  }
})

t.test('a recycled chunk is read into again (no new buffer per chunk)', async t => {
  const path = join(dir, 'plain.bin')
  const src = await openInput(path, new PassThrough())
  const seen = new Set<ArrayBufferLike>()
  for await (const chunk of src.chunks) { seen.add(chunk.buffer); src.recycle(chunk) }
  t.ok(seen.size <= 3, `${seen.size} buffers for 6 chunks`)
})

t.test('gzip input decompresses to the same bytes; recycling its chunks is ignored', async t => {
  const path = join(dir, 'data.gz')
  writeFileSync(path, gzipSync(data))
  const r = await readAll(path, 'each')
  t.equal(r.gzip, true)
  t.ok(r.bytes.equals(data))
})

t.test('an empty file yields nothing', async t => {
  const path = join(dir, 'empty')
  writeFileSync(path, '')
  const r = await readAll(path, 'each')
  t.equal(r.bytes.length, 0)
  t.equal(r.chunks, 0)
})
