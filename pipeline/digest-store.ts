// Exact dedupe in bounded memory. Digests are bucketed by (id schema, first digest byte): 4 × 256
// partitions. Batches are held in memory as the workers grouped them (one buffer per batch, not
// copied on the main thread) until the generation (generationBytes, at most the budget) is full;
// then every partition is gathered, sorted, deduplicated and appended to a spill file as one
// sorted run, and the generation's batch buffers are handed out again (takeSpare).
// At the end each partition (its memory part plus its run from every spill) is loaded alone,
// sorted and deduplicated again, and emitted in ascending digest order; a partition past
// sliceBytes is loaded and sorted in slices by its second byte (spilled runs index where each
// slice starts), so the final pass holds a few MB per sort whatever the input size.
//
// Nothing approximate takes part: a digest is dropped only when all 32 bytes equal another's.
// Peak memory is the budget plus what arrives while a spill runs (a spilled generation is
// released as a whole when its spill ends), plus the sorts in flight (bounded by count and by
// inFlightBytes), plus the buffers kept for reuse (at most 2 × inFlightBytes, and batch spares
// of at most one generation, which later batches fill instead of fresh memory, let go when the
// final pass starts).
import { DIGEST_BYTES, ID_SCHEMAS, type RowFormat, type SortRows } from './protocol.js'
import { sortUnique } from './sort-unique.js'
import { formatDigests, maxRowBytes } from './digest-format.js'
import { HashpipeError } from './errors.js'
import { OrderedWindow } from './ordered-window.js'
import { nativePartitionDigests, partitionDigestsJs } from './partition.js'
import type { SpillFile, SpillStorage } from './spill-storage.js'
import { releaseBuffer } from './release-buffer.js'

const kPrefixes = 256
const kPartitions = ID_SCHEMAS.length * kPrefixes
const kWords = DIGEST_BYTES / 4

// A spilled run also records where each slice of it starts: records are sorted, so the ones whose
// second byte falls in slice b (of kSlices, by its top bits) are contiguous. The final pass can
// then read a big partition slice by slice instead of whole.
// 16 slices keep a unit near sliceBytes up to ~64 GB of digests; the index is per spill and a
// billion-identifier input makes a few hundred spills, so it stays small: it covers only the id
// schemas the spill holds, in 16-bit counts when its partitions allow (a 128 MiB generation's
// are ~5,000 digests each): 30 KiB a spill for three schemas instead of 72. At a billion
// identifiers' 230 spills the index had been 16.5 MB of the main thread's heap, which grew
// 4 → 21 MiB over the run (now 3 → 11).
const kSlices = 16
const kSliceShift = 4

// Reused buffers come in multiples of this, so units of similar size fit each other's.
const kSpareGrain = 64 << 10

/** Records in memory grouped by slice: ends[b] = how many are in slices 0..b (empty when not grouped). */
interface SlicedRecords { records: Uint8Array, count: number, ends: Uint32Array }
/**
 * A spill file and its runs of partitions [first, first + offsets.length) (whole schemas; the
 * spill has no record of any other): partition p's run starts at byte offsets[p - first], and
 * ends[(p - first) * kSlices + b] of its records are in slices 0..b. Flat arrays, not an object
 * per run: up to 1,024 runs a spill, and hundreds of spills at a billion identifiers.
 */
interface Spill { file: SpillFile, first: number, offsets: Float64Array, ends: Uint16Array | Uint32Array }

/** A new spill's empty index, sized for the partitions with records in `counts`. */
function newSpill (file: SpillFile, counts: Float64Array): Spill {
  let lo = kPartitions
  let hi = 0
  let most = 0
  for (let p = 0; p < kPartitions; p++) {
    const c = counts[p]!
    if (c === 0) continue
    if (p < lo) lo = p
    hi = p + 1
    if (c > most) most = c
  }
  const first = lo >= hi ? 0 : Math.floor(lo / kPrefixes) * kPrefixes
  const span = lo >= hi ? 0 : Math.ceil(hi / kPrefixes) * kPrefixes - first
  // counts are before dedupe, so no slice end of the run can exceed them.
  const ends = most <= 0xffff ? new Uint16Array(span * kSlices) : new Uint32Array(span * kSlices)
  return { file, first, offsets: new Float64Array(span), ends }
}

