// The splitter never cuts a record (quoted newlines included) and never holds more than a batch;
// dedupe is exact, with and without spills to disk, against a reference Set.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RecordSplitter, type SplitEvent } from '../../pipeline/record-splitter.js'
import { parseRecord } from '../../pipeline/csv-record.js'
import { sortUnique } from '../../pipeline/sort-unique.js'
import { DigestStore } from '../../pipeline/digest-store.js'
import { SpillFiles } from '../../adapters/spill-files.js'
import { formatDigests } from '../../pipeline/digest-format.js'
import { nativeAddon, describeNativeStatus } from '../../pipeline/native-hash.js'

let seed = 12345
const rnd = (): number => { seed = (seed * 48271) % 2147483647; return seed / 2147483647 }

function csv (rows: number): { text: string, records: number } {
  const lines = ['email,note']
  for (let i = 0; i < rows; i++) {
    const r = rnd()
    const note = r < 0.2 ? `"multi\nline, ""quoted"" ${i}"` : r < 0.3 ? `"comma, ${i}"` : `plain${i}`
    lines.push(`user${i}@x.com,${note}`)
  }
  return { text: lines.join(rnd() < 0.5 ? '\n' : '\r\n') + '\n', records: rows + 1 }
}

function countRecords (text: string): number {
  let n = 0
  for (let pos = 0; pos < text.length; n++) pos = parseRecord(text, pos, ',').next
  return n
}

t.test('batches end at record boundaries under any chunking', async t => {
  for (let round = 0; round < 20; round++) {
    const { text, records } = csv(300)
    const input = Buffer.from(text)
    const splitter = new RecordSplitter({ capacity: 512 + Math.floor(rnd() * 2048), quotes: true, delimiter: 44 })
    const events: SplitEvent[] = []
    for (let at = 0; at < input.length;) {
      const size = 1 + Math.floor(rnd() * 700)
      events.push(...splitter.push(input.subarray(at, at + size)))
      at += size
    }
    events.push(...splitter.end())
    const batches = events.filter(e => e.kind === 'batch')
    t.equal(events.length, batches.length, 'no record too long')
    const texts = batches.map(b => Buffer.from(b.buffer, 0, b.byteLength).toString())
    if (texts.join('') !== text) { t.fail('concatenated batches differ from the input'); return }
    const counted = texts.reduce((n, x) => n + countRecords(x), 0)
    if (counted !== records) { t.fail(`records split across batches (${counted} vs ${records})`); return }
    let offset = 0
    for (const b of batches) { if (b.firstByte !== offset) t.fail('firstByte'); offset += b.byteLength }
  }
  t.pass('20 random chunkings')
})

t.test('a record longer than a batch is skipped with bounded memory', async t => {
  const splitter = new RecordSplitter({ capacity: 1024, quotes: false, delimiter: 44 })
  const events: SplitEvent[] = [...splitter.push(Buffer.from('a@x.com\n'))]
  const long = Buffer.alloc(64 * 1024, 0x61)
  for (let i = 0; i < 100; i++) events.push(...splitter.push(long))
  events.push(...splitter.push(Buffer.from('\nb@x.com\n')), ...splitter.end())
  const longs = events.filter(e => e.kind === 'long')
  t.equal(longs.length, 1)
  t.equal(longs[0]!.kind === 'long' && longs[0]!.byteOffset, 8)
  const out = events.filter(e => e.kind === 'batch').map(b => b.kind === 'batch' ? Buffer.from(b.buffer, 0, b.byteLength).toString() : '').join('')
  t.equal(out, 'a@x.com\nb@x.com\n', 'the records around it survive')
})

function reference (buf: Uint8Array, n: number): string[] {
  const s = new Set<string>()
  for (let i = 0; i < n; i++) s.add(Buffer.from(buf.subarray(i * 32, i * 32 + 32)).toString('hex'))
  return [...s].sort()
}

