// The hashing pipeline end to end, without delivery: inputs → splitter → worker pool → exact
// dedupe → sinks. The one place that knows both the file adapters and the pipeline.
//
//   main thread                                   pool threads
//   read (1 MiB) → split into whole-record ──move──▶ parse, normalize, SHA-256
//   batches (owned ArrayBuffers)             ◀─move── packed digests + counts + rejects
//   apply results in seq order: rejects, counts, DigestStore.add (spills past the budget)
//   finally: DigestStore.unique() → digest sink (sorted, per id schema)
//
// Backpressure: at most `maxInFlight` batches are outstanding (pipeline/ordered-window.ts); the
// reader waits for room before reading on, so memory is bounded whatever the input size, and
// the first failure anywhere (a worker, a sink, a background spill) fails the run.
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'
import { openInput, checkReadable, type InputSource } from '../adapters/file-source.js'
import { expandInputs } from '../adapters/input-paths.js'
import { hasParquetMagic, isParquetName, openParquet } from '../adapters/parquet-source.js'
import { SpillFiles } from '../adapters/spill-files.js'
import { InputError, InterruptedError } from '../pipeline/errors.js'
import { HashPool } from '../pipeline/hash-pool.js'
import { RecordSplitter, type SplitEvent } from '../pipeline/record-splitter.js'
import { DigestStore } from '../pipeline/digest-store.js'
import { pinMmapThreshold, trimHeap } from '../pipeline/heap-trim.js'
import { OrderedWindow } from '../pipeline/ordered-window.js'
import { parseRecord } from '../pipeline/csv-record.js'
import { delimiterHint, detectFormat, encodingProblem, planColumns, type InputFormat, type PlanRequest } from '../pipeline/column-plan.js'
import { jsonArrayAsLines } from '../pipeline/json-elements.js'
import {
  DIGEST_BYTES, ID_SCHEMAS, ID_TYPES, REJECT_REASONS,
  type BatchResult, type BatchTask, type ColumnPlan, type IdType, type NormalizeOptions, type RecordFormat, type RejectRecord, type RowFormat, type WorkerOptions
} from '../pipeline/protocol.js'
import type { Metrics } from './metrics.js'
import { emptySummary, type HashSummary, type InputSummary } from './hash-summary.js'

export interface HashJobOptions {
  /** Take each regular input's content digest while reading it (summary.inputs[i].content_sha256). */
  contentDigests?: boolean
  /** Files, directories and globs (expanded by runHashJob, adapters/input-paths.ts), or '-'. */
  inputs: string[]
  /** How errors name the inputs list (`segments[0].inputs`); "the inputs" when absent. */
  inputsKey?: string
  format?: InputFormat
  /** csv: the field delimiter's byte (pipeline/protocol.ts DELIMITERS); ',' when absent. */
  delimiter?: number
  type?: IdType
  columns?: Partial<Record<IdType, string>>
  /** How the caller names columns and type in messages (hash-options.ts fills it in). */
  optionNames?: { columns: string, type: string }
  threads: number
  batchBytes: number
  maxRecordBytes: number
  normalize: NormalizeOptions
  includeValues: boolean
  dedupe: boolean
  memoryBudgetBytes: number
  tmpDir: string
  /** Worker module override, for tests. */
  workerFile?: string
  /** Have the pool format the unique runs as output rows of this format (the sink gets them as `rows`). */
  rowFormat?: RowFormat
  /** Stage counters go here when given (hashpipe_* series); counts only, never values. */
  metrics?: Metrics
}

export interface ProgressSnapshot { bytesDone: number, bytesTotal: number | undefined, identifiers: number, seconds: number }

export interface HashJobSinks {
  /**
   * Unique digests (ascending within each id schema), or without dedupe every valid digest in
   * input order. `rows`: the same digests already formatted (options.rowFormat, dedupe only);
   * `digests` is then empty, as only the rows were asked for.
   */
  digests: (digests: Uint8Array, count: number, schemas: Uint8Array | number, rows?: Uint8Array) => Promise<void>
  /** A rejected identifier or record; `line` is absolute (1-based); byteOffset -1 when unknown (JSON arrays). */
  reject?: (file: string, reject: RejectRecord) => Promise<void>
  progress?: (p: ProgressSnapshot) => void
  warn?: (message: string) => void
}

const kBom = Buffer.from([0xef, 0xbb, 0xbf])