/** Where slices [lo, hi) of partition p's run in a spill are (none when the spill has no record of p's schema). */
function spillSlice (sp: Spill, p: number, lo: number, hi: number): { offset: number, count: number } {
  const i = p - sp.first
  if (i < 0 || i >= sp.offsets.length) return { offset: 0, count: 0 }
  return runSlice(sp.offsets[i]!, sp.ends, i * kSlices, lo, hi)
}
/** Batches held in memory, grouped by partition, and the records per partition not yet taken. */
interface Generation { batches: Array<{ digests: Uint8Array, ends: Uint32Array }>, counts: Float64Array }

function newGeneration (): Generation {
  return { batches: [], counts: new Float64Array(kPartitions) }
}

/**
 * One sort job: partitions [p, end) of one schema (a spill sorts several at once), or the slices
 * [lo, hi) of partition p; `load` gives its records (from spills: once read).
 */
interface Unit { p: number, end: number, bytes: number, load: () => Records | Promise<Records> }
interface Records { records: Uint8Array, count: number }
/** A unit sorted and deduplicated (and formatted, with `rows`). */
interface Sorted { p: number, end: number, records: Uint8Array, count: number, rows?: Uint8Array }

// A spill sorts consecutive partitions of a schema together, up to about this many bytes: one
// sort task per partition made ~10,000 pool tasks on the 1 GiB bench, ~1 s of the main thread's
// time in posting them alone. Records of one schema sorted whole are the partitions' sorted runs
// one after another, since the partition is the first digest byte.
const kSpillUnitBytes = 2 << 20

/**
 * Sorts and dedupes one partition; may run elsewhere (the worker pool) and in parallel. With
 * `rows`, it also formats the result as output rows (into rows.into when that is big enough),
 * so that work leaves the main thread too; the returned records' content is then unspecified.
 * The buffers it returns belong to the store, which reuses them for later units: the pool hands
 * back the very buffers it was given.
 */
export type Sorter = (records: Uint8Array, count: number, keyOffset: number, rows?: SortRows) =>
Promise<{ records: Uint8Array, count: number, rows?: Uint8Array }>

/** Sorts on this thread; like the pool, hands back the records' own buffer (sorted in place). */
export const localSorter: Sorter = async (records, count, keyOffset, rows) => {
  const sorted = sortUnique(records, count, keyOffset)
  if (rows !== undefined) return { records, count: sorted.count, rows: formatDigests(rows.format, sorted.records, sorted.count, rows.schema, undefined, rows.into) }
  records.set(sorted.records.subarray(0, sorted.count * DIGEST_BYTES))
  return { records: records.subarray(0, sorted.count * DIGEST_BYTES), count: sorted.count }
}

export interface DigestStoreOptions {
  memoryBudgetBytes: number
  /** Where runs go once memory is over budget (adapters/spill-files.ts on disk); close() closes it. */
  storage: SpillStorage
  /** Default: sort on this thread. */
  sorter?: Sorter
  /** Partitions sorted at once (each one is about 1/1024 of the data). Default 4. */
  parallelSorts?: number
  /**
   * Digest bytes of the units being sorted at once; one unit always may. Bytes bound the window
   * as well as count, so big units (a spill of a large budget, or a large sliceBytes) cannot
   * stack up: each one costs its digests ~3.5 times over in flight (input, sorted, rows).
   * Default 24 MiB; units of a 1 GiB input are ~1.7 MB, so there the count window governs.
   */
  inFlightBytes?: number
  /** Digest bytes above which a partition is finalized in slices of about this size. Default 4 MiB. */
  sliceBytes?: number
  /**
   * Bytes of one in-memory generation: past them overBudget asks for a spill even while the
   * budget has room. Default: the budget (one generation). With less, memory is the generation
   * being filled plus the one being spilled, and a spilled generation's batch buffers come back
   * through takeSpare() to hold later batches: the same memory serves the whole input instead
   * of fresh pages for every batch (first-touch faults cost more than the spill's sequential
   * writes; see bench/results/hash-2026-12-02-1GiB-quiet.md).
   */
  generationBytes?: number
}