function hexList (buf: Uint8Array, n: number): string[] {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(Buffer.from(buf.subarray(i * 32, i * 32 + 32)).toString('hex'))
  return out
}

t.test('sortUnique equals a Set reference, duplicates and all, native and JavaScript alike', async t => {
  t.ok(nativeAddon === undefined || typeof nativeAddon.sortUnique === 'function', 'a loaded addon exports sortUnique')
  for (const n of [0, 1, 2, 7, 2047, 2048, 3000, 20000, 70000]) {
    for (const keyOffset of [0, 1, 3]) {
      const uniq = Math.max(1, Math.floor(n * 0.7))
      const pool = randomBytes(uniq * 32)
      // Partitions share their first keyOffset bytes; a third of the pool also shares the
      // 4-byte sort key, so runs of equal keys must be ordered by the bytes after it.
      for (let k = 0; k < uniq; k++) {
        pool.fill(0xab, k * 32, k * 32 + keyOffset)
        if (k % 3 === 0) pool.fill(0x5c, k * 32 + keyOffset, k * 32 + keyOffset + 4)
      }
      // One spare byte in front: the records view is not 4-byte aligned.
      const backing = new Uint8Array(n * 32 + 1)
      const buf = backing.subarray(1)
      for (let i = 0; i < n; i++) { const k = Math.floor(rnd() * uniq); buf.set(pool.subarray(k * 32, k * 32 + 32), i * 32) }
      const ref = reference(buf, n)
      const js = sortUnique(buf, n, keyOffset, 'js')
      const auto = sortUnique(buf, n, keyOffset)
      t.same(hexList(js.records, js.count), ref, `js n=${n} keyOffset=${keyOffset}`)
      t.ok(Buffer.from(auto.records).equals(Buffer.from(js.records)), `default engine n=${n} keyOffset=${keyOffset}`)
    }
  }
})

t.test('native sortUnique refuses bad arguments with Node-style codes', async t => {
  if (nativeAddon === undefined) {
    if (process.env.CI !== undefined && process.env.CI !== '') t.fail(`native addon unavailable in CI: ${describeNativeStatus()}`)
    else t.pass(`only the JavaScript sort runs here: ${describeNativeStatus()}`)
    return
  }
  const sort = nativeAddon!.sortUnique as (r: unknown, n: unknown, k: unknown, o: unknown) => number
  const rec = new Uint8Array(64)
  t.throws(() => sort('x', 2, 0, new Uint8Array(64)), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => sort(rec, 3, 0, new Uint8Array(96)), { code: 'ERR_OUT_OF_RANGE' }, 'records too short')
  t.throws(() => sort(rec, 2, 0, new Uint8Array(32)), { code: 'ERR_OUT_OF_RANGE' }, 'out too short')
  t.throws(() => sort(rec, 2, 29, new Uint8Array(64)), { code: 'ERR_OUT_OF_RANGE' }, 'key past the digest')
  t.throws(() => sort(rec, 1.5, 0, new Uint8Array(64)), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => sort(rec, 2, 0, rec.subarray(0)), { code: 'ERR_OUT_OF_RANGE' }, 'overlap')
})

