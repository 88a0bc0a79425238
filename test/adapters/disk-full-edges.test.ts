// Each file-writing edge turns a full disk into HP_ERR_DISK_FULL naming the file it was writing,
// with the system's ENOSPC kept as the cause: the output through its temp file (positional and
// direct writes), the dedupe spill (and DigestStore passes it on as it is, not as a spill I/O
// error), and snapshot files and manifests. Writes reach /dev/full, which answers ENOSPC: through
// the writers' open() seam, or through a symlink where a file is opened by name.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { constants, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { open as fsOpen, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { AtomicFileWriter } from '../../adapters/atomic-file.js'
import { SpillFiles } from '../../adapters/spill-files.js'
import { SnapshotWriter } from '../../adapters/snapshot.js'
import { DigestStore } from '../../pipeline/digest-store.js'
import { sortUnique } from '../../pipeline/sort-unique.js'

// Opens /dev/full whatever path is asked for (O_DIRECT dropped when the device refuses it).
const toDevFull = async (_path: unknown, flags: number, mode: number): Promise<FileHandle> =>
  await fsOpen('/dev/full', flags & ~constants.O_CREAT & ~constants.O_TRUNC, mode)

const tmp = (t: { teardown: (fn: () => void) => void }): string => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-full-edge-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const fullOf = (path: string, doing: string): RegExp =>
  new RegExp(`^${doing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: no space left on the disk \\(ENOSPC\\); free space on the filesystem holding ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, or `)

t.test('output to a device that is full: HP_ERR_DISK_FULL naming it', async t => {
  const w = await AtomicFileWriter.create('/dev/full', new PassThrough())
  const err = await w.write(Buffer.alloc(3 << 20)).then(async () => await w.commit()).catch((e: unknown) => e) as { code: string, message: string, exitCode: number, cause: { code: string } }
  await w.abort()
  t.equal(err.code, 'HP_ERR_DISK_FULL')
  t.equal(err.exitCode, 1)
  t.match(err.message, fullOf('/dev/full', "cannot write output '/dev/full'"))
  t.equal(err.cause.code, 'ENOSPC')
})

for (const directIo of [false, true]) {
  t.test(`output file on a full disk (${directIo ? 'direct if possible' : 'page cache'}): names the output, leaves nothing`, async t => {
    const dir = tmp(t)
    const out = join(dir, 'unique.csv')
    const w = await AtomicFileWriter.create(out, new PassThrough(), 0o644, { open: toDevFull, directIo })
    const err = await (async () => {
      for (let i = 0; i < 12; i++) await w.write(Buffer.alloc(1 << 20, 97))
      await w.commit()
    })().catch((e: unknown) => e) as { code: string, message: string, cause: { code: string } }
    await w.abort()
    t.equal(err.code, 'HP_ERR_DISK_FULL')
    t.match(err.message, fullOf(out, `cannot write output '${out}'`))
    t.match(err.message, /or write it elsewhere, then run again$/)
    t.equal(err.cause.code, 'ENOSPC')
    t.same(readdirSync(dir), [], 'no output, no temp file')
  })
}

t.test('a dedupe spill on a full disk: HP_ERR_DISK_FULL naming the spill file, through DigestStore as it is', async t => {
  const dir = tmp(t)
  const storage = new SpillFiles(dir, { open: toDevFull })
  t.teardown(async () => { await storage.close() })
  const file = await storage.create()
  await file.write(randomBytes(1 << 16))
  const err = await file.seal().catch((e: unknown) => e) as { code: string, message: string, cause: { code: string } }
  await file.abort()
  t.equal(err.code, 'HP_ERR_DISK_FULL')
  t.match(err.message, fullOf(file.name, `cannot write dedupe spill file ${file.name}`))
  t.match(err.message, /or point --tmp-dir at a larger disk, then run again$/)
  t.equal(err.cause.code, 'ENOSPC')

  const store = new DigestStore({ memoryBudgetBytes: 1 << 30, storage: new SpillFiles(dir, { open: toDevFull }), sorter: async (r, n, k) => sortUnique(r, n, k) })
  t.teardown(async () => { await store.close() })
  store.add(randomBytes(20000 * 32), new Uint8Array(20000), 20000)
  await t.rejects(store.spill(), { code: 'HP_ERR_DISK_FULL', message: /cannot write dedupe spill file .*spill-0\.bin: no space left on the disk \(ENOSPC\)/ })
})

t.test('snapshot files and the manifest on a full disk: HP_ERR_DISK_FULL naming the snapshot', async t => {
  const dir = tmp(t)
  const snap = join(dir, 'snapshot')
  // The writer's temporary directory is `<dir>.tmp-<pid>`, made by create(); its files are opened by name.
  const w = await SnapshotWriter.create(snap)
  symlinkSync('/dev/full', join(`${snap}.tmp-${process.pid}`, 'EMAIL_SHA256.bin'))
  const digests = Buffer.alloc(32 * 4096)
  for (let i = 0; i < 4096; i++) digests.writeUInt32BE(i, i * 32)
  await t.rejects(w.write(0, digests, 4096), { code: 'HP_ERR_DISK_FULL', message: fullOf(snap, `cannot write snapshot ${snap}`), cause: { code: 'ENOSPC' } })
  await w.abort()

  const m = await SnapshotWriter.create(snap)
  symlinkSync('/dev/full', join(`${snap}.tmp-${process.pid}`, 'manifest.json'))
  await t.rejects(m.commit(), { code: 'HP_ERR_DISK_FULL', message: /or move state_dir to a larger disk, then run again$/ })
  await m.abort()
  t.same(readdirSync(dir), [], 'nothing left behind')
})
