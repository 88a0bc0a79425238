// DigestStore keeps the batches it is given (grouped by partition, as the workers send them)
// instead of copying them: a spill takes the whole in-memory generation and batches added while
// it runs start the next one. The result stays the exact distinct set, and the memory it counts
// is the bytes it holds.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DigestStore, type Sorter } from '../../pipeline/digest-store.js'
import { SpillFiles } from '../../adapters/spill-files.js'
import { sortUnique } from '../../pipeline/sort-unique.js'
import { groupByPartition, partitionDigestsJs } from '../../pipeline/partition.js'

const dir = mkdtempSync(join(tmpdir(), 'hp-storegen-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

/** A batch grouped as a worker groups it: its digests by (schema, first byte), and the ends. */
function grouped (digests: Uint8Array, schemas: Uint8Array, count: number): { digests: Uint8Array, ends: Uint32Array } {
  const g = groupByPartition(Buffer.from(digests), schemas, count, undefined, partitionDigestsJs)
  return { digests: g.grouped.subarray(0, g.count * 32), ends: g.ends }
}

/** Every digest unique() gives, as `schema:hex`, and whether they came in ascending order. */
async function uniqueKeys (store: DigestStore): Promise<{ keys: string[], ascending: boolean }> {
  const keys: string[] = []
  let ascending = true
  let last = ''
  for await (const run of store.unique()) {
    for (let i = 0; i < run.count; i++) {
      const key = `${run.schema}:${Buffer.from(run.digests.subarray(i * 32, i * 32 + 32)).toString('hex')}`
      if (key <= last) ascending = false
      last = key
      keys.push(key)
    }
  }
  return { keys, ascending }
}

// A sorter slow enough that batches arrive while a spill is still sorting.
const slowSorter: Sorter = async (records, n, keyOffset) => {
  await sleep(1)
  const sorted = sortUnique(records, n, keyOffset)
  records.set(sorted.records)
  return { records: records.subarray(0, sorted.count * 32), count: sorted.count }
}

t.test('batches added while a spill runs go to the next generation; the result is the exact distinct set', async t => {
  const pool = randomBytes(5000 * 32)
  const reference = new Set<string>()
  const store = new DigestStore({ memoryBudgetBytes: 200 * 1024, storage: new SpillFiles(dir), sorter: slowSorter })
  let spilling: Promise<void> | undefined
  let duringSpill = 0
  let seed = 7
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  for (let b = 0; b < 40; b++) {
    const n = 1500
    const digests = new Uint8Array(n * 32)
    const schemas = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      const k = Math.floor(rnd() * 5000)
      digests.set(pool.subarray(k * 32, k * 32 + 32), i * 32)
      schemas[i] = k % 2
      reference.add(`${k % 2}:${pool.subarray(k * 32, k * 32 + 32).toString('hex')}`)
    }
    const g = grouped(digests, schemas, n)
    const before = store.memoryBytes
    if (spilling !== undefined) duringSpill++
    store.addPartitioned(g.digests, g.ends)
    t.equal(store.memoryBytes - before, g.digests.buffer.byteLength + g.ends.byteLength, 'counts the buffers it holds')
    if (store.overBudget) {
      // As the hash job does: one spill at a time.
      if (spilling !== undefined) await spilling
      const held = store.memoryBytes
      spilling = store.spill().finally(() => { spilling = undefined })
      t.equal(store.memoryBytes, held, 'a generation being spilled stays counted until its spill ends')
    }
    // Let the spill's sorts interleave with the next batches.
    await sleep(0)
  }
  await spilling
  t.ok(store.spills >= 2, `spilled ${store.spills} times`)
  t.ok(duringSpill > 0, `${duringSpill} batches came while a spill ran`)
  t.equal(store.added, 40 * 1500)
  const out: string[] = []
  for await (const r of store.unique()) {
    for (let i = 0; i < r.count; i++) out.push(`${r.schema}:${Buffer.from(r.digests.subarray(i * 32, i * 32 + 32)).toString('hex')}`)
  }
  t.equal(out.length, reference.size, 'no duplicate left, none lost')
  t.same(new Set(out), reference)
  const sorted = [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  t.same(out, sorted, 'ascending by schema, then digest')
  await store.close()
  t.same(readdirSync(dir), [], 'close() removed the spill files')
})

t.test('add() copies: the caller may reuse its buffer at once', async t => {
  const digests = randomBytes(300 * 32)
  const schemas = new Uint8Array(300)
  const store = new DigestStore({ memoryBudgetBytes: 1 << 30, storage: new SpillFiles(dir) })
  const expected = new Set<string>()
  for (let i = 0; i < 300; i++) expected.add(digests.subarray(i * 32, i * 32 + 32).toString('hex'))
  store.add(digests, schemas, 300)
  digests.fill(0)
  const out = new Set<string>()
  for await (const r of store.unique()) for (let i = 0; i < r.count; i++) out.add(Buffer.from(r.digests.subarray(i * 32, i * 32 + 32)).toString('hex'))
  t.same(out, expected)
  await store.close()
})

t.test('generationBytes: a full generation asks for a spill under the budget, and its batch buffers come back as spares', async t => {
  const pool = randomBytes(4000 * 32)
  const reference = new Set<string>()
  const store = new DigestStore({ memoryBudgetBytes: 1 << 30, generationBytes: 100 * 1024, storage: new SpillFiles(dir) })
  t.equal(store.takeSpare(), undefined, 'no spare before a spill')
  let spilling: Promise<void> | undefined
  let spares = 0
  let reused = 0
  let seed = 11
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  for (let b = 0; b < 16; b++) {
    const n = 1200
    const digests = new Uint8Array(n * 32)
    const schemas = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      const k = Math.floor(rnd() * 4000)
      digests.set(pool.subarray(k * 32, k * 32 + 32), i * 32)
      schemas[i] = k % 3
      reference.add(`${k % 3}:${pool.subarray(k * 32, k * 32 + 32).toString('hex')}`)
    }
    // As a worker does with BatchTask.spare: group into the spare when it fits.
    const spare = store.takeSpare()
    if (spare !== undefined) spares++
    const g = groupByPartition(Buffer.from(digests), schemas, n, spare, partitionDigestsJs)
    if (spare !== undefined && g.grouped.buffer === spare) reused++
    store.addPartitioned(g.grouped.subarray(0, g.count * 32), g.ends)
    t.ok(store.memoryBytes < 1 << 30)
    if (store.overBudget) {
      if (spilling !== undefined) await spilling
      if (store.overBudget) spilling = store.spill().finally(() => { spilling = undefined })
    }
    await sleep(0)
  }
  await spilling
  t.ok(store.spills >= 3, `the 100 KiB generation spilled ${store.spills} times under a 1 GiB budget`)
  t.ok(spares > 0 && reused === spares, `${spares} spares handed out, all reused`)
  const out: string[] = []
  for await (const r of store.unique()) {
    for (let i = 0; i < r.count; i++) out.push(`${r.schema}:${Buffer.from(r.digests.subarray(i * 32, i * 32 + 32)).toString('hex')}`)
  }
  t.equal(out.length, reference.size, 'exact distinct set: a reused buffer leaked nothing of its earlier batch')
  t.same(new Set(out), reference)
  await store.close()
})

t.test('spills that sort several partitions at once (generations of MiBs, four schemas) keep the exact distinct set, whole and in slices, with and without read-ahead', async t => {
  // ~4.6 MB of digests a generation: each schema's share spans more than one 2 MiB spill unit.
  const pool = randomBytes(150_000 * 32)
  for (const [sliceBytes, readAheadBytes] of [[undefined, 0], [16 * 1024, 0], [16 * 1024, 1 << 20], [undefined, 8 << 20]] as const) {
    const reference = new Set<string>()
    const store = new DigestStore({ memoryBudgetBytes: 1 << 30, generationBytes: 4 << 20, storage: new SpillFiles(dir, { readAheadBytes }), ...(sliceBytes !== undefined ? { sliceBytes } : {}) })
    let seed = 5
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
    for (let b = 0; b < 12; b++) {
      const n = 40_000
      const digests = new Uint8Array(n * 32)
      const schemas = new Uint8Array(n)
      for (let i = 0; i < n; i++) {
        const k = Math.floor(rnd() * 150_000)
        digests.set(pool.subarray(k * 32, k * 32 + 32), i * 32)
        schemas[i] = k % 4
        reference.add(`${k % 4}:${pool.subarray(k * 32, k * 32 + 32).toString('hex')}`)
      }
      const g = grouped(digests, schemas, n)
      store.addPartitioned(g.digests, g.ends)
      if (store.overBudget) await store.spill()
    }
    t.ok(store.spills >= 3, `${store.spills} spills`)
    const { keys: got, ascending } = await uniqueKeys(store)
    await store.close()
    t.ok(ascending, 'ascending by schema, then digest')
    t.equal(got.length, reference.size, `sliceBytes ${sliceBytes ?? 'default'}, read-ahead ${readAheadBytes}: every distinct digest once`)
    t.same(new Set(got), reference)
  }
})

t.test('a final pass in slices reuses its buffers: the memory part of each partition goes back to the spares', async t => {
  // One schema, ~390 digests in each of its 256 partitions, slices of 2 KiB: every partition is
  // finalized in 6 or more slices, and part of it is still in memory (the last generation is not spilled).
  const n = 100_000
  const digests = randomBytes(n * 32)
  const schemas = new Uint8Array(n)
  const store = new DigestStore({ memoryBudgetBytes: 1 << 30, generationBytes: 1 << 20, sliceBytes: 2048, storage: new SpillFiles(dir) })
  for (let at = 0; at < n; at += 5000) {
    store.add(digests.subarray(at * 32, (at + 5000) * 32), schemas, 5000)
    if (store.overBudget) await store.spill()
  }
  t.ok(store.spills >= 2, `spilled ${store.spills} times`)
  t.ok(store.memoryBytes > 0, 'part of the input is still in memory')
  const before = store.bufferBytesAllocated
  let runs = 0
  let count = 0
  for await (const r of store.unique('csv')) { runs++; count += r.count }
  const allocated = store.bufferBytesAllocated - before
  t.equal(count, new Set(Array.from({ length: n }, (_, i) => digests.subarray(i * 32, i * 32 + 32).toString('hex'))).size, 'every distinct digest')
  t.ok(runs >= 3 * 256, `finalized in ${runs} slices`)
  // Dropped instead, each of the 256 partitions cost one buffer: ~256 × 64 KiB at least.
  t.ok(allocated < 64 * 64 * 1024, `the final pass allocated ${allocated} bytes of buffers`)
  await store.close()
})

t.test('spills holding only some schemas, and a partition past 65,535 digests in one spill, keep the exact distinct set', async t => {
  // Each generation is one batch: one schema alone (not the first), two apart, all four, and one
  // partition of 70,000 digests (its spill's index needs 32-bit counts). Repeats across spills.
  const pool = randomBytes(90_000 * 32)
  for (let k = 0; k < 80_000; k++) pool[k * 32] = 7
  const plans: Array<{ schemas: number[], from: number, n: number }> = [
    { schemas: [1], from: 0, n: 20_000 },
    { schemas: [0, 2], from: 10_000, n: 20_000 },
    { schemas: [3], from: 0, n: 75_000 },
    { schemas: [0, 1, 2, 3], from: 5_000, n: 30_000 },
    { schemas: [3], from: 60_000, n: 30_000 }
  ]
  for (const sliceBytes of [undefined, 16 * 1024]) {
    const reference = new Set<string>()
    const store = new DigestStore({ memoryBudgetBytes: 1 << 30, generationBytes: 64 << 10, storage: new SpillFiles(dir), ...(sliceBytes !== undefined ? { sliceBytes } : {}) })
    for (const plan of plans) {
      const digests = new Uint8Array(plan.n * 32)
      const schemas = new Uint8Array(plan.n)
      for (let i = 0; i < plan.n; i++) {
        const k = plan.from + i
        digests.set(pool.subarray(k * 32, k * 32 + 32), i * 32)
        schemas[i] = plan.schemas[i % plan.schemas.length]!
        reference.add(`${schemas[i]!}:${pool.subarray(k * 32, k * 32 + 32).toString('hex')}`)
      }
      const g = grouped(digests, schemas, plan.n)
      store.addPartitioned(g.digests, g.ends)
      t.ok(store.overBudget)
      await store.spill()
    }
    t.equal(store.spills, plans.length)
    const { keys: got, ascending } = await uniqueKeys(store)
    await store.close()
    t.ok(ascending, 'ascending by schema, then digest')
    t.equal(got.length, reference.size, `sliceBytes ${sliceBytes ?? 'default'}: every distinct digest once`)
    t.same(new Set(got), reference)
  }
})

t.test('batch buffers a spill does not keep, and the spares left when the final pass starts, are freed at once (native core), not left to a GC', async t => {
  const { nativeAddon } = await import('../../pipeline/native-hash.js')
  const native = nativeAddon !== undefined
  const generationBytes = 100 * 1024
  const store = new DigestStore({ memoryBudgetBytes: 1 << 30, generationBytes, storage: new SpillFiles(dir) })
  const reference = new Set<string>()
  // Batches grouped into fresh buffers (no spare taken): the first spill keeps one generation's
  // worth as spares and lets the rest go; with the spares full, the second lets every one go.
  const generation = async (): Promise<{ buffers: ArrayBuffer[], sizes: number[] }> => {
    const buffers: ArrayBuffer[] = []
    while (!store.overBudget) {
      const n = 1000
      const digests = randomBytes(n * 32)
      const schemas = new Uint8Array(n).map((_, i) => i % 3)
      for (let i = 0; i < n; i++) reference.add(`${i % 3}:${digests.subarray(i * 32, i * 32 + 32).toString('hex')}`)
      const g = grouped(digests, schemas, n)
      buffers.push(g.digests.buffer as ArrayBuffer)
      store.addPartitioned(g.digests, g.ends)
    }
    const sizes = buffers.map(b => b.byteLength)
    await store.spill()
    return { buffers, sizes }
  }
  const freed = (buffers: ArrayBuffer[]): number => buffers.filter(b => b.byteLength === 0).length
  const first = await generation()
  let kept = 0
  for (let i = 0, bytes = 0; i < first.sizes.length && bytes + first.sizes[i]! <= generationBytes; i++, kept++) bytes += first.sizes[i]!
  t.ok(kept > 0 && kept < first.buffers.length, `the first generation is more than one generation's worth (${first.buffers.length} buffers, ${kept} fit)`)
  t.equal(freed(first.buffers), native ? first.buffers.length - kept : 0, `native core ${native}: what does not fit is freed`)
  const second = await generation()
  t.equal(freed(second.buffers), native ? second.buffers.length : 0, 'the spares are full: all of the second generation is freed')
  const { keys } = await uniqueKeys(store)
  t.equal(freed(first.buffers), native ? first.buffers.length : 0, 'the spares go when the final pass starts')
  t.equal(keys.length, reference.size, 'the exact distinct set')
  t.same(new Set(keys), reference)
  await store.close()
})

t.test('groupByPartition groups into a spare that fits, and frees one too small (native core) instead of dropping it', async t => {
  const { nativeAddon } = await import('../../pipeline/native-hash.js')
  const n = 100
  const digests = randomBytes(n * 32)
  const schemas = new Uint8Array(n)
  const big = new ArrayBuffer(n * 32 + 4096)
  const fits = groupByPartition(Buffer.from(digests), schemas, n, big, partitionDigestsJs)
  t.equal(fits.grouped.buffer, big, 'a spare that fits holds the batch')
  const small = new ArrayBuffer(n * 32 - 32)
  const fresh = groupByPartition(Buffer.from(digests), schemas, n, small, partitionDigestsJs)
  t.not(fresh.grouped.buffer, small, 'one too small does not')
  t.equal(small.byteLength, nativeAddon !== undefined ? 0 : n * 32 - 32, `and is freed at once (native core: ${nativeAddon !== undefined})`)
  t.same(Buffer.from(fresh.grouped.subarray(0, fresh.count * 32)), Buffer.from(fits.grouped.subarray(0, fits.count * 32)), 'both group the same digests')
})
