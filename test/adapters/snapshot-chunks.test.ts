// Nothing read from a snapshot or plan is unchecked: every chunk's checksum is compared before
// any of it is yielded (format 2), and a format-1 snapshot (one whole-file checksum) is verified
// whole before its first chunk. Damaged manifests and unknown versions are refused at open.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Snapshot, SnapshotWriter, SnapshotCorruptError } from '../../adapters/snapshot.js'
import { sortUnique } from '../../pipeline/sort-unique.js'

const digests = (n: number): Uint8Array => sortUnique(randomBytes(n * 32), n).records

function tempDir (t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hp-snapchunk-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function flip (path: string, at: number): void {
  const bytes = readFileSync(path)
  bytes[at] = bytes[at]! ^ 0x01
  writeFileSync(path, bytes)
}

/** Reads until the stream ends or fails; returns the bytes yielded and the error, if any. */
async function drain (it: AsyncIterable<Uint8Array>): Promise<{ bytes: number, err: unknown }> {
  let bytes = 0
  try {
    for await (const c of it) bytes += c.byteLength
  } catch (err) {
    return { bytes, err }
  }
  return { bytes, err: undefined }
}

t.test('a damaged chunk is refused before any of it is yielded; the chunks before it are whole', async t => {
  const dir = tempDir(t)
  const d = digests(10000)
  const w = await SnapshotWriter.create(join(dir, 's'), { chunkRecords: 1000 })
  // Writes that straddle chunk boundaries.
  await w.write(0, d.subarray(0, 32 * 2500), 2500)
  await w.write(0, d.subarray(32 * 2500), 7500)
  const m = await w.commit()
  t.equal(m.version, 2)
  t.equal(m.files.EMAIL_SHA256?.chunkSha256?.length, 10)
  t.equal(m.files.EMAIL_SHA256?.chunkSha256?.[0], createHash('sha256').update(d.subarray(0, 32 * 1000)).digest('hex'))
  const snap = await Snapshot.open(join(dir, 's'))
  const whole = await drain(snap.records('EMAIL_SHA256'))
  t.same(whole, { bytes: 320000, err: undefined })

  flip(join(dir, 's', 'EMAIL_SHA256.bin'), 32 * 4321 + 7)
  const damaged = await drain((await Snapshot.open(join(dir, 's'))).records('EMAIL_SHA256'))
  t.equal(damaged.bytes, 32 * 4000, 'the four chunks before the damaged one, and nothing of it')
  t.ok(damaged.err instanceof SnapshotCorruptError)
  t.match((damaged.err as Error).message, /EMAIL_SHA256\.bin does not match its checksum in bytes 128000\.\.160000 \(chunk 5 of 10\)/)
  await t.rejects((await Snapshot.open(join(dir, 's'))).verify(), { code: 'HP_ERR_SNAPSHOT_CORRUPT' })
})

t.test('a format-1 snapshot still reads, and a damaged one yields nothing', async t => {
  const dir = tempDir(t)
  const d = Buffer.from(digests(40000))
  const make = (name: string): string => {
    mkdirSync(join(dir, name))
    writeFileSync(join(dir, name, 'PHONE_SHA256.bin'), d)
    const prefixIndex = new Array(257).fill(40000)
    writeFileSync(join(dir, name, 'manifest.json'), JSON.stringify({ version: 1, createdAt: new Date().toISOString(), files: { PHONE_SHA256: { count: 40000, sha256: createHash('sha256').update(d).digest('hex'), prefixIndex } } }))
    return join(dir, name)
  }
  const good = await Snapshot.open(make('v1'))
  const parts: Buffer[] = []
  for await (const c of good.records('PHONE_SHA256')) parts.push(Buffer.from(c))
  t.same(Buffer.concat(parts), d, 'old snapshots read as before')

  const bad = make('v1-bad')
  flip(join(bad, 'PHONE_SHA256.bin'), 32 * 100)
  const r = await drain((await Snapshot.open(bad)).records('PHONE_SHA256'))
  t.equal(r.bytes, 0, 'verified whole before the first chunk (the file spans two read chunks)')
  t.match(r.err, { code: 'HP_ERR_SNAPSHOT_CORRUPT' })
})

t.test('damaged chunk lists and unknown versions are refused at open', async t => {
  const dir = tempDir(t)
  const w = await SnapshotWriter.create(join(dir, 's'), { chunkRecords: 100 })
  await w.write(1, digests(500), 500)
  await w.commit()
  const manifestPath = join(dir, 's', 'manifest.json')
  const m = JSON.parse(readFileSync(manifestPath, 'utf8'))
  m.files.PHONE_SHA256.chunkSha256[2] = '0'.repeat(64)
  writeFileSync(manifestPath, JSON.stringify(m))
  await t.rejects(Snapshot.open(join(dir, 's')), { code: 'HP_ERR_SNAPSHOT_CORRUPT', message: /chunk checksums for PHONE_SHA256 are damaged/ })
  m.version = 9
  writeFileSync(manifestPath, JSON.stringify(m))
  await t.rejects(Snapshot.open(join(dir, 's')), { code: 'HP_ERR_SNAPSHOT_CORRUPT', message: /format version 9/ })
  await t.rejects(Snapshot.open(join(dir, 'absent')), { code: 'HP_ERR_SNAPSHOT_CORRUPT', message: /no manifest/ })
})
