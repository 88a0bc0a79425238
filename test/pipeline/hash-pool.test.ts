// The pool must not keep results alive: a run of a billion identifiers passes tens of thousands
// of batches through it, and memory has to stay flat. (It once raced every task against one
// long-lived pending promise, whose reactions held every result: ~2 MiB per batch, forever.)
import t from 'tap'
import { createHash } from 'node:crypto'
import { HashPool } from '../../pipeline/hash-pool.js'
import type { BatchTask, ColumnPlan, WorkerOptions } from '../../pipeline/protocol.js'

const plan: ColumnPlan = { format: 'lines', fields: [{ index: 0, key: '', name: 'email', type: 'email' }] }
const options: WorkerOptions = { defaultCountry: 'US', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: false, maxRecordBytes: 1024, includeValues: false }
const text = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `user${i}@example.com`).join('\n'))

t.test('memory held by the main thread stays flat over many batches', async t => {
  const pool = new HashPool({ threads: 2, workerOptions: options })
  t.teardown(async () => { await pool.destroy() })
  let free: ArrayBuffer | undefined
  const run = async (seq: number): Promise<void> => {
    const buffer = free ?? new ArrayBuffer(text.length)
    new Uint8Array(buffer).set(text)
    const task: BatchTask = { seq, input: 0, buffer, byteLength: text.length, firstByte: 0, plan, partition: true }
    const r = await pool.run(task)
    t.equal(r.count, 20_000)
    free = r.buffer
  }
  for (let i = 0; i < 20; i++) await run(i)
  const before = process.memoryUsage().external
  // Each result holds ~650 KB of digests: 300 retained results would be ~190 MB.
  for (let i = 20; i < 320; i++) await run(i)
  const grown = process.memoryUsage().external - before
  t.ok(grown < 64 * 1024 * 1024, `external memory grew by ${Math.round(grown / 1048576)} MiB over 300 batches`)
})

function batch (text: string, seq = 0): BatchTask {
  const bytes = Buffer.from(text)
  const buffer = new ArrayBuffer(bytes.length)
  new Uint8Array(buffer).set(bytes)
  return { seq, input: 0, buffer, byteLength: bytes.length, firstByte: 0, plan }
}

t.test('worker options are the pool\'s, given once: a task carries none', async t => {
  // @ts-expect-error BatchTask has no options field: a task cannot carry them.
  const withOptions: BatchTask = { ...batch('a@b.co'), options }
  t.ok(withOptions, 'the line above compiles only because options are not part of a task')

  const echo = new HashPool({ threads: 1, workerOptions: { ...options, stripPlusTag: true }, filename: new URL('../fixtures/echo-worker.js', import.meta.url).href })
  t.teardown(async () => { await echo.destroy() })
  const seen = await echo.run(batch('a@b.co')) as unknown as { keys: string[], workerData: unknown }
  t.notOk(seen.keys.includes('options'), 'the task that reached the worker has no options')
  t.same(seen.workerData, { ...options, stripPlusTag: true }, 'the worker got the pool\'s options as workerData')

  const text = 'Jane+promo@Example.com\n'
  const sha = (v: string): string => createHash('sha256').update(v).digest('hex')
  for (const [stripPlusTag, expected] of [[false, 'jane+promo@example.com'], [true, 'jane@example.com']] as const) {
    const pool = new HashPool({ threads: 1, workerOptions: { ...options, stripPlusTag } })
    t.teardown(async () => { await pool.destroy() })
    for (let seq = 0; seq < 2; seq++) {
      const r = await pool.run(batch(text, seq))
      t.equal(Buffer.from(r.digests, 0, 32).toString('hex'), sha(expected), `stripPlusTag ${stripPlusTag}, batch ${seq}: hashed by the pool's options`)
    }
  }
})