/**
 * A sorted, distinct run of one schema; `rows` when unique() was asked for formatted rows, and
 * then `digests` is empty (count still says how many rows there are). Its buffers are reused
 * (or freed: zero-length) once the consumer asks for the next run: copy what must outlive that.
 */
export interface UniqueRun { schema: number, digests: Uint8Array, count: number, rows?: Uint8Array }

export class DigestStore {
  readonly #budget: number
  readonly #storage: SpillStorage
  // The in-memory part: batches as the workers grouped them, kept as they came (no copy on this
  // thread). A spill takes the whole generation and starts a new one.
  #gen = newGeneration()
  readonly #spills: Spill[] = []
  #memoryBytes = 0
  #spillingBytes = 0
  #added = 0
  #spilledBytes = 0
  readonly #sorter: Sorter
  readonly #parallel: number
  readonly #inFlightBytes: number
  readonly #sliceBytes: number
  // Buffers back from sorts, reused for later units' records and rows. Without them a 1 GiB
  // input allocates ~5 GB of short-lived ArrayBuffers here, and V8 answers that much external
  // memory with a full GC every few tens of ms (measured: ~270 of them, 0.9 s of pauses plus
  // marking on helper threads), on top of the kernel zeroing every fresh page.
  readonly #spare: ArrayBuffer[] = []
  #spareBytes = 0
  #bufferBytesAllocated = 0
  readonly #generationBytes: number
  // Batch buffers of spilled generations, for the workers to group later batches into.
  readonly #batchSpares: ArrayBuffer[] = []

  constructor (options: DigestStoreOptions) {
    this.#budget = options.memoryBudgetBytes
    this.#storage = options.storage
    this.#sorter = options.sorter ?? localSorter
    this.#parallel = Math.max(1, options.parallelSorts ?? 4)
    this.#inFlightBytes = options.inFlightBytes ?? 24 << 20
    this.#sliceBytes = options.sliceBytes ?? 4 << 20
    this.#generationBytes = Math.min(options.generationBytes ?? this.#budget, this.#budget)
  }

