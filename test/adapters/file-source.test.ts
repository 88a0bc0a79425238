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

t.test('once the file is read, its read buffers are freed (native core), a chunk recycled late too; one still held is not', async t => {
  const { nativeAddon } = await import('../../pipeline/native-hash.js')
  const native = nativeAddon !== undefined
  const path = join(dir, 'freed.bin')
  writeFileSync(path, data)
  const src = await openInput(path, new PassThrough())
  const buffers = new Set<ArrayBufferLike>()
  const copies: Buffer[] = []
  let late: Buffer | undefined
  let kept: Buffer | undefined
  for await (const chunk of src.chunks) {
    copies.push(Buffer.from(chunk))
    // The last chunk is kept (never handed back), the one before is handed back only at the end.
    if (late !== undefined) { buffers.add(late.buffer); src.recycle(late) }
    late = kept
    kept = chunk
  }
  t.ok(Buffer.concat(copies).equals(data), 'the bytes are the file\'s')
  t.ok(buffers.size > 0)
  t.equal([...buffers].filter(b => b.byteLength === 0).length, native ? buffers.size : 0, `native core ${native}: the reader's free buffers are freed at the end`)
  src.recycle(late!)
  t.equal(late!.length, native ? 0 : late!.length, 'a chunk handed back after the end is freed at once')
  t.ok(kept!.length > 0 && kept!.buffer.byteLength > 0, 'a chunk never handed back is left alone')
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
// rest of its span read before the chunks after it. It counts the reads in flight, the most at
// once, and those still in flight when it is closed; `failAt` makes the read at that position fail.
interface FakeHandle {
  read: ChunkReaderHandle['read']
  close: () => Promise<void>
  closed: () => boolean
  positions: Array<number | null>
  maxInFlight: () => number
  inFlightAtClose: () => number
}
type ChunkReaderHandle = Parameters<ChunkReader['chunks']>[0]

function shortReadHandle (bytes: Buffer, options: { shrinkTo?: number, failAt?: number } = {}): FakeHandle {
  const shrinkTo = options.shrinkTo ?? bytes.length
  let closed = false
  let n = 0
  let inFlight = 0
  let maxInFlight = 0
  let atClose = -1
  const positions: Array<number | null> = []
  return {
    read: (async (buffer: Buffer, offset: number, length: number, position: number | null) => {
      positions.push(position)
      maxInFlight = Math.max(maxInFlight, ++inFlight)
      try {
        const at = position ?? 0
        // Every third read comes back short, by a varying amount.
        const want = ++n % 3 === 0 ? Math.max(1, Math.floor(length / (2 + n % 5))) : length
        const got = Math.max(0, Math.min(want, shrinkTo - at))
        bytes.copy(buffer, offset, at, at + got)
        await new Promise(resolve => setImmediate(resolve))
        if (at === options.failAt) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })
        return { bytesRead: got, buffer }
      } finally {
        inFlight--
      }
    }) as ChunkReaderHandle['read'],
    close: async () => { closed = true; atClose = inFlight },
    closed: () => closed,
    positions,
    maxInFlight: () => maxInFlight,
    inFlightAtClose: () => atClose
  }
}

t.test('short reads of a regular file leave nothing out and nothing out of order', async t => {
  const bytes = randomBytes((9 << 20) + 777)
  const fh = shortReadHandle(bytes)
  const reader = new ChunkReader()
  const copies: Buffer[] = []
  for await (const chunk of reader.chunks(fh, bytes.length)) { copies.push(Buffer.from(chunk)); reader.recycle(chunk) }
  t.ok(Buffer.concat(copies).equals(bytes), 'identical bytes')
  t.ok(fh.positions.every(p => p !== null), 'every read at its own position')
  // The reads ahead, plus the rest of a short read.
  t.ok(fh.maxInFlight() >= kReadsAhead && fh.maxInFlight() <= kReadsAhead + 1, `reads run ahead, ${fh.maxInFlight()} at most at once`)
  t.equal(fh.inFlightAtClose(), 0, 'closed with no read in flight')
})

t.test('a file that shrinks while read ends at its new end, without an error', async t => {
  const bytes = randomBytes(6 << 20)
  const cut = (3 << 20) + 5000
  const fh = shortReadHandle(bytes, { shrinkTo: cut })
  const reader = new ChunkReader()
  const copies: Buffer[] = []
  for await (const chunk of reader.chunks(fh, bytes.length)) copies.push(Buffer.from(chunk))
  t.ok(Buffer.concat(copies).equals(bytes.subarray(0, cut)))
  t.equal(fh.inFlightAtClose(), 0)
})

t.test('a failing read fails the reader with its error, after the chunks before it, and closes the file', async t => {
  const bytes = randomBytes(8 << 20)
  const fh = shortReadHandle(bytes, { failAt: 3 << 20 })
  const reader = new ChunkReader()
  const copies: Buffer[] = []
  await t.rejects(async () => {
    for await (const chunk of reader.chunks(fh, bytes.length)) copies.push(Buffer.from(chunk))
  }, { code: 'EIO' })
  t.ok(Buffer.concat(copies).equals(bytes.subarray(0, 3 << 20)), 'every chunk before the failed one, none after')
  t.equal(fh.inFlightAtClose(), 0, 'the reads ahead settled before the close')
})

t.test('a stream (no size) is read in order, one read at a time, short reads included', async t => {
  const bytes = randomBytes((4 << 20) + 3)
  let at = 0
  const fh = shortReadHandle(bytes)
  const nullPositions: boolean[] = []
  const inOrder: ChunkReaderHandle = {
    read: (async (buffer: Buffer, offset: number, length: number, position: number | null) => {
      nullPositions.push(position === null)
      const r = await fh.read(buffer, offset, length, at)
      at += r.bytesRead
      return r
    }) as ChunkReaderHandle['read'],
    close: fh.close
  }
  const reader = new ChunkReader()
  const copies: Buffer[] = []
  for await (const chunk of reader.chunks(inOrder)) copies.push(Buffer.from(chunk))
  t.ok(Buffer.concat(copies).equals(bytes))
  t.ok(nullPositions.length > 4 && nullPositions.every(Boolean), 'every read at the current position')
  t.equal(fh.maxInFlight(), 1, 'one read at a time')
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
  t.equal(fh.inFlightAtClose(), 0)
})
