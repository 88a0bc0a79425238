// DirectReader reads any byte range of a file through O_DIRECT exactly as a buffered read would,
// at unaligned positions and lengths, across its blocks, at and past the end, and with many reads
// in flight (more than its blocks: they wait, and no more blocks are made); reading ahead, asks
// front to back take few kernel reads and asks in any order stay exact. SpillFiles reads its
// files back direct when they were written so and through the page cache otherwise, same bytes,
// with its read-ahead shared among the files.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DirectReader } from '../../adapters/direct-reader.js'
import { SpillFiles } from '../../adapters/spill-files.js'

const tmp = (t: { teardown: (fn: () => void) => void }): string => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-direct-read-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

// 3 MiB and a bit: more than a block (1 MiB), and an end that is not aligned.
const data = randomBytes((3 << 20) + 777)
const probeDir = mkdtempSync(join(tmpdir(), 'hp-direct-probe-'))
writeFileSync(join(probeDir, 'probe'), data)
const probe = DirectReader.open(join(probeDir, 'probe'))
await probe?.close()
rmSync(probeDir, { recursive: true, force: true })
const skip = probe === undefined ? 'no native addon, or this filesystem refuses O_DIRECT' : false

async function readAll (r: DirectReader, length: number, position: number): Promise<Buffer> {
  const into = Buffer.alloc(length + 9)
  let done = 0
  for (;;) {
    const n = await r.read(into, 9 + done, length - done, position + done)
    if (n === 0 || done + n === length) { done += n; break }
    done += n
  }
  return into.subarray(9, 9 + done)
}

t.test('unaligned ranges, ranges over several blocks, the end and past it', { skip }, async t => {
  const path = join(tmp(t), 'f')
  writeFileSync(path, data)
  const r = DirectReader.open(path)!
  t.teardown(async () => { await r.close() })
  const cases: Array<[number, number]> = [[0, 32], [1, 31], [4095, 2], [4096, 4096], [1000, (1 << 20) + 5000], [5, data.length - 5], [data.length - 100, 100], [data.length - 100, 4096]]
  for (const [position, length] of cases) {
    const got = await readAll(r, length, position)
    t.same(got, data.subarray(position, position + length), `${length} bytes at ${position}`)
  }
  const into = Buffer.alloc(64)
  t.equal(await r.read(into, 0, 64, data.length), 0, 'at the end: 0')
  t.equal(await r.read(into, 0, 64, data.length + 8192), 0, 'past the end: 0')
  const one = await r.read(into, 0, 64, 3 << 20)
  t.equal(one, 64, 'a read within the last, partial block is whole')
})

t.test('200 reads in flight at once: all exact, and no more than 8 blocks made', { skip }, async t => {
  const path = join(tmp(t), 'f')
  writeFileSync(path, data)
  const r = DirectReader.open(path)!
  t.teardown(async () => { await r.close() })
  const asks = Array.from({ length: 200 }, (_, i) => [(i * 15_731) % (data.length - 40_000), 1 + (i * 977) % 40_000] as const)
  const got = await Promise.all(asks.map(async ([position, length]) => await readAll(r, length, position)))
  let exact = 0
  got.forEach((g, i) => { if (g.equals(data.subarray(asks[i]![0], asks[i]![0] + asks[i]![1]))) exact++ })
  t.equal(exact, 200)
  t.ok(DirectReader.blocks <= 8 && DirectReader.blocks > 0, `${DirectReader.blocks} blocks`)
})

t.test('read-ahead: asks front to back come from few fills, any other order stays exact', { skip }, async t => {
  const path = join(tmp(t), 'f')
  writeFileSync(path, data)
  const r = DirectReader.open(path)!
  t.teardown(async () => { await r.close() })
  r.readAhead = 256 * 1024 + 100
  t.equal(r.readAhead, 256 * 1024, 'rounded down to the alignment')
  // 16,000-byte asks front to back, to the end and past it, all asked at once as the final pass does.
  const asks: Array<[number, number]> = []
  for (let at = 0; at < data.length + 20_000; at += 16_000) asks.push([at, 16_000])
  const got = await Promise.all(asks.map(async ([position, length]) => await readAll(r, length, position)))
  let exact = 0
  got.forEach((g, i) => { if (g.equals(data.subarray(asks[i]![0], asks[i]![0] + asks[i]![1]))) exact++ })
  t.equal(exact, asks.length, `${asks.length} asks exact, the last ones short or empty at the end`)
  // Each fill serves ~16 asks; a fill starts at the aligned start of the first ask it misses.
  t.ok(r.reads <= Math.ceil(data.length / (256 * 1024 - 16_000 - 4096)) + 2, `${r.reads} kernel reads for ${asks.length} asks`)
  // Backwards, overlapping, and longer than a fill serves (those take the shared blocks).
  const before = r.reads
  const other: Array<[number, number]> = [[data.length - 5, 5], [1, 31], [300_000, 200_000], [299_999, 300_000], [4096, 260_000], [0, data.length], [262_143, 3]]
  for (const [position, length] of other) t.same(await readAll(r, length, position), data.subarray(position, position + length), `${length} bytes at ${position}`)
  t.ok(r.reads > before, 'asks out of order read again')
  // Turned off while asks wait their turn: those still read what they asked for.
  const waiting = Array.from({ length: 20 }, async (_, i) => await readAll(r, 5_000, 600_000 + i * 5_000))
  r.readAhead = 0
  const late = await Promise.all(waiting)
  t.ok(late.every((g, i) => g.equals(data.subarray(600_000 + i * 5_000, 605_000 + i * 5_000))), 'read-ahead turned off mid-way: exact')
  t.same(await readAll(r, 100, 70_000), data.subarray(70_000, 70_100), 'read-ahead off again: exact')
})