t.test('DigestStore: spilled and in-memory dedupe give the reference set', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-dedupe-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const n = 60000
  const pool = randomBytes(40000 * 32)
  const all = new Uint8Array(n * 32)
  const schemas = new Uint8Array(n)
  for (let i = 0; i < n; i++) { const k = Math.floor(rnd() * 40000); all.set(pool.subarray(k * 32, k * 32 + 32), i * 32); schemas[i] = k % 3 }
  const collect = async (budget: number): Promise<{ runs: string[], spills: number, spillDir: boolean }> => {
    const store = new DigestStore({ memoryBudgetBytes: budget, storage: new SpillFiles(dir) })
    for (let at = 0; at < n; at += 5000) {
      store.add(all.subarray(at * 32, (at + 5000) * 32), schemas.subarray(at, at + 5000), 5000)
      if (store.overBudget) await store.spill()
    }
    const runs: string[] = []
    for await (const r of store.unique()) for (const h of hexList(r.digests, r.count)) runs.push(`${r.schema}:${h}`)
    const spills = store.spills
    const spillDir = readdirSync(dir).length > 0
    await store.close()
    return { runs, spills, spillDir }
  }
  const big = await collect(1 << 30)
  const small = await collect(256 * 1024)
  t.equal(big.spills, 0)
  t.ok(small.spills >= 3, `spilled ${small.spills} times`)
  t.ok(small.spillDir)
  t.same(small.runs, big.runs, 'identical output with spills')
  const ref = new Set<string>()
  for (let i = 0; i < n; i++) ref.add(`${schemas[i]}:${Buffer.from(all.subarray(i * 32, i * 32 + 32)).toString('hex')}`)
  t.same(new Set(big.runs), ref)
  t.equal(big.runs.length, ref.size, 'no duplicate left')
  t.same(readdirSync(dir), [], 'close() removed the spill files')
  t.notOk(existsSync(join(dir, 'x')))
})

t.test('DigestStore: batches added grouped by partition equal batches added digest by digest', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-dedupe-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const n = 30000
  const pool = randomBytes(20000 * 32)
  const all = new Uint8Array(n * 32)
  const schemas = new Uint8Array(n)
  for (let i = 0; i < n; i++) { const k = Math.floor(rnd() * 20000); all.set(pool.subarray(k * 32, k * 32 + 32), i * 32); schemas[i] = k % 4 }
  const plain = new DigestStore({ memoryBudgetBytes: 1 << 30, storage: new SpillFiles(dir) })
  const grouped = new DigestStore({ memoryBudgetBytes: 128 * 1024, storage: new SpillFiles(dir) })
  for (let at = 0; at < n; at += 3000) {
    plain.add(all.subarray(at * 32, (at + 3000) * 32), schemas.subarray(at, at + 3000), 3000)
    // Group this batch as a worker does: stable by (schema, first byte), with partition ends.
    const order = Array.from({ length: 3000 }, (_, i) => at + i).sort((a, b) => (schemas[a]! * 256 + all[a * 32]!) - (schemas[b]! * 256 + all[b * 32]!) || a - b)
    const digests = new Uint8Array(3000 * 32)
    const ends = new Uint32Array(4 * 256)
    order.forEach((i, k) => { digests.set(all.subarray(i * 32, i * 32 + 32), k * 32); ends[schemas[i]! * 256 + all[i * 32]!]!++ })
    for (let p = 1; p < ends.length; p++) ends[p]! += ends[p - 1]!
    grouped.addPartitioned(digests, ends)
    if (grouped.overBudget) await grouped.spill()
  }
  t.equal(grouped.added, plain.added)
  t.ok(grouped.spills > 0, 'the grouped store spilled too')
  const list = async (s: DigestStore): Promise<string[]> => { const out: string[] = []; for await (const r of s.unique()) for (const h of hexList(r.digests, r.count)) out.push(`${r.schema}:${h}`); return out }
  t.same(await list(grouped), await list(plain))
  await plain.close()
  await grouped.close()
})

t.test('DigestStore: unique(format) carries the runs formatted as output rows', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-dedupe-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // 40 digests per partition of 2 schemas: 512 units, far more than the buffers kept for reuse.
  const n = 512 * 40
  const digests = randomBytes(n * 32)
  const schemas = new Uint8Array(n).map((_, i) => i % 2)
  const plain = new DigestStore({ memoryBudgetBytes: 1 << 30, storage: new SpillFiles(dir) })
  plain.add(digests, schemas, n)
  const expected: string[] = []
  for await (const r of plain.unique()) expected.push(formatDigests('ndjson', r.digests, r.count, r.schema, 'js').toString())
  const store = new DigestStore({ memoryBudgetBytes: 1 << 30, storage: new SpillFiles(dir) })
  store.add(digests, schemas, n)
  const got: string[] = []
  const buffers = new Set<ArrayBufferLike>()
  let rows = 0
  for await (const r of store.unique('ndjson')) {
    t.ok(r.rows !== undefined)
    t.equal(r.digests.length, 0, 'no digests beside rows')
    got.push(Buffer.from(r.rows!).toString())
    buffers.add(r.rows!.buffer)
    rows += r.count
  }
  t.equal(rows, n)
  t.same(got, expected, 'the same rows, run by run, as formatting the plain runs')
  t.ok(buffers.size <= 16, `rows came in ${buffers.size} buffers for ${got.length} runs: reused`)
  await plain.close()
  await store.close()
})

