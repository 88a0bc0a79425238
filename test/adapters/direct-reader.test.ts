// DirectReader reads any byte range of a file through O_DIRECT exactly as a buffered read would,
// at unaligned positions and lengths, across its blocks, at and past the end, and with many reads
// in flight (more than its blocks: they wait, and no more blocks are made). SpillFiles reads its
// files back direct when they were written so and through the page cache otherwise, same bytes.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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
probe?.close()
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
  t.teardown(() => { r.close() })
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
  t.teardown(() => { r.close() })
  const asks = Array.from({ length: 200 }, (_, i) => [(i * 15_731) % (data.length - 40_000), 1 + (i * 977) % 40_000] as const)
  const got = await Promise.all(asks.map(async ([position, length]) => await readAll(r, length, position)))
  let exact = 0
  got.forEach((g, i) => { if (g.equals(data.subarray(asks[i]![0], asks[i]![0] + asks[i]![1]))) exact++ })
  t.equal(exact, 200)
  t.ok(DirectReader.blocks <= 8 && DirectReader.blocks > 0, `${DirectReader.blocks} blocks`)
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
      storage.close()
    } finally {
      delete process.env.HASHPIPE_DIRECT_IO
    }
  }
})
