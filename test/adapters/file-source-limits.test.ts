// A regular file is read up to the size it had when it was opened, even while something appends
// to it; FIFOs report no size and are marked as not regular (they cannot be read again).
import t from 'tap'
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { openInput } from '../../adapters/file-source.js'

const dir = mkdtempSync(join(tmpdir(), 'hp-source-limits-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

t.test('a file that grows while read is read up to its size at open', async t => {
  const path = join(dir, 'growing.txt')
  const start = Buffer.alloc((3 << 20) + 777, 'a\n')
  writeFileSync(path, start)
  const src = await openInput(path, new PassThrough())
  t.equal(src.size, start.length)
  t.equal(src.regular, true)
  let read = 0
  let appended = false
  for await (const chunk of src.chunks) {
    read += chunk.length
    if (!appended) { appendFileSync(path, Buffer.alloc(2 << 20, 'b\n')); appended = true }
  }
  t.equal(read, start.length, 'bytes appended after open are not read')
})

t.test('a FIFO has no size and is not regular', async t => {
  const fifo = join(dir, 'in.fifo')
  execFileSync('mkfifo', [fifo])
  const writer = spawn('sh', ['-c', `printf 'x@example.com\\n' > '${fifo}'`], { stdio: 'ignore' })
  const exited = once(writer, 'exit')
  const src = await openInput(fifo, new PassThrough())
  t.equal(src.size, undefined)
  t.equal(src.regular, false)
  let bytes = 0
  for await (const chunk of src.chunks) bytes += chunk.length
  t.equal(bytes, 14)
  await exited
})
