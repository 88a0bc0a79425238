// openInput reads a file in chunks into buffers the consumer hands back with recycle(): the
// bytes must come out exactly as on disk however the consumer recycles, gzip included, and a
// chunk that is not the reader's own is never taken into its pool.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { ChunkReader, kReadsAhead, openInput } from '../../adapters/file-source.js'
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
  const path = join(dir, 'long.bin')
  writeFileSync(path, Buffer.concat([data, data, data, data]))
  const src = await openInput(path, new PassThrough())
  const seen = new Set<ArrayBufferLike>()
  let chunks = 0
  for await (const chunk of src.chunks) { chunks++; seen.add(chunk.buffer); src.recycle(chunk) }
  t.equal(chunks, 21)
  // The reads ahead, the chunk being consumed and one more: not one buffer per chunk.
  t.ok(seen.size <= kReadsAhead + 2, `${seen.size} buffers for ${chunks} chunks`)
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

// A file handle over `bytes` whose reads return fewer bytes than asked, as a system may: a
// regular file's reads run several ahead at their own positions, so a short one must have the
// rest of its span read before the chunks after it.
function shortReadHandle (bytes: Buffer, shrinkTo = bytes.length): { read: ChunkReaderHandle['read'], close: () => Promise<void>, closed: () => boolean, positions: Array<number | null> } {
  let closed = false
  let n = 0
  const positions: Array<number | null> = []
  return {
    read: (async (buffer: Buffer, offset: number, length: number, position: number | null) => {
      positions.push(position)
      const at = position ?? 0
      // Every third read comes back short, by a varying amount.
      const want = ++n % 3 === 0 ? Math.max(1, Math.floor(length / (2 + n % 5))) : length
      const got = Math.max(0, Math.min(want, shrinkTo - at))
      bytes.copy(buffer, offset, at, at + got)
      await new Promise(resolve => setImmediate(resolve))
      return { bytesRead: got, buffer }
    }) as ChunkReaderHandle['read'],
    close: async () => { closed = true },
    closed: () => closed,
    positions
  }
}
type ChunkReaderHandle = Parameters<ChunkReader['chunks']>[0]

t.test('short reads of a regular file leave nothing out and nothing out of order', async t => {
  const bytes = randomBytes((9 << 20) + 777)
  const fh = shortReadHandle(bytes)
  const reader = new ChunkReader()
  const copies: Buffer[] = []
  for await (const chunk of reader.chunks(fh, bytes.length)) { copies.push(Buffer.from(chunk)); reader.recycle(chunk) }
  t.ok(Buffer.concat(copies).equals(bytes), 'identical bytes')
  t.ok(fh.positions.every(p => p !== null), 'every read at its own position')
  t.ok(fh.closed(), 'closed at the end')
})

t.test('a file that shrinks while read ends at its new end, without an error', async t => {
  const bytes = randomBytes(6 << 20)
  const cut = (3 << 20) + 5000
  const fh = shortReadHandle(bytes, cut)
  const reader = new ChunkReader()
  const copies: Buffer[] = []
  for await (const chunk of reader.chunks(fh, bytes.length)) copies.push(Buffer.from(chunk))
  t.ok(Buffer.concat(copies).equals(bytes.subarray(0, cut)))
  t.ok(fh.closed())
})

t.test('a stream (no size) is read in order, one read at a time, short reads included', async t => {
  const bytes = randomBytes((4 << 20) + 3)
  let at = 0
  const fh = shortReadHandle(bytes)
  const inOrder: ChunkReaderHandle = {
    read: (async (buffer: Buffer, offset: number, length: number, position: number | null) => {
      const r = await fh.read(buffer, offset, length, at)
      at += r.bytesRead
      t.equal(position, null)
      return r
    }) as ChunkReaderHandle['read'],
    close: fh.close
  }
  const reader = new ChunkReader()
  const copies: Buffer[] = []
  for await (const chunk of reader.chunks(inOrder)) copies.push(Buffer.from(chunk))
  t.ok(Buffer.concat(copies).equals(bytes))
})

t.test('a consumer that stops early leaves no read unsettled and closes the file', async t => {
  const bytes = randomBytes(8 << 20)
  const fh = shortReadHandle(bytes)
  const reader = new ChunkReader()
  const chunks = reader.chunks(fh, bytes.length)
  const first = await chunks.next()
  t.ok(first.done !== true && first.value.length > 0)
  // What a for-await loop's break does: reads ahead are still in flight.
  await chunks.return(undefined)
  t.ok(fh.closed())
})
