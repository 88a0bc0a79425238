// Snapshots are what Record Sync deletes from: a torn or corrupt one must be refused, and the
// diff must be exact. These tests write real snapshot directories and damage them.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, truncateSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Snapshot, SnapshotWriter } from '../../adapters/snapshot.js'
import { diffSorted } from '../../pipeline/sorted-diff.js'
import { sortUnique } from '../../pipeline/sort-unique.js'

function digests (n: number): Uint8Array {
  return sortUnique(randomBytes(n * 32), n).records
}

async function collect (it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of it) parts.push(Buffer.from(c))
  return Buffer.concat(parts)
}

function hexSet (buf: Uint8Array): Set<string> {
  const s = new Set<string>()
  for (let i = 0; i < buf.length; i += 32) s.add(Buffer.from(buf.subarray(i, i + 32)).toString('hex'))
  return s
}

t.test('a snapshot round-trips its digests and prefix index', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-snap-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const d = digests(5000)
  const w = await SnapshotWriter.create(join(dir, 's1'))
  await w.write(0, d.subarray(0, 32 * 1000), 1000)
  await w.write(0, d.subarray(32 * 1000), 4000)
  const m = await w.commit()
  t.equal(m.files.EMAIL_SHA256?.count, 5000)
  const snap = await Snapshot.open(join(dir, 's1'))
  t.same(await collect(snap.records('EMAIL_SHA256')), Buffer.from(d))
  t.equal(snap.count('PHONE_SHA256'), 0)
  const idx = m.files.EMAIL_SHA256!.prefixIndex
  t.equal(idx[256], 5000)
  for (let p = 0; p < 256; p++) {
    if (idx[p]! < 5000) t.ok(d[idx[p]! * 32]! >= p, `prefix ${p} starts at or after its byte`)
  }
})

t.test('out-of-order writes are refused', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-snap-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const d = digests(10)
  const w = await SnapshotWriter.create(join(dir, 's'))
  await w.write(1, d.subarray(32 * 5), 5)
  await t.rejects(w.write(1, d.subarray(0, 32 * 5), 5), { code: 'HP_ERR_STATE_INVALID' })
  await w.abort()
})

t.test('torn, corrupt and missing snapshots are refused', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-snap-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const make = async (name: string): Promise<string> => {
    const w = await SnapshotWriter.create(join(dir, name))
    await w.write(2, digests(2000), 2000)
    await w.commit()
    return join(dir, name, 'IDFA_SHA256.bin')
  }
  const torn = await make('torn')
  truncateSync(torn, 32 * 1500)
  await t.rejects(collect((await Snapshot.open(join(dir, 'torn'))).records('IDFA_SHA256')), { code: 'HP_ERR_SNAPSHOT_CORRUPT' })
  const flipped = await make('flipped')
  const bytes = readFileSync(flipped)
  bytes[777] = bytes[777]! ^ 0xff
  writeFileSync(flipped, bytes)
  await t.rejects(collect((await Snapshot.open(join(dir, 'flipped'))).records('IDFA_SHA256')), { code: 'HP_ERR_SNAPSHOT_CORRUPT' })
  await t.rejects(Snapshot.open(join(dir, 'nothing-here')), { code: 'HP_ERR_SNAPSHOT_CORRUPT' })
})

t.test('diffSorted gives exact adds and removes', async t => {
  const all = digests(30000)
  const prev: Uint8Array[] = []
  const next: Uint8Array[] = []
  // Interleave membership: some only in prev, some only in next, most in both.
  const inPrev: number[] = []
  const inNext: number[] = []
  for (let i = 0; i < 30000; i++) {
    const r = i % 7
    if (r !== 0) inPrev.push(i)
    if (r !== 1) inNext.push(i)
  }
  const pack = (ids: number[], chunk: number, out: Uint8Array[]): void => {
    for (let i = 0; i < ids.length; i += chunk) {
      const part = ids.slice(i, i + chunk)
      const b = new Uint8Array(part.length * 32)
      part.forEach((id, j) => b.set(all.subarray(id * 32, id * 32 + 32), j * 32))
      out.push(b)
    }
  }
  pack(inPrev, 999, prev)
  pack(inNext, 4096, next)
  async function * it (a: Uint8Array[]): AsyncGenerator<Uint8Array> { yield * a }
  const added: Uint8Array[] = []
  const removed: Uint8Array[] = []
  const r = await diffSorted(it(next), it(prev), {
    added: async (d, n) => { added.push(d.slice(0, n * 32)) },
    removed: async (d, n) => { removed.push(d.slice(0, n * 32)) }
  })
  const expAdd = inNext.filter(i => i % 7 === 0)
  const expRem = inPrev.filter(i => i % 7 === 1)
  t.equal(r.added, expAdd.length)
  t.equal(r.removed, expRem.length)
  t.equal(r.kept, inNext.length - expAdd.length)
  const hex = (ids: number[]): Set<string> => new Set(ids.map(i => Buffer.from(all.subarray(i * 32, i * 32 + 32)).toString('hex')))
  t.same(hexSet(Buffer.concat(added)), hex(expAdd))
  t.same(hexSet(Buffer.concat(removed)), hex(expRem))
  const empty = await diffSorted(it([]), it(prev), { added: async () => {}, removed: async () => {} })
  t.equal(empty.removed, inPrev.length, 'an empty new snapshot removes everything (the mass-delete guard is the caller\'s)')
})
