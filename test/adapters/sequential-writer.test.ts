// SequentialWriter's shared blocks: writers that run one after another (a run's spill files)
// hand their blocks on instead of each allocating fresh ones, and no bytes of an earlier file
// leak into a later one.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SequentialWriter, type SharedBlocks } from '../../adapters/sequential-writer.js'

const MiB = 1 << 20

t.test('a closed writer gives its blocks to the next one, which writes only its own bytes', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-writer-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const blocks: SharedBlocks = { direct: [], plain: [] }

  const first = randomBytes(9 * MiB)
  const a = await SequentialWriter.create(join(dir, 'a.bin'), { blocks })
  const kind = a.direct ? blocks.direct : blocks.plain
  const other = a.direct ? blocks.plain : blocks.direct
  for (let at = 0; at < first.length; at += 3 * MiB + 7) await a.write(first.subarray(at, Math.min(first.length, at + 3 * MiB + 7)))
  await a.finish()
  t.equal(kind.length, 0, 'blocks go back only at close')
  await a.close()
  // 4 MiB blocks: 9 MiB filled three.
  t.equal(kind.length, 3, 'the three blocks it filled are shared')
  t.equal(other.length, 0)
  const given = new Set(kind)

  const second = Buffer.from('a short second file\n')
  const b = await SequentialWriter.create(join(dir, 'b.bin'), { blocks })
  await b.write(second)
  t.equal(kind.length, 2, 'the next writer took a shared block instead of a fresh one')
  await b.finish()
  await b.close()
  t.equal(kind.length, 3)
  t.ok(kind.every(block => given.has(block)), 'the same blocks, none allocated')
  t.ok(readFileSync(join(dir, 'a.bin')).equals(first), 'first file exact')
  t.ok(readFileSync(join(dir, 'b.bin')).equals(second), 'second file exact: nothing of the first one\'s block past its end')

  // A big file fills more blocks than are ever kept.
  const c = await SequentialWriter.create(join(dir, 'c.bin'), { blocks })
  const third = randomBytes(40 * MiB)
  await c.write(third)
  await c.finish()
  await c.close()
  t.ok(kind.length <= 5, `at most writes in flight + 1 blocks kept (${kind.length})`)
  t.ok(readFileSync(join(dir, 'c.bin')).equals(third), 'third file exact')
})