export async function runHashJob (options: HashJobOptions, sinks: HashJobSinks, stdin: Readable, signal?: AbortSignal): Promise<HashSummary> {
  const started = performance.now()
  const inputs = await expandInputs(options.inputs, options.inputsKey)
  for (const name of inputs) await checkReadable(name)
  return await new HashJob({ ...options, inputs }, sinks, stdin, signal, started).run()
}

const kInterrupted = 'interrupted; nothing was written: run the command again'
// The final pass gives freed heap pages back every this many runs (it yields one per partition
// or slice, 1,024 or more in all; a trim takes well under a millisecond).
const kTrimEveryRuns = 128

/** Where an input's results go: absolute line numbers start at lineBase; JSON arrays have no byte offsets. */
interface InputState { name: string, lineBase: number, json: boolean, summary: InputSummary }

/** An input opened and planned: its records are `head`, then the rest of `chunks`. */
interface PlannedInput {
  source: InputSource
  chunks: AsyncIterator<Buffer>
  head: Buffer
  /** Byte offset of head in the (decompressed) input. */
  startOffset: number
  format: RecordFormat
  plan: ColumnPlan
  headerRow: boolean
}

/** One run of runHashJob: the pool, the window of batches, the dedupe store and the counts. */
class HashJob {
  readonly #options: HashJobOptions
  readonly #sinks: HashJobSinks
  readonly #stdin: Readable
  readonly #signal: AbortSignal | undefined
  readonly #started: number
  // The main thread's event-loop utilization at the start: its busy share of the run's wall time
  // is the serial part of the pipeline (read, split, apply, dedupe adds, output writes).
  readonly #elu = performance.eventLoopUtilization()
  readonly #cpu0 = mainThreadCpuSeconds()
  readonly #summary = emptySummary()
  readonly #stages = this.#summary.stages
  readonly #metrics: Metrics | undefined
  readonly #pool: HashPool
  readonly #store: DigestStore | undefined
  readonly #maxInFlight: number
  // Batches in flight, applied in seq order (rejects, counts, DigestStore.add) as each finishes.
  // Applying is driven by batch completion, so a slow input (a pipe on stdin) still has its
  // finished batches counted and reported while the reader waits.
  readonly #window: OrderedWindow<BatchResult>
  readonly #states: InputState[] = []
  readonly #sources: InputSource[] = []
  // Inputs with a header row: warned about at the end if no data row followed.
  readonly #headerOnly: number[] = []
  #splitter: RecordSplitter | undefined
  #seq = 0
  #identifiers = 0
  #lastProgress = 0
  #observedBytes = 0
  // A spill in progress: it sorts on the pool and writes while parsing goes on. Its failure
  // surfaces at the next apply that waits for it, the next submit, or before the final pass.
  #spilling: Promise<void> | undefined
  readonly #spillFiles: SpillFiles | undefined

  constructor (options: HashJobOptions, sinks: HashJobSinks, stdin: Readable, signal: AbortSignal | undefined, started: number) {
    this.#options = options
    this.#sinks = sinks
    this.#stdin = stdin
    this.#signal = signal
    this.#started = started
    this.#metrics = options.metrics
    // Before the pool's and the store's first buffers (pipeline/heap-trim.ts says why).
    pinMmapThreshold()
    const workerOptions: WorkerOptions = { ...options.normalize, maxRecordBytes: options.maxRecordBytes, includeValues: options.includeValues }
    const pool = this.#pool = new HashPool({ threads: options.threads, workerOptions, ...(options.workerFile !== undefined ? { filename: options.workerFile } : {}) })
    this.#store = options.dedupe
      ? new DigestStore({
        memoryBudgetBytes: options.memoryBudgetBytes,
        storage: this.#spillFiles = new SpillFiles(options.tmpDir),
        sorter: async (records, count, keyOffset, rows) => await pool.sortUnique(records, count, keyOffset, rows),
        parallelSorts: options.threads * 2,
        generationBytes: generationBytes(options.memoryBudgetBytes)
      })
      : undefined
    this.#maxInFlight = options.threads * 2 + 1
    this.#window = new OrderedWindow<BatchResult>({ limit: this.#maxInFlight, apply: async r => { await this.#apply(r) } })
    this.#metrics?.workerThreads.set(options.threads)
  }

