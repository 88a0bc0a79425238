// DigestStore's sort window: sorts run in parallel within both bounds (count and digest bytes),
// results come out in partition order, and a consumer that stops reading unique() early gets
// its sorts settled before unique() returns, with nothing left unhandled.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DigestStore, type Sorter } from '../../pipeline/digest-store.js'
import { SpillFiles } from '../../adapters/spill-files.js'
import { sortUnique } from '../../pipeline/sort-unique.js'

const dir = mkdtempSync(join(tmpdir(), 'hp-sortwin-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const unhandled: unknown[] = []
process.on('unhandledRejection', error => { unhandled.push(error) })

function tracking (): { sorter: Sorter, peak: { count: number, bytes: number }, running: () => number } {
  let count = 0
  let bytes = 0
  const peak = { count: 0, bytes: 0 }
  const sorter: Sorter = async (records, n, keyOffset) => {
    count++
    bytes += n * 32
    peak.count = Math.max(peak.count, count)
    if (count > 1) peak.bytes = Math.max(peak.bytes, bytes)
    await sleep(1)
    const sorted = sortUnique(records, n, keyOffset)
    count--
    bytes -= n * 32
    return sorted
  }
  return { sorter, peak, running: () => count }
}

t.test('sorts stay within the count and byte bounds; runs come out in order', async t => {
  for (const [parallelSorts, inFlightBytes] of [[3, 1 << 30], [8, 256 * 32 * 3]] as const) {
    const { sorter, peak } = tracking()
    const store = new DigestStore({ memoryBudgetBytes: 1 << 30, storage: new SpillFiles(dir), sorter, parallelSorts, inFlightBytes })
    // One schema: 256 partitions of about 256 digests (8 KiB) each.
    const n = 64 * 1024
    store.add(randomBytes(n * 32), new Uint8Array(n), n)
    let last = ''
    let total = 0
    let ascending = true
    for await (const run of store.unique()) {
      const first = Buffer.from(run.digests.subarray(0, 32)).toString('hex')
      ascending &&= first > last
      last = Buffer.from(run.digests.subarray((run.count - 1) * 32, run.count * 32)).toString('hex')
      total += run.count
    }
    await store.close()
    t.ok(ascending, 'runs in ascending order')
    t.equal(total, n)
    t.ok(peak.count <= parallelSorts, `parallel ${parallelSorts}: peak ${peak.count} sorts`)
    t.ok(peak.bytes <= inFlightBytes, `peak ${peak.bytes} bytes in sorts at once (bound ${inFlightBytes})`)
    t.ok(peak.count > 1, 'sorts did run in parallel')
  }
})

t.test('a consumer that stops early: unique() returns once its sorts have settled', { timeout: 20_000 }, async t => {
  const { sorter, running } = tracking()
  const store = new DigestStore({ memoryBudgetBytes: 1 << 30, storage: new SpillFiles(dir), sorter, parallelSorts: 4 })
  const n = 20_000
  store.add(randomBytes(n * 32), new Uint8Array(n), n)
  let runs = 0
  for await (const _ of store.unique()) {
    if (++runs === 3) break
  }
  t.equal(running(), 0, 'no sort still running')
  await store.close()
  await sleep(10)
  t.same(unhandled, [])
})
