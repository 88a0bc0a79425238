// The pool must not keep results alive: a run of a billion identifiers passes tens of thousands
// of batches through it, and memory has to stay flat. (It once raced every task against one
// long-lived pending promise, whose reactions held every result: ~2 MiB per batch, forever.)
import t from 'tap'
import { HashPool } from '../../pipeline/hash-pool.js'
import type { BatchTask, ColumnPlan, WorkerOptions } from '../../pipeline/protocol.js'

const plan: ColumnPlan = { format: 'lines', fields: [{ index: 0, key: '', name: 'email', type: 'email' }] }
const options: WorkerOptions = { defaultCountry: 'US', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: false, maxRecordBytes: 1024, includeValues: false }
const text = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `user${i}@example.com`).join('\n'))

t.test('memory held by the main thread stays flat over many batches', async t => {
  const pool = new HashPool({ threads: 2 })
  t.teardown(async () => { await pool.destroy() })
  let free: ArrayBuffer | undefined
  const run = async (seq: number): Promise<void> => {
    const buffer = free ?? new ArrayBuffer(text.length)
    new Uint8Array(buffer).set(text)
    const task: BatchTask = { seq, input: 0, buffer, byteLength: text.length, firstByte: 0, plan, options, partition: true }
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