t.test('SpillFiles: direct and buffered files read back the same bytes', async t => {
  for (const direct of [true, false]) {
    if (direct && skip !== false) continue
    if (!direct) process.env.HASHPIPE_DIRECT_IO = '0'
    try {
      const storage = new SpillFiles(tmp(t))
      const file = await storage.create()
      await file.write(data.subarray(0, 1 << 20))
      await file.write(data.subarray(1 << 20))
      await file.seal()
      const into = Buffer.alloc(100_000)
      let done = 0
      while (done < into.length) done += await file.read(into, done, into.length - done, 12_345 + done)
      t.same(into, data.subarray(12_345, 112_345), direct ? 'direct' : 'buffered')
      await storage.close()
    } finally {
      delete process.env.HASHPIPE_DIRECT_IO
    }
  }
})

t.test('SpillFiles with read-ahead: files read in interleaved order, in small asks, give their bytes', async t => {
  for (const readAheadBytes of [3 << 20, 100 << 10, 0]) {
    const storage = new SpillFiles(tmp(t), { readAheadBytes })
    const files = []
    for (let f = 0; f < 3; f++) {
      const file = await storage.create()
      await file.write(data.subarray(f * 1000))
      await file.seal()
      files.push(file)
    }
    // Like the final pass: each unit reads its next piece of every file, several units at once;
    // the read-ahead starts a third of the way in, as the hash job starts it.
    storage.readAheadBytes = 0
    const asks: Array<Promise<boolean>> = []
    for (let at = 0; at < data.length; at += 9_000) {
      if (at >= data.length / 3 && at < data.length / 3 + 9_000) storage.readAheadBytes = readAheadBytes
      files.forEach((file, f) => {
        asks.push((async () => {
          const want = data.subarray(f * 1000 + at, f * 1000 + at + 9_000)
          const into = Buffer.alloc(want.length)
          let done = 0
          while (done < into.length) done += await file.read(into, done, into.length - done, at + done)
          return into.equals(want)
        })())
      })
    }
    const exact = (await Promise.all(asks)).filter(Boolean).length
    t.equal(exact, asks.length, `read-ahead ${readAheadBytes}: ${asks.length} asks exact`)
    await storage.close()
  }
})

t.test('SpillFiles: a read past the end of a read-ahead file is short, not wrong', async t => {
  const storage = new SpillFiles(tmp(t), { readAheadBytes: 1 << 20 })
  t.teardown(async () => { await storage.close() })
  const file = await storage.create()
  await file.write(data.subarray(0, 10_000))
  await file.seal()
  const into = Buffer.alloc(20_000)
  t.equal(await file.read(into, 0, 20_000, 0), 10_000, 'what the file has')
  t.same(into.subarray(0, 10_000), data.subarray(0, 10_000))
  t.equal(await file.read(into, 0, 100, 10_000), 0, 'at the end: 0')
  t.equal(await file.read(into, 0, 100, 9_990), 10, 'across the end: what is left')
})

t.test('SpillFiles.close(): the main thread keeps running while the files go; resolved, they are gone', async t => {
  const parent = tmp(t)
  const storage = new SpillFiles(parent)
  for (let f = 0; f < 4; f++) {
    const file = await storage.create()
    await file.write(data)
    await file.seal()
  }
  t.equal(readdirSync(parent).length, 1, 'the spill directory, its files unlinked')
  let turns = 0
  const closing = storage.close()
  // A close that ran on the main thread would be over before any of these turns.
  const spin = (async () => { while (await Promise.race([closing.then(() => true), new Promise<false>(resolve => setImmediate(() => { resolve(false) }))]) === false) turns++ })()
  await closing
  await spin
  t.ok(turns > 0, `the event loop turned ${turns} times during close()`)
  t.same(readdirSync(parent), [], 'the directory is gone once close() resolves')
  await storage.close()
  t.same(readdirSync(parent), [], 'a second close() is harmless')
})