t.test('DigestStore: the sorts in flight are bounded by bytes as well as by count', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-dedupe-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // ~100 digests per partition of schema 0 (3,200 bytes); a 10,000-byte cap admits three.
  const n = 25600
  const digests = randomBytes(n * 32)
  const run = async (inFlightBytes: number | undefined): Promise<{ peakJobs: number, peakBytes: number, unique: number }> => {
    let jobs = 0
    let bytes = 0
    let peakJobs = 0
    let peakBytes = 0
    const store = new DigestStore({
      memoryBudgetBytes: 1 << 30,
      storage: new SpillFiles(dir),
      parallelSorts: 8,
      ...(inFlightBytes !== undefined ? { inFlightBytes } : {}),
      sorter: async (records, count, keyOffset) => {
        jobs++
        bytes += count * 32
        peakJobs = Math.max(peakJobs, jobs)
        peakBytes = Math.max(peakBytes, bytes)
        await new Promise(resolve => setTimeout(resolve, 1))
        jobs--
        bytes -= count * 32
        return sortUnique(records, count, keyOffset)
      }
    })
    store.add(digests, new Uint8Array(n), n)
    let unique = 0
    for await (const r of store.unique()) unique += r.count
    await store.close()
    return { peakJobs, peakBytes, unique }
  }
  const capped = await run(10_000)
  const free = await run(undefined)
  t.equal(capped.unique, n)
  t.equal(free.unique, n)
  t.ok(capped.peakBytes <= 10_000 + 32 * 200, `capped: at most the cap plus one partition in flight (${capped.peakBytes} bytes)`)
  t.ok(capped.peakJobs >= 2 && capped.peakJobs <= 3, `capped: ${capped.peakJobs} sorts at once`)
  t.equal(free.peakJobs, 8, 'the default cap lets small partitions use the whole count window')
})

t.test('DigestStore: big partitions finalize in slices, still exact and ascending', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-dedupe-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // Two partitions (first byte 0x42 and 0x43 of schema 1) of ~30,000 digests, 20% repeats,
  // spilled several times; slices of 64 KiB make each partition ~15 slices.
  const n = 60000
  const pool = randomBytes(48000 * 32)
  for (let k = 0; k < 48000; k++) pool[k * 32] = 0x42 + (k % 2)
  const all = new Uint8Array(n * 32)
  for (let i = 0; i < n; i++) { const k = Math.floor(rnd() * 48000); all.set(pool.subarray(k * 32, k * 32 + 32), i * 32) }
  const collect = async (options: { memoryBudgetBytes: number, sliceBytes?: number }): Promise<{ rows: string[], spills: number, runs: number }> => {
    const store = new DigestStore({ ...options, storage: new SpillFiles(dir) })
    for (let at = 0; at < n; at += 4000) {
      store.add(all.subarray(at * 32, (at + 4000) * 32), new Uint8Array(4000).fill(1), 4000)
      if (store.overBudget) await store.spill()
    }
    const rows: string[] = []
    let runs = 0
    for await (const r of store.unique()) { runs++; for (const h of hexList(r.digests, r.count)) rows.push(`${r.schema}:${h}`) }
    const spills = store.spills
    await store.close()
    return { rows, spills, runs }
  }
  const sliced = await collect({ memoryBudgetBytes: 400 * 1024, sliceBytes: 64 * 1024 })
  const whole = await collect({ memoryBudgetBytes: 1 << 30 })
  t.ok(sliced.spills >= 3, `spilled ${sliced.spills} times`)
  t.ok(sliced.runs >= 20, `finalized in ${sliced.runs} slices`)
  t.equal(whole.runs, 2, 'without spills each partition is one run')
  t.same(sliced.rows, whole.rows, 'same digests, same order')
  t.same(whole.rows, [...whole.rows].sort(), 'ascending')
  t.equal(new Set(whole.rows).size, whole.rows.length, 'distinct')
  t.equal(whole.rows.length, new Set(hexList(all, n)).size, 'every distinct input digest')
})