  async run (): Promise<HashSummary> {
    try {
      for (let i = 0; i < this.#options.inputs.length; i++) await this.#hashInput(i)
      await this.#window.drain()
      if (this.#spilling !== undefined) await this.#timed('dedupe', async () => { await this.#spilling })
      for (const i of this.#headerOnly) {
        if (this.#states[i]!.summary.rows === 0) this.#sinks.warn?.(`input '${this.#states[i]!.name}' has a header row and no data`)
      }
      this.#progress(true)
      if (this.#store !== undefined) await this.#finalPass(this.#store)
    } finally {
      // Settle what is in flight so no rejection goes unhandled; the error the run fails with
      // (if any) is the first one thrown, already on its way.
      await this.#window.close().catch(() => {})
      await this.#spilling?.catch(() => {})
      this.#stages.transfer = this.#pool.postSeconds
      // Side by side: the spills' blocks are freed on libuv's threads while the workers stop.
      const destroyed = this.#pool.destroy()
      try { await this.#store?.close() } finally { await destroyed }
    }
    return this.#finish()
  }

  /** Opens input i, plans its columns, and submits all of it, batch by batch. */
  async #hashInput (i: number): Promise<void> {
    const input = await this.#openInput(i)
    if (input === undefined) return
    const { source, chunks, head, plan } = input
    const split = this.#splitter = new RecordSplitter({
      capacity: Math.max(this.#options.batchBytes, this.#options.maxRecordBytes + 2),
      quotes: input.format === 'csv',
      delimiter: input.format === 'tsv' ? 9 : plan.delimiter ?? 44,
      startOffset: input.startOffset
    })
    for (const ev of await this.#timed('split', () => split.push(head))) await this.#submit(i, plan, ev)
    for (let r = await this.#timed('read', async () => await this.#next(chunks)); r.done !== true; r = await this.#timed('read', async () => await this.#next(chunks))) {
      const chunk = r.value
      const events = await this.#timed('split', () => split.push(chunk))
      // The splitter copied it: the reader may fill it again.
      source.recycle(chunk)
      for (const ev of events) await this.#submit(i, plan, ev)
    }
    for (const ev of split.end()) await this.#submit(i, plan, ev)
    if (input.headerRow) this.#headerOnly.push(i)
    if (source.contentDigest !== undefined) this.#states[i]!.summary.content_sha256 = await source.contentDigest()
  }

  /**
   * Opens input i, detects its format and plans its columns from the first record; undefined
   * (with a warning) when there is nothing to hash.
   */
  async #openInput (i: number): Promise<PlannedInput | undefined> {
    const options = this.#options
    const name = options.inputs[i]!
    if (options.format === 'parquet' || (options.format === undefined && (isParquetName(name) || await hasParquetMagic(name)))) return await this.#openParquet(i, name)
    const source = await openInput(name, this.#stdin, { digest: options.contentDigests === true })
    this.#sources.push(source)
    const inputSummary: InputSummary = { file: name, format: 'csv', gzip: source.gzip, rows: 0 }
    this.#summary.inputs.push(inputSummary)
    const state: InputState = { name, lineBase: 1, json: false, summary: inputSummary }
    this.#states.push(state)
    let chunks: AsyncIterator<Buffer> = source.chunks[Symbol.asyncIterator]()
    let { head, offset } = await readHead(chunks, options.maxRecordBytes)
    if (head.length === 0) {
      this.#sinks.warn?.(`input '${name}' is empty: nothing to hash`)
      return undefined
    }
    const encoding = encodingProblem(name, head, offset)
    if (encoding !== undefined) throw new InputError('HP_ERR_INPUT_ENCODING', encoding.message, { file: name, byteOffset: encoding.byteOffset })
    let format = detectFormat(name, head, options.format ?? (options.delimiter !== undefined ? 'csv' : undefined))
    if (format === 'parquet') throw new InputError('HP_ERR_INPUT_FORMAT', `input '${name}' is not a Parquet file (no PAR1 magic at its start); set the right format`, { file: name })
    inputSummary.format = format
    if (format === 'json') {
      // Re-encode the array as NDJSON and plan from its first element.
      const lines = jsonArrayAsLines(name, prepend(head, chunks))
      chunks = lines[Symbol.asyncIterator]()
      state.json = true
      format = 'ndjson'
      head = (await readHead(chunks, options.maxRecordBytes)).head
      offset = 0
      if (head.length === 0) {
        this.#sinks.warn?.(`input '${name}' is an empty JSON array: nothing to hash`)
        return undefined
      }
    }
    if (format === 'ndjson') {
      // A first record over --max-line-bytes is rejected like any later one (line_too_long),
      // and the columns are planned from the first record that fits.
      while (head.length > 0 && firstLineTooLong(head, options.maxRecordBytes)) {
        const skipped = await this.#skipLine(head, chunks)
        const seq = this.#seq++
        const result = longRecordResult(seq, i, offset, 1)
        await this.#window.submit(() => result)
        offset += skipped.bytes
        head = (await readHead(chunks, options.maxRecordBytes, skipped.rest)).head
      }
      if (head.length === 0) return undefined
    }
    const delimiter = format === 'csv' ? options.delimiter ?? 44 : 9
    const first = firstRecord(name, head, format, options.maxRecordBytes, delimiter)
    const decision = planWithHint({
      file: name,
      format,
      firstRecord: first.fields,
      bareValues: first.bare,
      ...(options.columns !== undefined ? { columns: options.columns } : {}),
      ...(options.type !== undefined ? { type: options.type } : {}),
      ...(options.optionNames !== undefined ? { names: options.optionNames } : {})
    }, format === 'csv' || format === 'tsv' ? head : undefined, delimiter)
    if (format === 'csv' && delimiter !== 44) decision.plan.delimiter = delimiter
    let skip = 0
    if (decision.headerRow) {
      skip = first.bytes
      state.lineBase += first.lines
    }
    return { source, chunks, head: head.subarray(skip), startOffset: offset + skip, format, plan: decision.plan, headerRow: decision.headerRow }
  }

  /**
   * A Parquet input: columns planned from its schema's names (as a header row), and its rows as
   * CSV records of the mapped columns, one row group at a time (adapters/parquet-source.ts).
   */
  async #openParquet (i: number, name: string): Promise<PlannedInput | undefined> {
    const options = this.#options
    if (name === '-') throw new InputError('HP_ERR_INPUT_FORMAT', 'stdin cannot be read as Parquet (its footer is read first, so it needs a file); save it to a file and name that', { file: name })
    const inputSummary: InputSummary = { file: name, format: 'parquet', gzip: false, rows: 0 }
    this.#summary.inputs.push(inputSummary)
    // Rejects name the row (line = row number); a byte offset means nothing in a Parquet file.
    this.#states.push({ name, lineBase: 1, json: true, summary: inputSummary })
    const parquet = await openParquet(name)
    let decision
    try {
      decision = planColumns({
        file: name,
        format: 'csv',
        firstRecord: parquet.columns,
        ...(options.columns !== undefined ? { columns: options.columns } : {}),
        ...(options.type !== undefined ? { type: options.type } : {})
      })
    } catch (err) {
      await parquet.close()
      throw err
    }
    // Only the mapped columns are read, in field order; the plan indexes them as read.
    const wanted: string[] = []
    const fields = decision.plan.fields.map(f => {
      const column = parquet.columns[f.index]!
      let index = wanted.indexOf(column)
      if (index === -1) index = wanted.push(column) - 1
      return { ...f, index }
    })
    const source = parquet.records(wanted)
    this.#sources.push(source)
    if (parquet.rows === 0) {
      await parquet.close()
      this.#sinks.warn?.(`input '${name}' has no rows: nothing to hash`)
      return undefined
    }
    return { source, chunks: source.chunks[Symbol.asyncIterator](), head: Buffer.alloc(0), startOffset: 0, format: 'csv', plan: { format: 'csv', fields }, headerRow: false }
  }

  /** Reads past the line `head` starts with; returns its length and what follows it. */
  async #skipLine (head: Buffer, chunks: AsyncIterator<Buffer>): Promise<{ bytes: number, rest: Buffer }> {
    let bytes = 0
    for (let chunk = head; ;) {
      const nl = chunk.indexOf(10)
      if (nl !== -1) return { bytes: bytes + nl + 1, rest: chunk.subarray(nl + 1) }
      bytes += chunk.length
      const r = await this.#next(chunks)
      if (r.done === true) return { bytes, rest: Buffer.alloc(0) }
      chunk = r.value
    }
  }

  /** Sends one split event into the window; returns once there is room for the next. */
  async #submit (input: number, plan: ColumnPlan, ev: SplitEvent): Promise<void> {
    if (this.#signal?.aborted === true) throw new InterruptedError(kInterrupted)
    const seq = this.#seq++
    if (ev.kind === 'batch') {
      const task: BatchTask = { seq, input, buffer: ev.buffer, byteLength: ev.byteLength, firstByte: ev.firstByte, plan, partition: this.#store !== undefined }
      const spare = this.#store?.takeSpare()
      if (spare !== undefined) task.spare = spare
      await this.#window.submit(async () => await this.#pool.run(task))
    } else {
      const result = longRecordResult(seq, input, ev.byteOffset, ev.lines)
      await this.#window.submit(() => result)
    }
  }

  /** Applies one batch's result, in seq order: counts, rejects, then the store or the digest sink. */
  async #apply (r: BatchResult): Promise<void> {
    const summary = this.#summary
    const stages = this.#stages
    const state = this.#states[r.input]!
    stages.parse += r.parseSeconds
    stages.hash += r.hashSeconds
    this.#splitter?.recycle(r.buffer)
    summary.rows += r.rows
    state.summary.rows += r.rows
    for (let t = 0; t < ID_TYPES.length; t++) {
      summary.identifiers[ID_TYPES[t]!] += r.seen[t]!
      summary.empty[ID_TYPES[t]!] += r.empty[t]!
      this.#identifiers += r.seen[t]!
    }
    for (let k = 0; k < REJECT_REASONS.length; k++) summary.rejected[REJECT_REASONS[k]!] += r.rejected[k]!
    summary.valid += r.count
    const reject = this.#sinks.reject
    if (reject !== undefined) {
      for (const rej of r.rejects) {
        await reject(state.name, { ...rej, line: state.lineBase + rej.line, byteOffset: state.json ? -1 : rej.byteOffset })
      }
    }
    state.lineBase += r.lines
    const digests = new Uint8Array(r.digests, 0, r.count * DIGEST_BYTES)
    const store = this.#store
    if (store !== undefined) {
      await this.#timed('dedupe', async () => {
        if (r.partitions !== undefined) {
          // Kept by the store as it is: the worker grouped it, this thread copies nothing.
          store.addPartitioned(digests, new Uint32Array(r.partitions))
        } else store.add(digests, new Uint8Array(r.schemas, 0, r.count), r.count)
        if (store.overBudget) {
          // One spill at a time; while it runs, batches keep coming (memory grows past the
          // budget only by what arrives meanwhile, and each partition's memory is freed as
          // its sort is sent).
          if (this.#spilling !== undefined) await this.#spilling
          if (store.overBudget) this.#spilling = this.#spillInBackground(store)
        }
      })
    } else await this.#timed('write', async () => { await this.#sinks.digests(digests, r.count, new Uint8Array(r.schemas, 0, r.count)) })
    if (this.#metrics !== undefined) this.#observe(this.#metrics, r)
    this.#progress()
  }

  /** Stage counters for one applied batch (hashpipe_* series): counts only, never values. */
  #observe (m: Metrics, r: BatchResult): void {
    const bytes = this.#bytesRead()
    m.inputBytes.inc(bytes - this.#observedBytes)
    this.#observedBytes = bytes
    m.inputRows.inc(r.rows)
    m.batches.inc()
    for (let t = 0; t < ID_TYPES.length; t++) {
      const idType = ID_TYPES[t]!
      if (r.valid[t]! > 0) m.identifiers.inc({ id_type: idType, outcome: 'valid' }, r.valid[t])
      if (r.seen[t]! > r.valid[t]!) m.identifiers.inc({ id_type: idType, outcome: 'rejected' }, r.seen[t]! - r.valid[t]!)
      if (r.empty[t]! > 0) m.identifiers.inc({ id_type: idType, outcome: 'empty' }, r.empty[t])
    }
    for (let k = 0; k < REJECT_REASONS.length; k++) if (r.rejected[k]! > 0) m.rejects.inc({ reason: REJECT_REASONS[k]! }, r.rejected[k])
    m.workerUtilization.set(this.#pool.utilization)
    m.workerQueueDepth.set(this.#pool.queueSize)
    if (this.#store !== undefined) m.spoolBytes.set(this.#store.spilledBytes)
    m.stageSeconds.inc({ stage: 'parse' }, r.parseSeconds)
    m.stageSeconds.inc({ stage: 'hash' }, r.hashSeconds)
  }

  /** Starts a spill that runs beside the batches; the window fails if it does. */
  #spillInBackground (store: DigestStore): Promise<void> {
    const t0 = performance.now()
    const p = store.spill().finally(() => {
      // No trimHeap() here: given back after each spill, the pages were faulted in again by the
      // next generation's batches (a billion identifiers: 413 s against 266 s, for 42 MiB less
      // peak RSS).
      this.#stages.spill += (performance.now() - t0) / 1000
      if (this.#spilling === p) this.#spilling = undefined
    })
    // Nothing may be waiting for it: failing the window makes the next submit or drain throw.
    p.catch((error: unknown) => { this.#window.fail(error) })
    return p
  }

  /** Every unique digest, sorted per id schema, to the digest sink. */
  /**
   * The next chunk of an input, or InterruptedError as soon as the job is aborted: a read from
   * stdin or a pipe may wait forever, and a chunk of an endless device never ends a record.
   */
  async #next (chunks: AsyncIterator<Buffer>): Promise<IteratorResult<Buffer>> {
    const signal = this.#signal
    if (signal === undefined) return await chunks.next()
    if (signal.aborted) throw new InterruptedError(kInterrupted)
    // A listener per read, removed when the read settles. (Not Promise.race with one promise
    // that rejects on abort: each race left a reaction on it holding that race's result, the
    // chunk, for the rest of the run: 541 bytes of V8 heap a read, 14 MB over a billion
    // identifiers' 25,600 reads, and every input's read buffers kept reachable.)
    return await new Promise<IteratorResult<Buffer>>((resolve, reject) => {
      const onAbort = (): void => { reject(new InterruptedError(kInterrupted)) }
      signal.addEventListener('abort', onAbort, { once: true })
      chunks.next().then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
    })
  }

  async #finalPass (store: DigestStore): Promise<void> {
    const summary = this.#summary
    const runs = store.unique(this.#options.rowFormat)
    let taken = 0
    try {
      for (let r = await this.#timed('dedupe', async () => await runs.next()); r.done !== true; r = await this.#timed('dedupe', async () => await runs.next())) {
        if (this.#signal?.aborted === true) throw new InterruptedError(kInterrupted)
        // What the input phase held and the final pass does not (the batch spares, sort buffers
        // past the spares' bound) is freed as it goes: give its pages back.
        if (++taken % kTrimEveryRuns === 0) {
          trimHeap()
          // Read ahead from here, not from the start: the first reads would allocate the read-ahead
          // on top of what the input phase still held (the last batch spares wait for a GC): a
          // billion identifiers peaked at 648 MiB so, 610 this way; 128 runs in, that is given back.
          if (taken === kTrimEveryRuns && this.#spillFiles !== undefined) this.#spillFiles.readAheadBytes = readAheadBytes(this.#options.memoryBudgetBytes)
        }
        const run = r.value
        const key = ID_SCHEMAS[run.schema]!
        summary.unique[key] = (summary.unique[key] ?? 0) + run.count
        this.#metrics?.uniqueIdentifiers.inc({ id_schema: key }, run.count)
        await this.#timed('write', async () => { await this.#sinks.digests(run.digests, run.count, run.schema, run.rows) })
      }
    } finally {
      // A sink that failed leaves the generator mid-way: let its sorts settle before the store closes.
      await runs.return(undefined)
    }
    summary.spilled_bytes = store.spilledBytes
  }

  #progress (force = false): void {
    const progress = this.#sinks.progress
    const now = performance.now()
    if (progress === undefined || (!force && now - this.#lastProgress < 200)) return
    this.#lastProgress = now
    const sources = this.#sources
    const total = sources.every(s => s.size !== undefined) && sources.length === this.#options.inputs.length
      ? sources.reduce((n, s) => n + s.size!, 0)
      : undefined
    progress({ bytesDone: this.#bytesRead(), bytesTotal: total, identifiers: this.#identifiers, seconds: (now - this.#started) / 1000 })
  }

  #bytesRead (): number {
    return this.#sources.reduce((n, s) => n + s.bytesRead(), 0)
  }

  async #timed<T> (stage: keyof HashSummary['stages'], fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now()
    try { return await fn() } finally { this.#stages[stage] += (performance.now() - t0) / 1000 }
  }

  #finish (): HashSummary {
    const summary = this.#summary
    for (const stage of ['read', 'split', 'transfer', 'dedupe', 'spill', 'write'] as const) this.#metrics?.stageSeconds.inc({ stage }, this.#stages[stage])
    summary.bytes = this.#bytesRead()
    summary.seconds = (performance.now() - this.#started) / 1000
    summary.main_thread_busy_share = Math.round(performance.eventLoopUtilization(this.#elu).utilization * 1000) / 1000
    const cpu = mainThreadCpuSeconds()
    summary.main_thread_cpu_seconds = cpu !== undefined && this.#cpu0 !== undefined ? Math.round((cpu - this.#cpu0) * 100) / 100 : null
    return finishSummary(summary, this.#options.dedupe)
  }
}

// The dedupe store's generation: half the budget, at most 128 MiB. Memory is then the generation
// being filled plus the one being spilled, and spilled batch buffers are reused for later
// batches. Every fresh page costs a fault, slow on VMs (~230 MB/s of first touch on this
// project's), so less memory is faster as long as the spills keep up: on the 1 GiB workload
// 256 MiB generations gave ~815 MB of peak RSS at 14.0–14.6 s, 128 MiB ~550 MB at 12.0–12.2 s,
// 64 MiB ~450 MB at 12.7 s (the main thread's gathering grows) (bench/results,
// hash-2026-12-02-1GiB-quiet.md, hash-2026-12-02-1GiB-direct.md).
export const kMaxGenerationBytes = 128 * 2 ** 20

function generationBytes (budget: number): number {
  return Math.min(Math.floor(budget / 2), kMaxGenerationBytes)
}

// The spill files' read-ahead in the final pass, all files together (adapters/direct-reader.ts
// says why it pays). The final pass holds the last generation (at most half the budget) and a
// few MB per sort, so a sixteenth of the budget more fits: 64 MiB at the default 1 GiB.
const kMaxReadAheadBytes = 64 * 2 ** 20

function readAheadBytes (budget: number): number {
  return Math.min(Math.floor(budget / 16), kMaxReadAheadBytes)
}

/**
 * The main thread's own CPU time (user + system), from its /proc task entry (the main thread's
 * task id is the process id); undefined where there is no /proc.
 */
function mainThreadCpuSeconds (): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces: utime and
    // stime are fields 14 and 15 of the line, in clock ticks (USER_HZ, 100 on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? ticks / 100 : undefined
  } catch {
    return undefined
  }
}

function finishSummary (s: HashSummary, dedupe: boolean): HashSummary {
  s.identifiers_total = Object.values(s.identifiers).reduce((a, b) => a + b, 0)
  s.rejected_total = Object.values(s.rejected).reduce((a, b) => a + b, 0)
  if (dedupe) {
    const total = Object.values(s.unique).reduce<number>((a, b) => a + (b ?? 0), 0)
    s.unique_total = total
    s.duplicates = s.valid - total
  } else {
    s.unique = { EMAIL_SHA256: null, PHONE_SHA256: null, IDFA_SHA256: null, AAID_SHA256: null }
    s.unique_total = null
    s.duplicates = null
  }
  s.identifiers_per_second = s.seconds > 0 ? Math.round(s.identifiers_total / s.seconds) : 0
  return s
}

function longRecordResult (seq: number, input: number, byteOffset: number, lines: number): BatchResult {
  const rejected = new Array(REJECT_REASONS.length).fill(0)
  rejected[REJECT_REASONS.indexOf('line_too_long')] = 1
  return {
    seq,
    input,
    rows: 1,
    lines,
    count: 0,
    digests: new ArrayBuffer(0),
    schemas: new ArrayBuffer(0),
    seen: new Array(ID_TYPES.length).fill(0),
    valid: new Array(ID_TYPES.length).fill(0),
    empty: new Array(ID_TYPES.length).fill(0),
    rejected,
    rejects: [{ line: 0, byteOffset, field: '', reason: 'line_too_long' }],
    buffer: new ArrayBuffer(0),
    parseSeconds: 0,
    hashSeconds: 0
  }
}

/** True when the first line of head (newline excluded) is longer than maxRecordBytes. */
function firstLineTooLong (head: Buffer, maxRecordBytes: number): boolean {
  const nl = head.indexOf(10)
  return (nl === -1 ? head.length : nl) > maxRecordBytes
}

/**
 * Reads until the head holds a newline (or maxRecordBytes, or EOF), after `prefix` if given;
 * strips a UTF-8 BOM at the start of an input.
 */
async function readHead (chunks: AsyncIterator<Buffer>, maxRecordBytes: number, prefix?: Buffer): Promise<{ head: Buffer, offset: number }> {
  if (prefix !== undefined && (prefix.includes(10) || prefix.length > maxRecordBytes)) return { head: prefix, offset: 0 }
  const parts: Buffer[] = prefix !== undefined && prefix.length > 0 ? [prefix] : []
  let length = prefix?.length ?? 0
  while (true) {
    const r = await chunks.next()
    if (r.done === true) break
    parts.push(r.value)
    length += r.value.length
    if (r.value.includes(10) || length > maxRecordBytes) break
  }
  let head = Buffer.concat(parts, length)
  let offset = 0
  if (prefix === undefined && head.subarray(0, 3).equals(kBom)) { head = head.subarray(3); offset = 3 }
  return { head, offset }
}

async function * prepend (head: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield head
  for (let r = await rest.next(); r.done !== true; r = await rest.next()) yield r.value
}

/**
 * planColumns, with a hint naming another delimiter when the first row (csv/tsv `head`) gave no
 * identifier column but splits on that delimiter.
 */
function planWithHint (req: PlanRequest, head: Buffer | undefined, delimiter: number): ReturnType<typeof planColumns> {
  try {
    return planColumns(req)
  } catch (err) {
    if (head === undefined || !(err instanceof InputError) || err.code !== 'HP_ERR_INPUT_NO_COLUMNS') throw err
    const nl = head.indexOf(10)
    const hint = delimiterHint(head.toString('utf8', 0, nl === -1 ? Math.min(head.length, 65536) : Math.min(nl, 65536)).replace(/\r$/, ''), delimiter)
    if (hint === undefined) throw err
    throw new InputError('HP_ERR_INPUT_NO_COLUMNS', `${err.message}; ${hint}`, { file: err.file }, { cause: err })
  }
}

function firstRecord (file: string, head: Buffer, format: RecordFormat, maxRecordBytes: number, delimiter: number): { fields: string[], bare: boolean, bytes: number, lines: number } {
  const text = head.toString('utf8', 0, Math.min(head.length, maxRecordBytes))
  if (format === 'csv' || format === 'tsv') {
    const rec = parseRecord(text, 0, String.fromCharCode(delimiter))
    return { fields: rec.fields, bare: false, bytes: Buffer.byteLength(text.slice(0, rec.next)), lines: 1 + rec.newlines }
  }
  const nl = text.indexOf('\n')
  const line = (nl === -1 ? text : text.slice(0, nl)).replace(/\r$/, '')
  const bytes = nl === -1 ? Buffer.byteLength(text) : Buffer.byteLength(text.slice(0, nl + 1))
  if (format === 'lines') return { fields: [line], bare: false, bytes, lines: 1 }
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    throw new InputError('HP_ERR_INPUT_FORMAT', `the first line of '${file}' is not a JSON value, so it cannot be read as NDJSON; pass --format csv|tsv|lines if it is not JSON`, { file, line: 1, byteOffset: 0 })
  }
  if (typeof value === 'string' || typeof value === 'number') return { fields: [], bare: true, bytes, lines: 1 }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError('HP_ERR_INPUT_FORMAT', `the first element of '${file}' is neither an object nor a string; each element must be an object of identifier fields or one identifier string`, { file, line: 1 })
  }
  return { fields: Object.keys(value), bare: false, bytes, lines: 1 }
}

/**
 * What a run would decide about one input's columns, from its first record only (gzip
 * included): throws the run's own HP_ERR_INPUT_NO_COLUMNS / HP_ERR_INPUT_FORMAT error, or
 * returns the planned fields; undefined for an empty input. For `hashpipe validate`.
 */
export async function planInputColumns (name: string, options: Pick<HashJobOptions, 'format' | 'delimiter' | 'type' | 'columns' | 'optionNames' | 'maxRecordBytes'>): Promise<Array<{ name: string, type: IdType }> | undefined> {
  const request = { ...(options.columns !== undefined ? { columns: options.columns } : {}), ...(options.type !== undefined ? { type: options.type } : {}), ...(options.optionNames !== undefined ? { names: options.optionNames } : {}) }
  if (options.format === 'parquet' || (options.format === undefined && (isParquetName(name) || await hasParquetMagic(name)))) {
    // The schema's column names stand for the header row, as the job plans them.
    const parquet = await openParquet(name)
    try {
      return planColumns({ file: name, format: 'csv', firstRecord: parquet.columns, ...request }).plan.fields.map(f => ({ name: f.name, type: f.type }))
    } finally {
      await parquet.close()
    }
  }
  const source = await openInput(name, process.stdin)
  const chunks = source.chunks[Symbol.asyncIterator]()
  try {
    let { head } = await readHead(chunks, options.maxRecordBytes)
    if (head.length === 0) return undefined
    let format = detectFormat(name, head, options.format ?? (options.delimiter !== undefined ? 'csv' : undefined))
    if (format === 'json') {
      const lines = jsonArrayAsLines(name, prepend(head, chunks))[Symbol.asyncIterator]()
      format = 'ndjson'
      head = (await readHead(lines, options.maxRecordBytes)).head
      if (head.length === 0) return undefined
    }
    if (format === 'parquet') return undefined
    const delimiter = format === 'csv' ? options.delimiter ?? 44 : 9
    const first = firstRecord(name, head, format, options.maxRecordBytes, delimiter)
    const { plan } = planWithHint({ file: name, format, firstRecord: first.fields, bareValues: first.bare, ...request }, format === 'csv' || format === 'tsv' ? head : undefined, delimiter)
    return plan.fields.map(f => ({ name: f.name, type: f.type }))
  } finally {
    await chunks.return?.()
  }
}