  get added (): number { return this.#added }
  /** Bytes held in memory: the generation being filled, plus one a spill still holds. */
  get memoryBytes (): number { return this.#memoryBytes + this.#spillingBytes }
  get spilledBytes (): number { return this.#spilledBytes }
  get spills (): number { return this.#spills.length }
  /**
   * Bytes of sort buffers (units' records and rows) allocated so far, not reused: with reuse it
   * stays near the in-flight bound whatever the input size (tests read it).
   */
  get bufferBytesAllocated (): number { return this.#bufferBytesAllocated }
  /**
   * True when the generation being filled is full or memory is over budget: the caller should
   * start a spill (after awaiting the one running, if any) before adding more.
   */
  get overBudget (): boolean { return this.#memoryBytes > this.#generationBytes || this.#memoryBytes + this.#spillingBytes > this.#budget }

  /**
   * A batch buffer of a spilled generation, no longer held (BatchTask.spare: the worker groups
   * its digests into it), or undefined. Each is handed out once.
   */
  takeSpare (): ArrayBuffer | undefined { return this.#batchSpares.pop() }

  /** Adds `count` packed digests (copied: the caller may reuse them); digest i has id schema schemas[i]. */
  add (digests: Uint8Array, schemas: Uint8Array, count: number): void {
    const grouped = new Uint8Array(Math.max(count, 1) * DIGEST_BYTES)
    const ends = new Uint32Array(kPartitions)
    ;(nativePartitionDigests ?? partitionDigestsJs)(digests, schemas, count, grouped, ends)
    this.addPartitioned(grouped.subarray(0, count * DIGEST_BYTES), ends)
  }

  /**
   * Adds digests already grouped by partition (BatchResult.partitions): partition p's digests
   * are [ends[p-1], ends[p]). The store keeps `digests` as it is (the caller must not reuse its
   * buffer): this thread copies nothing here, and each partition is gathered once, for its sort.
   */
  addPartitioned (digests: Uint8Array, ends: Uint32Array): void {
    const gen = this.#gen
    const counts = gen.counts
    let start = 0
    for (let p = 0; p < ends.length; p++) {
      const end = ends[p]!
      counts[p]! += end - start
      start = end
    }
    if (start === 0) return
    gen.batches.push({ digests, ends })
    // The whole buffer is held, whatever part of it the digests fill.
    this.#memoryBytes += digests.buffer.byteLength + ends.byteLength
    this.#added += start
  }

  /** Digest bytes partition p will load: its memory part plus its run in every spill. */
  #partitionBytes (p: number): number {
    let records = this.#gen.counts[p]!
    for (const sp of this.#spills) records += spillSlice(sp, p, 0, kSlices).count
    return records * DIGEST_BYTES
  }

  /**
   * Gathers partitions [p, end) of a generation into one buffer of their own: one copy per
   * batch, since a batch holds them side by side.
   */
  #take (gen: Generation, p: number, end = p + 1): { records: Uint8Array, count: number } {
    let count = 0
    for (let q = p; q < end; q++) { count += gen.counts[q]!; gen.counts[q] = 0 }
    const records = new Uint8Array(this.#buffer(count * DIGEST_BYTES), 0, count * DIGEST_BYTES)
    let at = 0
    for (const b of gen.batches) {
      const from = p === 0 ? 0 : b.ends[p - 1]!
      const to = b.ends[end - 1]!
      if (to > from) {
        records.set(b.digests.subarray(from * DIGEST_BYTES, to * DIGEST_BYTES), at)
        at += (to - from) * DIGEST_BYTES
      }
    }
    return { records, count }
  }

  /**
   * Sorts and dedupes units with up to #parallel sorts (and #inFlightBytes of digests) in
   * flight, and hands each result to apply in unit order. A unit's load() starts when it enters
   * the window; a result counts against the window until apply has returned.
   */
  async #sortEach (units: Iterable<Unit>, format: RowFormat | undefined, apply: (sorted: Sorted) => void | Promise<void>): Promise<void> {
    const window = new OrderedWindow<Sorted>({ limit: this.#parallel, maxWeight: this.#inFlightBytes, apply })
    try {
      for (const unit of units) await window.submit(() => this.#sortUnit(unit, format), unit.bytes)
      await window.drain()
    } finally {
      // Nothing in flight may outlive this: the caller closes the spill files they read.
      await window.close()
    }
  }

  async #sortUnit (unit: Unit, format: RowFormat | undefined): Promise<Sorted> {
    const { p, end } = unit
    // load() runs as the unit enters the window (this runs up to its first await then):
    // spilled slices are read on libuv's threads while earlier units sort.
    const { records, count } = await unit.load()
    if (count === 0) return { p, end, records, count }
    const rows = format === undefined ? undefined : { format, schema: Math.floor(p / kPrefixes), into: this.#buffer(count * maxRowBytes(format)) }
    // One partition's records share their first byte; several partitions' do not.
    return { p, end, ...(await this.#sorter(records, count, end - p === 1 ? 1 : 0, rows)) }
  }

  /** A generation's partitions taken from memory, consecutive ones of a schema together (kSpillUnitBytes). */
  * #memoryUnits (gen: Generation): Generator<Unit> {
    for (let p = 0; p < kPartitions;) {
      const schemaEnd = (Math.floor(p / kPrefixes) + 1) * kPrefixes
      const start = p
      let bytes = gen.counts[p++]! * DIGEST_BYTES
      while (p < schemaEnd && bytes + gen.counts[p]! * DIGEST_BYTES <= kSpillUnitBytes) bytes += gen.counts[p++]! * DIGEST_BYTES
      const end = p
      yield { p: start, end, bytes, load: () => this.#take(gen, start, end) }
    }
  }

  /**
   * Writes every partition as a sorted, deduplicated run to a new spill file and frees memory.
   */
  async spill (): Promise<void> {
    // Batches added from here on go to the next generation; this one is released as a whole
    // once its last partition is sorted (each batch holds every partition).
    // Its bytes stay counted until the spill ends: the caller then waits for the spill instead
    // of stacking a new generation on one that is still held.
    const gen = this.#gen
    this.#gen = newGeneration()
    const held = this.#memoryBytes
    this.#memoryBytes = 0
    this.#spillingBytes = held
    try {
      await this.#spillGeneration(gen)
    } finally {
      this.#spillingBytes = 0
    }
    // Every partition was taken: the batch buffers hold nothing the store needs. Kept for
    // later batches up to one generation's worth (more could never be held at once anyway).
    let kept = 0
    for (const b of this.#batchSpares) kept += b.byteLength
    // The rest is freed now: left to V8, the ones dropped over a few spills stacked up
    // (release-buffer.ts).
    for (const b of gen.batches) {
      const buffer = b.digests.buffer
      if (!(buffer instanceof ArrayBuffer) || kept + buffer.byteLength > this.#generationBytes) {
        releaseBuffer(buffer)
        continue
      }
      this.#batchSpares.push(buffer)
      kept += buffer.byteLength
    }
    gen.batches.length = 0
  }

  async #spillGeneration (gen: Generation): Promise<void> {
    const file = await this.#storage.create()
    const spill = newSpill(file, gen.counts)
    try {
      await this.#sortEach(this.#memoryUnits(gen), undefined, async unique => {
        indexRuns(unique, file.bytes, spill)
        await file.write(unique.records.subarray(0, unique.count * DIGEST_BYTES))
        this.#recycle(unique.records.buffer)
      })
      await file.seal()
    } catch (err) {
      await file.abort()
      const code = (err as { code?: string }).code
      if (code === 'HP_ERR_WORKER_CRASHED' || code === 'HP_ERR_DISK_FULL') throw err
      throw new HashpipeError('HP_ERR_SPILL_IO', `cannot write dedupe spill file ${file.name}: ${(err as Error).message}; free disk space there or point --tmp-dir at a larger disk`, undefined, { cause: err })
    }
    this.#spilledBytes += file.bytes
    this.#spills.push(spill)
  }

  /**
   * Partition p's records whose slice is in [lo, hi): from its memory part `mem` (grouped by
   * slice unless the range is all slices) and the matching slice of every spilled run, in one
   * buffer of their own.
   */
  #gather (p: number, mem: SlicedRecords, lo: number, hi: number): Records | Promise<Records> {
    const whole = lo === 0 && hi === kSlices
    const part = whole ? { offset: 0, count: mem.count } : runSlice(0, mem.ends, 0, lo, hi)
    let spilled = 0
    for (const sp of this.#spills) spilled += spillSlice(sp, p, lo, hi).count
    if (spilled === 0 && whole) return mem
    const bytes = (part.count + spilled) * DIGEST_BYTES
    const records = new Uint8Array(this.#buffer(bytes), 0, bytes)
    records.set(mem.records.subarray(part.offset, part.offset + part.count * DIGEST_BYTES))
    // A whole partition's memory part is copied once, here: its buffer can serve the next unit.
    if (whole) this.#recycle(mem.records.buffer)
    let at = part.count * DIGEST_BYTES
    const reads: Array<Promise<void>> = []
    for (const sp of this.#spills) {
      const slice = spillSlice(sp, p, lo, hi)
      const bytes = slice.count * DIGEST_BYTES
      if (bytes > 0) reads.push(readFully(sp, records, at, bytes, slice.offset))
      at += bytes
    }
    return Promise.all(reads).then(() => ({ records, count: part.count + spilled }))
  }

  /**
   * Final units: a partition whole, or, when it has grown past sliceBytes (large inputs
   * that spilled), in slices by its second byte, so the final pass holds a few MB per sort
   * whatever the input size. Slices partition the digest order, so output stays ascending.
   */
  * #finalUnits (): Generator<Unit> {
    const gen = this.#gen
    for (let p = 0; p < kPartitions; p++) {
      const bytes = this.#partitionBytes(p)
      const k = Math.min(kSlices, Math.max(1, Math.ceil(bytes / this.#sliceBytes)))
      let mem: SlicedRecords | undefined
      const memory = (): SlicedRecords => (mem ??= k === 1 ? { ...this.#take(gen, p), ends: new Uint32Array(0) } : this.#groupBySlice(this.#take(gen, p)))
      for (let i = 0; i < k; i++) {
        const lo = Math.floor(i * kSlices / k)
        const hi = Math.floor((i + 1) * kSlices / k)
        const last = i === k - 1
        yield {
          p,
          end: p + 1,
          bytes: Math.ceil(bytes * (hi - lo) / kSlices),
          load: () => {
            const records = this.#gather(p, memory(), lo, hi)
            // A slice's memory part is copied before #gather returns, and slices load in
            // order: after the last one the grouped memory part is free for later units.
            if (last && k > 1) this.#recycle(mem!.records.buffer)
            return records
          }
        }
      }
    }
  }

  /**
   * A partition's memory part regrouped by slice, in a buffer of the store's; the one #take
   * filled goes back to the spares. Both come from them: dropped instead, every partition of a
   * sliced final pass cost one spare (the smallest that fit, often a rows buffer of several MB),
   * and at 8 GiB of input the final pass allocated 6.8 GB of fresh buffers (774 of them) where
   * 27 MB did at 1 GiB.
   */
  #groupBySlice (mem: { records: Uint8Array, count: number }): SlicedRecords {
    const grouped = groupBySlice(mem, this.#buffer(mem.count * DIGEST_BYTES))
    this.#recycle(mem.records.buffer)
    return grouped
  }

  /** Every distinct digest, by schema, then partition, in ascending byte order; formatted too with `format`. */
  async * unique (format?: RowFormat): AsyncGenerator<UniqueRun> {
    // The input phase is over: no batch is grouped into a spare again. Let a generation's worth
    // of them go (up to --memory-budget/2, at most 128 MiB) instead of holding it to the end.
    this.#releaseBatchSpares()
    // The window applies a result by handing it to this generator's consumer, and holds it (so
    // it counts against the bound) until the consumer asks for the next run.
    const handoff = new Handoff<Sorted>()
    const sorting = this.#sortEach(this.#finalUnits(), format, async r => { await handoff.give(r) })
      .then(() => { handoff.end() }, (error: unknown) => { handoff.end(error) })
    try {
      for (let r = await handoff.take(); r !== undefined; r = await handoff.take()) {
        const schema = Math.floor(r.p / kPrefixes)
        if (r.count > 0) yield r.rows !== undefined ? { schema, digests: new Uint8Array(0), count: r.count, rows: r.rows } : { schema, digests: r.records, count: r.count }
        // The consumer asked for the next run: this one's buffers are free again.
        this.#recycle(r.records.buffer)
        if (r.rows !== undefined) this.#recycle(r.rows.buffer)
      }
    } finally {
      // A consumer that stops early fails the window (the run it holds is refused), which
      // stops the sorts; they settle before this returns.
      handoff.end(new Error('the consumer of DigestStore.unique() stopped early'))
      await sorting
    }
  }

  /** An ArrayBuffer of at least `bytes`: the smallest spare that fits, or a new one. */
  #buffer (bytes: number): ArrayBuffer {
    let best = -1
    for (let i = 0; i < this.#spare.length; i++) {
      const n = this.#spare[i]!.byteLength
      if (n >= bytes && (best === -1 || n < this.#spare[best]!.byteLength)) best = i
    }
    if (best === -1) {
      const size = Math.max(kSpareGrain, Math.ceil(bytes * 1.125 / kSpareGrain) * kSpareGrain)
      this.#bufferBytesAllocated += size
      return new ArrayBuffer(size)
    }
    const buffer = this.#spare.splice(best, 1)[0]!
    this.#spareBytes -= buffer.byteLength
    return buffer
  }

  /** Keeps a buffer for reuse, dropping the smallest spares past 2 × inFlightBytes in all. */
  #recycle (buffer: ArrayBufferLike): void {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < kSpareGrain) return
    this.#spare.push(buffer)
    this.#spareBytes += buffer.byteLength
    while (this.#spareBytes > 2 * this.#inFlightBytes && this.#spare.length > 1) {
      let smallest = 0
      for (let i = 1; i < this.#spare.length; i++) if (this.#spare[i]!.byteLength < this.#spare[smallest]!.byteLength) smallest = i
      const dropped = this.#spare.splice(smallest, 1)[0]!
      this.#spareBytes -= dropped.byteLength
      releaseBuffer(dropped)
    }
  }

  #releaseBatchSpares (): void {
    for (const b of this.#batchSpares) releaseBuffer(b)
    this.#batchSpares.length = 0
  }

  /** Removes spill files; resolves when they are gone. Safe to call more than once. */
  async close (): Promise<void> {
    this.#spills.length = 0
    this.#releaseBatchSpares()
    await this.#storage.close()
  }
}

/** The slice of a digest: the top bits of its second byte (the first is the partition's). */
function sliceOf (records: Uint8Array, i: number): number {
  return records[i * DIGEST_BYTES + 1]! >> kSliceShift
}

/**
 * Indexes the runs of partitions [sorted.p, sorted.end), written one after another from byte
 * `base` of the spill: where each starts, and its slice ends (ends[(p - spill.first) * kSlices +
 * b] = how many of its records are in slices 0..b). The records are sorted, so each partition's
 * are contiguous. Partitions outside the spill's index have no records.
 */
function indexRuns (sorted: Sorted, base: number, spill: Spill): void {
  const { records, count } = sorted
  const ends = spill.ends
  const schemaFirst = Math.floor(sorted.p / kPrefixes) * kPrefixes - spill.first
  for (let i = 0; i < count; i++) ends[(schemaFirst + records[i * DIGEST_BYTES]!) * kSlices + sliceOf(records, i)]!++
  let before = 0
  const from = Math.max(sorted.p, spill.first)
  const to = Math.min(sorted.end, spill.first + spill.offsets.length)
  for (let p = from; p < to; p++) {
    const at = (p - spill.first) * kSlices
    for (let b = 1; b < kSlices; b++) ends[at + b]! += ends[at + b - 1]!
    spill.offsets[p - spill.first] = base + before * DIGEST_BYTES
    before += ends[at + kSlices - 1]!
  }
}

/** Where slices [lo, hi) of a run starting at byte `offset`, with slice ends at ends[at…], are. */
function runSlice (offset: number, ends: Uint16Array | Uint32Array, at: number, lo: number, hi: number): { offset: number, count: number } {
  const start = lo === 0 ? 0 : ends[at + lo - 1]!
  const end = ends[at + hi - 1]!
  return { offset: offset + start * DIGEST_BYTES, count: end - start }
}

/** A partition's memory part reordered so each slice is contiguous (a counting sort by slice). */
function groupBySlice (mem: { records: Uint8Array, count: number }, into: ArrayBuffer): SlicedRecords {
  const ends = new Uint32Array(kSlices)
  for (let i = 0; i < mem.count; i++) ends[sliceOf(mem.records, i)]!++
  for (let b = 1; b < kSlices; b++) ends[b]! += ends[b - 1]!
  const next = new Uint32Array(kSlices)
  for (let b = 1; b < kSlices; b++) next[b] = ends[b - 1]!
  const records = new Uint8Array(into, 0, mem.count * DIGEST_BYTES)
  // Word copies: both are whole ArrayBuffers of the store's own (aligned).
  const src = new Uint32Array(mem.records.buffer, mem.records.byteOffset, mem.count * kWords)
  const dst = new Uint32Array(into, 0, mem.count * kWords)
  for (let i = 0; i < mem.count; i++) {
    const d = next[sliceOf(mem.records, i)]!++ * kWords
    const o = i * kWords
    for (let w = 0; w < kWords; w++) dst[d + w] = src[o + w]!
  }
  return { records, count: mem.count, ends }
}

/** Reads exactly `length` bytes of a spill at `position` into records[offset...]. */
async function readFully (sp: Spill, records: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  for (let done = 0; done < length;) {
    let n: number
    try {
      n = await sp.file.read(records, offset + done, length - done, position + done)
    } catch (err) {
      throw new HashpipeError('HP_ERR_SPILL_IO', `cannot read dedupe spill file ${sp.file.name}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; rerun the job`, undefined, { cause: err })
    }
    if (n === 0) throw new HashpipeError('HP_ERR_SPILL_IO', `dedupe spill file ${sp.file.name} is shorter than written; was it truncated? rerun the job`)
    done += n
  }
}

/**
 * Hands values one at a time from a producer (give) to a consumer (take): give() resolves once
 * the consumer takes the next value, so the producer holds a value until it has been used.
 */
class Handoff<T> {
  #value: { value: T, taken: () => void, refused: (error: unknown) => void } | undefined
  #taker: { resolve: (value: T | undefined) => void, reject: (error: unknown) => void } | undefined
  #ended: { error?: unknown } | undefined
  // The value last taken, released at the next take().
  #held: (() => void) | undefined

  async give (value: T): Promise<void> {
    if (this.#ended !== undefined) throw this.#ended.error ?? new Error('handoff ended')
    await new Promise<void>((resolve, reject) => {
      const entry = { value, taken: resolve, refused: reject }
      const taker = this.#taker
      if (taker !== undefined) {
        this.#taker = undefined
        this.#held = resolve
        taker.resolve(value)
      } else this.#value = entry
    })
  }

  /** The next value (releasing the previous one), or undefined once the producer has ended. */
  async take (): Promise<T | undefined> {
    const held = this.#held
    this.#held = undefined
    held?.()
    const entry = this.#value
    if (entry !== undefined) {
      this.#value = undefined
      this.#held = entry.taken
      return entry.value
    }
    if (this.#ended !== undefined) {
      if (this.#ended.error !== undefined) throw this.#ended.error
      return undefined
    }
    return await new Promise<T | undefined>((resolve, reject) => { this.#taker = { resolve, reject } })
  }

  /** No more values: with an error, the consumer's take() and a producer's give() throw it. */
  end (error?: unknown): void {
    if (this.#ended !== undefined) return
    this.#ended = error === undefined ? {} : { error }
    const refusal = error ?? new Error('handoff ended')
    this.#value?.refused(refusal)
    this.#value = undefined
    const held = this.#held
    this.#held = undefined
    held?.()
    const taker = this.#taker
    this.#taker = undefined
    if (taker !== undefined) {
      if (error !== undefined) taker.reject(error)
      else taker.resolve(undefined)
    }
  }
}
