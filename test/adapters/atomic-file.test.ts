import t from 'tap'
import { constants, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, type PathLike } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { AtomicFileWriter } from '../../adapters/atomic-file.js'
import { nativeAddon } from '../../pipeline/native-hash.js'
import { tempDir } from '../helpers/temp-dir.js'

// Blocks of mixed sizes: tiny ones are buffered, multi-MiB ones go out as positional writes
// several at a time, so a wrong position or a dropped block shows up as a content mismatch.
function blocks (): Buffer[] {
  const sizes = [1, 70, 1 << 20, 3, (3 << 20) + 17, 5000, 1 << 19, (1 << 20) - 1, 2, 7 << 20, 11]
  const out: Buffer[] = []
  for (let round = 0; round < 4; round++) for (const n of sizes) out.push(randomBytes(n))
  return out
}

t.test('a regular file gets every block in order, appears only on commit, leaves no temp file', async t => {
  const dir = tempDir(t, 'hashpipe-atomic-')
  const path = join(dir, 'out.bin')
  writeFileSync(path, 'old content')
  const w = await AtomicFileWriter.create(path, new PassThrough())
  const parts = blocks()
  for (const b of parts) await w.write(b)
  t.equal(readFileSync(path, 'utf8'), 'old content', 'the target is untouched before commit')
  await w.commit()
  const expected = Buffer.concat(parts)
  t.equal(w.bytes, expected.length)
  t.ok(readFileSync(path).equals(expected), 'content equals the blocks in write order')
  t.same(readdirSync(dir), ['out.bin'], 'no temp file left')
})

t.test('abort removes the temp file and keeps the old target', async t => {
  const dir = tempDir(t, 'hashpipe-atomic-')
  const path = join(dir, 'out.bin')
  writeFileSync(path, 'old content')
  const w = await AtomicFileWriter.create(path, new PassThrough())
  for (const b of blocks()) await w.write(b)
  await w.abort()
  t.equal(readFileSync(path, 'utf8'), 'old content')
  t.same(readdirSync(dir), ['out.bin'])
})

t.test('- writes to the given stream, in order', async t => {
  const stream = new PassThrough()
  const chunks: Buffer[] = []
  stream.on('data', (c: Buffer) => chunks.push(c))
  const w = await AtomicFileWriter.create('-', stream)
  const parts = blocks()
  for (const b of parts) await w.write(b)
  await w.commit()
  t.ok(Buffer.concat(chunks).equals(Buffer.concat(parts)))
})

t.test('a path that is not a regular file is written in place, sequentially', async t => {
  const w = await AtomicFileWriter.create('/dev/null', new PassThrough())
  const parts = blocks()
  for (const b of parts) await w.write(b)
  await w.commit()
  t.equal(w.bytes, parts.reduce((n, b) => n + b.length, 0))
})

t.test('a FIFO gets every block in order, byte-exact, small ones gathered and big ones written as they are', async t => {
  const dir = tempDir(t, 'hashpipe-atomic-')
  const fifo = join(dir, 'out.fifo')
  t.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo')
  // The reader opens the FIFO first (an open for writing waits for one), and reads to the end.
  const reader = open(fifo, 'r').then(async fh => { try { return await fh.readFile() } finally { await fh.close() } })
  const w = await AtomicFileWriter.create(fifo, new PassThrough())
  t.equal(w.mode, 'in-place')
  const parts = blocks()
  const expected = Buffer.concat(parts)
  for (const b of parts) {
    await w.write(b)
    // The caller may reuse its buffer once write() resolves.
    b.fill(0x2a)
  }
  await w.commit()
  const got = await reader
  t.equal(w.bytes, expected.length)
  t.ok(got.equals(expected), 'the bytes as they were when written, in order')
})