t.test('DigestStore: a failing sort fails unique() and spill(), with nothing left unhandled', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-dedupe-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const digests = randomBytes(20000 * 32)
  const failing = (after: number, error: Error): DigestStore => {
    let calls = 0
    const store = new DigestStore({
      memoryBudgetBytes: 1 << 30,
      storage: new SpillFiles(dir),
      sorter: async (records, count, keyOffset) => {
        if (++calls > after) throw error
        await new Promise(resolve => setImmediate(resolve))
        return sortUnique(records, count, keyOffset)
      }
    })
    // Four schemas: a spill sorts a schema's partitions together, so it makes four sorts here.
    store.add(digests, new Uint8Array(20000).map((_, i) => i % 4), 20000)
    return store
  }
  const crash = Object.assign(new Error('worker died'), { code: 'HP_ERR_WORKER_CRASHED' })
  const a = failing(5, crash)
  await t.rejects((async () => { for await (const _ of a.unique()) { /* drain */ } })(), crash, 'unique() rethrows the sorter error')
  await a.close()
  const b = failing(2, new Error('disk on fire'))
  await t.rejects(b.spill(), { code: 'HP_ERR_SPILL_IO', message: /cannot write dedupe spill file .*spill-0\.bin: disk on fire; free disk space there or point --tmp-dir at a larger disk/ })
  await b.close()
  const c = failing(2, crash)
  await t.rejects(c.spill(), crash, 'a crashed worker is not reported as a disk problem')
  await c.close()
  t.same(readdirSync(dir), [], 'close() removed every spill directory')
})

t.test('DigestStore: a spill file truncated behind its back fails the final pass with HP_ERR_SPILL_IO', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-dedupe-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // Also reading ahead: the fill that meets the cut end must not pass for the end of the run.
  for (const [sliceBytes, readAheadBytes] of [[undefined, 0], [4096, 0], [4096, 1 << 20]] as const) {
    const store = new DigestStore({ memoryBudgetBytes: 1 << 30, storage: new SpillFiles(dir, { readAheadBytes }), ...(sliceBytes !== undefined ? { sliceBytes } : {}) })
    store.add(randomBytes(20000 * 32), new Uint8Array(20000), 20000)
    await store.spill()
    // Sealed spill files are unlinked (adapters/spill-files.ts): reach this one through its descriptor.
    const spillPath = join(dir, readdirSync(dir)[0]!, 'spill-0.bin')
    const fd = readdirSync('/proc/self/fd').find(n => { try { return readlinkSync(`/proc/self/fd/${n}`) === `${spillPath} (deleted)` } catch { return false } })
    t.ok(fd, 'the sealed spill file is open and unlinked')
    truncateSync(`/proc/self/fd/${fd!}`, 1000 * 32)
    await t.rejects((async () => { for await (const _ of store.unique()) { /* drain */ } })(),
      { code: 'HP_ERR_SPILL_IO', message: /spill-0\.bin is shorter than written; was it truncated\? rerun the job/ }, `sliceBytes ${sliceBytes ?? 'default'}, read-ahead ${readAheadBytes}`)
    await store.close()
  }
})
