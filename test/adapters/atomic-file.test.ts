import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { AtomicFileWriter } from '../../adapters/atomic-file.js'

// Blocks of mixed sizes: tiny ones are buffered, multi-MiB ones go out as positional writes
// several at a time, so a wrong position or a dropped block shows up as a content mismatch.
function blocks (): Buffer[] {
  const sizes = [1, 70, 1 << 20, 3, (3 << 20) + 17, 5000, 1 << 19, (1 << 20) - 1, 2, 7 << 20, 11]
  const out: Buffer[] = []
  for (let round = 0; round < 4; round++) for (const n of sizes) out.push(randomBytes(n))
  return out
}

t.test('a regular file gets every block in order, appears only on commit, leaves no temp file', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-atomic-'))
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
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-atomic-'))
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

t.test('an output in a missing directory fails with HP_ERR_OUTPUT_IO naming the path', async t => {
  const path = join(tmpdir(), 'hashpipe-no-such-dir-' + process.pid, 'out.csv')
  await t.rejects(AtomicFileWriter.create(path, new PassThrough()), { code: 'HP_ERR_OUTPUT_IO', message: new RegExp(path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')) })
})

t.test('a device that refuses the write (/dev/full) fails with HP_ERR_OUTPUT_IO, no crash', async t => {
  const w = await AtomicFileWriter.create('/dev/full', new PassThrough())
  await t.rejects(async () => {
    for (const b of blocks()) await w.write(b)
    await w.commit()
  }, { code: 'HP_ERR_OUTPUT_IO', message: /cannot write output '\/dev\/full': ENOSPC; check free disk space/ })
  await w.abort()
})

t.test('a positional write that fails mid-file (file size limit) fails the commit and abort leaves nothing', async t => {
  // A child under `ulimit -f` (2 MiB): writes past it fail with EFBIG while others are in flight.
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-atomic-'))
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