t.test('an output in a missing directory fails with HP_ERR_OUTPUT_IO naming the path', async t => {
  const path = join(tmpdir(), 'hashpipe-no-such-dir-' + process.pid, 'out.csv')
  await t.rejects(AtomicFileWriter.create(path, new PassThrough()), { code: 'HP_ERR_OUTPUT_IO', message: new RegExp(path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')) })
})

t.test('a device that refuses the write (/dev/full) fails with HP_ERR_DISK_FULL, no crash', async t => {
  const w = await AtomicFileWriter.create('/dev/full', new PassThrough())
  await t.rejects(async () => {
    for (const b of blocks()) await w.write(b)
    await w.commit()
  }, { code: 'HP_ERR_DISK_FULL', message: /cannot write output '\/dev\/full': no space left on the disk \(ENOSPC\); free space on the filesystem holding \/dev\/full/ })
  await w.abort()
})

t.test('a positional write that fails mid-file (file size limit) fails the commit and abort leaves nothing', async t => {
  // A child under `ulimit -f` (2 MiB): writes past it fail with EFBIG while others are in flight.
  const dir = tempDir(t, 'hashpipe-atomic-')
  const module = fileURLToPath(new URL('../../adapters/atomic-file.js', import.meta.url))
  const script = join(dir, 'child.mjs')
  writeFileSync(script, `
    import { AtomicFileWriter } from ${JSON.stringify(module)}
    import { PassThrough } from 'node:stream'
    process.on('SIGXFSZ', () => {})
    const w = await AtomicFileWriter.create(process.argv[2], new PassThrough())
    try {
      for (let i = 0; i < 16; i++) await w.write(Buffer.alloc(1 << 20, 97))
      await w.commit()
      console.log(JSON.stringify({ committed: true }))
    } catch (e) {
      await w.abort()
      console.log(JSON.stringify({ code: e.code, message: e.message }))
    }
  `)
  const out = join(dir, 'out', 'unique.csv')
  mkdirSync(join(dir, 'out'))
  const r = spawnSync('bash', ['-c', 'ulimit -f 2048 && exec "$0" "$@"', process.execPath, script, out], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  const result = JSON.parse(r.stdout) as { committed?: boolean, code?: string, message?: string }
  t.equal(result.code, 'HP_ERR_OUTPUT_IO')
  t.match(result.message, /cannot write output '.*unique\.csv': EFBIG; check free disk space/)
  t.same(readdirSync(join(dir, 'out')), [], 'no output and no temp file')
})

// Direct mode: whole 4 MiB blocks, a last block padded to 4096 and cut back on commit.
const directAvailable = typeof nativeAddon?.alignedBuffer === 'function' && constants.O_DIRECT !== undefined

/** Whether dir's filesystem takes an aligned O_DIRECT write (tmpfs before Linux 6.6 does not). */
async function takesDirect (dir: string): Promise<boolean> {
  const path = join(dir, 'probe.bin')
  try {
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o644)
    try {
      await fh.write((nativeAddon!.alignedBuffer as (n: number) => Buffer)(4096), 0, 4096, 0)
      return true
    } finally {
      await fh.close()
    }
  } catch {
    return false
  } finally {
    rmSync(path, { force: true })
  }
}

t.test('a regular file is written with O_DIRECT where it can be, byte-exact at any size', { skip: directAvailable ? false : 'no native addon or no O_DIRECT on this platform' }, async t => {
  const dir = tempDir(t, 'hashpipe-atomic-')
  const expected = await takesDirect(dir) ? 'direct' : 'positional'
  for (const size of [0, 1, 4095, 4096, 4097, (4 << 20) - 1, 4 << 20, (4 << 20) + 1, (21 << 20) + 123]) {
    const path = join(dir, `out-${size}.bin`)
    const w = await AtomicFileWriter.create(path, new PassThrough())
    t.equal(w.mode, expected, `${size} bytes: ${expected} mode on ${dir}`)
    const data = randomBytes(size)
    // Uneven pieces, so block boundaries fall inside writes.
    for (let at = 0; at < size;) {
      const n = Math.min(size - at, 1 + ((at * 7919) % 3_000_001))
      await w.write(data.subarray(at, at + n))
      at += n
    }
    await w.commit()
    t.equal(w.bytes, size)
    t.ok(readFileSync(path).equals(data), `${size} bytes: content and length exact`)
  }
  t.equal(readdirSync(dir).length, 9, 'no temp file left')
})

t.test('directIo: false and HASHPIPE_DIRECT_IO=0 write through the page cache, same bytes', async t => {
  const dir = tempDir(t, 'hashpipe-atomic-')
  const parts = blocks()
  const w = await AtomicFileWriter.create(join(dir, 'a.bin'), new PassThrough(), 0o644, { directIo: false })
  t.equal(w.mode, 'positional')
  for (const b of parts) await w.write(b)
  await w.commit()
  t.ok(readFileSync(join(dir, 'a.bin')).equals(Buffer.concat(parts)))
  process.env.HASHPIPE_DIRECT_IO = '0'
  t.teardown(() => { delete process.env.HASHPIPE_DIRECT_IO })
  const v = await AtomicFileWriter.create(join(dir, 'b.bin'), new PassThrough())
  t.equal(v.mode, 'positional')
  await v.abort()
})

t.test('a filesystem that refuses O_DIRECT (EINVAL at open or at the first write) falls back to positional writes', { skip: directAvailable ? false : 'no native addon or no O_DIRECT on this platform' }, async t => {
  const einval = (): NodeJS.ErrnoException => Object.assign(new Error('EINVAL: invalid argument'), { code: 'EINVAL' })
  const refuseOpen = async (p: PathLike, flags: number, mode: number): Promise<FileHandle> => {
    if ((flags & constants.O_DIRECT) !== 0) throw einval()
    return await open(p, flags, mode)
  }
  const opened: FileHandle[] = []
  const refuseWrite = async (p: PathLike, flags: number, mode: number): Promise<FileHandle> => {
    const fh = await open(p, flags, mode)
    if ((flags & constants.O_DIRECT) !== 0) {
      opened.push(fh)
      fh.write = (async () => { throw einval() }) as unknown as FileHandle['write']
    }
    return fh
  }
  const parts = blocks()
  for (const [name, opener] of [['open', refuseOpen], ['write', refuseWrite]] as const) {
    const dir = tempDir(t, 'hashpipe-atomic-')
    const path = join(dir, 'out.bin')
    const w = await AtomicFileWriter.create(path, new PassThrough(), 0o644, { open: opener })
    t.equal(w.mode, 'positional', `EINVAL at ${name}: positional`)
    for (const b of parts) await w.write(b)
    await w.commit()
    t.ok(readFileSync(path).equals(Buffer.concat(parts)), `EINVAL at ${name}: content exact`)
    t.same(readdirSync(dir), ['out.bin'])
  }
  t.equal(opened.length, 1, 'the direct handle was tried once')
})

t.test('any other error opening the direct temp file fails with HP_ERR_OUTPUT_IO', { skip: directAvailable ? false : 'no native addon or no O_DIRECT on this platform' }, async t => {
  const dir = tempDir(t, 'hashpipe-atomic-')
  const eacces = async (): Promise<FileHandle> => { throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }) }
  await t.rejects(AtomicFileWriter.create(join(dir, 'out.bin'), new PassThrough(), 0o644, { open: eacces }), { code: 'HP_ERR_OUTPUT_IO', message: /cannot create output '.*out\.bin': EACCES/ })
  t.same(readdirSync(dir), [])
})

t.test('alignedBuffer gives writable 4096-aligned memory and checks its argument', { skip: typeof nativeAddon?.alignedBuffer === 'function' ? false : 'no native addon' }, async t => {
  const alignedBuffer = nativeAddon!.alignedBuffer as (bytes: unknown) => Buffer
  const b = alignedBuffer(8192)
  t.ok(Buffer.isBuffer(b))
  t.equal(b.length, 8192)
  b.fill(7)
  t.equal(b[8191], 7)
  for (const bad of [0, 4095, 4097, 6000, 512 << 20, -4096, 4096.5]) {
    t.throws(() => alignedBuffer(bad), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, `${bad}`)
  }
  for (const bad of ['4096', undefined, null, {}]) {
    t.throws(() => alignedBuffer(bad), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, String(bad))
  }
  // Alignment is what O_DIRECT checks: a direct write from this memory at offset 0 succeeds.
  if (constants.O_DIRECT !== undefined) {
    const path = join(tempDir(t, 'hashpipe-atomic-'), 'aligned.bin')
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o644).catch(() => undefined)
    if (fh !== undefined) {
      const { bytesWritten } = await fh.write(b, 0, 8192, 0)
      await fh.close()
      t.equal(bytesWritten, 8192)
    }
  }
})

t.test('write() copies: a buffer reused as soon as write() resolves does not change the output', async t => {
  const dir = tempDir(t, 'hashpipe-atomic-')
  for (const [name, options] of [['direct or positional', {}], ['positional', { directIo: false }], ['stream', undefined]] as const) {
    const stream = new PassThrough()
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    const path = options === undefined ? '-' : join(dir, `${name}.bin`)
    const w = await AtomicFileWriter.create(path, stream, 0o644, options ?? {})
    const reused = Buffer.alloc(3 << 20)
    const expected: Buffer[] = []
    for (let i = 0; i < 5; i++) {
      reused.fill(65 + i)
      const piece = reused.subarray(0, (1 << 20) + i * 777_777)
      expected.push(Buffer.from(piece))
      await w.write(piece)
    }
    await w.commit()
    const got = path === '-' ? Buffer.concat(chunks) : readFileSync(path)
    t.ok(got.equals(Buffer.concat(expected)), `${name}: each write kept its bytes`)
  }
})
