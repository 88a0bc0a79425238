// The hashing pipeline end to end, without delivery: inputs → splitter → worker pool → exact
// dedupe → sinks. The one place that knows both the file adapters and the pipeline.
//
//   main thread                                   pool threads
//   read (1 MiB) → split into whole-record ──move──▶ parse, normalize, SHA-256
//   batches (owned ArrayBuffers)             ◀─move── packed digests + counts + rejects
//   apply results in seq order: rejects, counts, DigestStore.add (spills past the budget)
//   finally: DigestStore.unique() → digest sink (sorted, per id schema)
//
// Backpressure: at most `maxInFlight` batches are outstanding; the reader awaits the oldest
// result before reading on, so memory is bounded whatever the input size.
import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'
import { openInput, checkReadable } from '../adapters/file-source.js'
import { SpillFiles } from '../adapters/spill-files.js'
import { InputError } from '../pipeline/errors.js'
import { HashPool } from '../pipeline/hash-pool.js'
import { RecordSplitter, type SplitEvent } from '../pipeline/record-splitter.js'
import { DigestStore } from '../pipeline/digest-store.js'
import { parseRecord } from '../pipeline/csv-record.js'
import { detectFormat, planColumns, type InputFormat } from '../pipeline/column-plan.js'
import { jsonArrayAsLines } from '../pipeline/json-elements.js'
import {
  DIGEST_BYTES, ID_SCHEMAS, ID_TYPES, REJECT_REASONS,
  type BatchResult, type ColumnPlan, type IdType, type NormalizeOptions, type RecordFormat, type RejectRecord, type RowFormat, type WorkerOptions
} from '../pipeline/protocol.js'
import type { Metrics } from './metrics.js'
import { emptySummary, type HashSummary, type InputSummary } from './hash-summary.js'

export interface HashJobOptions {
  inputs: string[]
  format?: InputFormat
  type?: IdType
  columns?: Partial<Record<IdType, string>>
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

interface InputState { name: string, lineBase: number, json: boolean, summary: InputSummary }

export async function runHashJob (options: HashJobOptions, sinks: HashJobSinks, stdin: Readable, signal?: AbortSignal): Promise<HashSummary> {
  const started = performance.now()
  for (const name of options.inputs) await checkReadable(name)
  const summary = emptySummary()
  const workerOptions: WorkerOptions = { ...options.normalize, maxRecordBytes: options.maxRecordBytes, includeValues: options.includeValues }
  const pool = new HashPool({ threads: options.threads, workerOptions, ...(options.workerFile !== undefined ? { filename: options.workerFile } : {}) })
  const store = options.dedupe
    ? new DigestStore({
      memoryBudgetBytes: options.memoryBudgetBytes,
      storage: new SpillFiles(options.tmpDir),
      sorter: async (records, count, keyOffset, rows) => await pool.sortUnique(records, count, keyOffset, rows),
      parallelSorts: options.threads * 2
    })
    : undefined
  const maxInFlight = options.threads * 2 + 1
  // Digest buffers of applied results, handed back to workers so batches do not allocate them:
  // at a GiB of digests per GiB of input, fresh ones keep V8 collecting (external memory).
  const spareDigests: ArrayBuffer[] = []
  const window: Array<Promise<BatchResult>> = []
  // Batches that have finished, so results are applied (counted, reported, spilled) as soon as
  // they are ready in order, not only when the window is full.
  // Applying is serialized on one chain, driven by batch completion, so a slow input (a pipe on
  // stdin) still has its finished batches counted and reported while the reader waits.
  const settled = new WeakSet<Promise<BatchResult>>()
  let chain: Promise<void> = Promise.resolve()
  let failure: { error: unknown } | undefined
  const drain = (): void => {
    chain = chain.then(async () => {
      while (failure === undefined && window.length > 0 && settled.has(window[0]!)) await apply(await window.shift()!)
    }).catch((error: unknown) => { failure ??= { error } })
  }
  const track = (p: Promise<BatchResult>): Promise<BatchResult> => {
    const done = (): void => { settled.add(p); drain() }
    p.then(done, done)
    return p
  }
  /** Waits until at most `limit` batches are outstanding and everything finished is applied. */
  const settle = async (limit: number): Promise<void> => {
    while (window.length > limit) await window[0]!.then(() => chain, () => chain)
    await chain
    if (failure !== undefined) throw failure.error
  }
  const states: InputState[] = []
  const sources: Array<{ bytesRead: () => number, size: number | undefined }> = []
  let seq = 0
  let identifiers = 0
  let lastProgress = 0
  let splitter: RecordSplitter | undefined
  let observedBytes = 0
  const metrics = options.metrics
  metrics?.workerThreads.set(options.threads)
  const headerOnly: number[] = []

  const progress = (force = false): void => {
    const now = performance.now()
    if (sinks.progress === undefined || (!force && now - lastProgress < 200)) return
    lastProgress = now
    const total = sources.every(s => s.size !== undefined) && sources.length === options.inputs.length
      ? sources.reduce((n, s) => n + s.size!, 0)
      : undefined
    sinks.progress({ bytesDone: sources.reduce((n, s) => n + s.bytesRead(), 0), bytesTotal: total, identifiers, seconds: (now - started) / 1000 })
  }

  const stages = summary.stages
  const timed = async <T>(stage: keyof typeof stages, fn: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now()
    try { return await fn() } finally { stages[stage] += (performance.now() - t0) / 1000 }
  }

  // A spill in progress: it sorts on the pool and writes while parsing goes on. Its failure
  // surfaces at the next apply that waits for it, or before the final pass.
  let spilling: Promise<void> | undefined
  const spillInBackground = (s: DigestStore): Promise<void> => {
    const t0 = performance.now()
    const p = s.spill().finally(() => {
      stages.spill += (performance.now() - t0) / 1000
      if (spilling === p) spilling = undefined
    })
    p.catch((error: unknown) => { failure ??= { error } })
    return p
  }

  const apply = async (r: BatchResult): Promise<void> => {
    const state = states[r.input]!
    stages.parse += r.parseSeconds
    stages.hash += r.hashSeconds
    splitter?.recycle(r.buffer)
    summary.rows += r.rows
    state.summary.rows += r.rows
    for (let t = 0; t < ID_TYPES.length; t++) {
      summary.identifiers[ID_TYPES[t]!] += r.seen[t]!
      summary.empty[ID_TYPES[t]!] += r.empty[t]!
      identifiers += r.seen[t]!
    }
    for (let k = 0; k < REJECT_REASONS.length; k++) summary.rejected[REJECT_REASONS[k]!] += r.rejected[k]!
    summary.valid += r.count
    if (sinks.reject !== undefined) {
      for (const rej of r.rejects) {
        await sinks.reject(state.name, { ...rej, line: state.lineBase + rej.line, byteOffset: state.json ? -1 : rej.byteOffset })
      }
    }
    state.lineBase += r.lines
    const digests = new Uint8Array(r.digests, 0, r.count * DIGEST_BYTES)
    if (store !== undefined) {
      await timed('dedupe', async () => {
        if (r.partitions !== undefined) {
          store.addPartitioned(digests, new Uint32Array(r.partitions))
          // Copied into the store: the buffer goes back to a worker with a later batch.
          if (spareDigests.length < maxInFlight) spareDigests.push(r.digests)
        } else store.add(digests, new Uint8Array(r.schemas, 0, r.count), r.count)
        if (store.overBudget) {
          // One spill at a time; while it runs, batches keep coming (memory grows past the
          // budget only by what arrives meanwhile, and each partition's memory is freed as
          // its sort is sent).
          if (spilling !== undefined) await spilling
          if (store.overBudget) spilling = spillInBackground(store)
        }
      })
    } else await timed('write', async () => { await sinks.digests(digests, r.count, new Uint8Array(r.schemas, 0, r.count)) })
    if (metrics !== undefined) observe(metrics, r)
    progress()
  }

  const observe = (m: Metrics, r: BatchResult): void => {
    const bytes = sources.reduce((n, s) => n + s.bytesRead(), 0)
    m.inputBytes.inc(bytes - observedBytes)
    observedBytes = bytes
    m.inputRows.inc(r.rows)
    m.batches.inc()
    for (let t = 0; t < ID_TYPES.length; t++) {
      const id_type = ID_TYPES[t]!
      if (r.valid[t]! > 0) m.identifiers.inc({ id_type, outcome: 'valid' }, r.valid[t])
      if (r.seen[t]! > r.valid[t]!) m.identifiers.inc({ id_type, outcome: 'rejected' }, r.seen[t]! - r.valid[t]!)
      if (r.empty[t]! > 0) m.identifiers.inc({ id_type, outcome: 'empty' }, r.empty[t])
    }
    for (let k = 0; k < REJECT_REASONS.length; k++) if (r.rejected[k]! > 0) m.rejects.inc({ reason: REJECT_REASONS[k]! }, r.rejected[k])
    m.workerUtilization.set(pool.utilization)
    m.workerQueueDepth.set(pool.queueSize)
    if (store !== undefined) m.spoolBytes.set(store.spilledBytes)
    m.stageSeconds.inc({ stage: 'parse' }, r.parseSeconds)
    m.stageSeconds.inc({ stage: 'hash' }, r.hashSeconds)
  }

  const submit = async (input: number, plan: BatchResultPlan, ev: SplitEvent): Promise<void> => {
    if (signal?.aborted === true) throw new InputError('HP_ERR_ABORTED', 'interrupted; nothing was written', { file: states[input]!.name })
    if (ev.kind === 'batch') {
      const spare = spareDigests.pop()
      const result = pool.run({ seq: seq++, input, buffer: ev.buffer, byteLength: ev.byteLength, firstByte: ev.firstByte, plan: plan.plan, partition: store !== undefined, ...(spare !== undefined ? { spare } : {}) })
      // A batch behind a failed one may reject before it is awaited: mark it handled here; the
      // failure still surfaces, in order, when the window reaches it.
      result.catch(() => {})
      window.push(track(result))
    } else {
      window.push(track(Promise.resolve(longRecordResult(seq++, input, ev.byteOffset, ev.lines))))
    }
    await settle(maxInFlight - 1)
  }

  try {
    for (let i = 0; i < options.inputs.length; i++) {
      const name = options.inputs[i]!
      const src = await openInput(name, stdin)
      sources.push(src)
      const inputSummary: InputSummary = { file: name, format: 'csv', gzip: src.gzip, rows: 0 }
      summary.inputs.push(inputSummary)
      const state: InputState = { name, lineBase: 1, json: false, summary: inputSummary }
      states.push(state)
      let chunks: AsyncIterator<Buffer> = src.chunks[Symbol.asyncIterator]()
      let { head, offset } = await readHead(chunks, options.maxRecordBytes)
      if (head.length === 0) {
        sinks.warn?.(`input '${name}' is empty: nothing to hash`)
        continue
      }
      let format = detectFormat(name, head, options.format)
      inputSummary.format = format
      if (format === 'json') {
        // Re-encode the array as NDJSON and plan from its first element.
        const rest = chunks
        const lines = jsonArrayAsLines(name, prepend(head, rest))
        chunks = lines[Symbol.asyncIterator]()
        state.json = true
        format = 'ndjson'
        head = (await readHead(chunks, options.maxRecordBytes)).head
        offset = 0
        if (head.length === 0) { sinks.warn?.(`input '${name}' is an empty JSON array: nothing to hash`); continue }
      }
      const first = firstRecord(name, head, format, options.maxRecordBytes)
      const decision = planColumns({
        file: name,
        format,
        firstRecord: first.fields,
        bareValues: first.bare,
        ...(options.columns !== undefined ? { columns: options.columns } : {}),
        ...(options.type !== undefined ? { type: options.type } : {})
      })
      let skip = 0
      if (decision.headerRow) {
        skip = first.bytes
        state.lineBase += first.lines
      }
      splitter = new RecordSplitter({ capacity: Math.max(options.batchBytes, options.maxRecordBytes + 2), quotes: format === 'csv', delimiter: format === 'tsv' ? 9 : 44, startOffset: offset + skip })
      const plan: BatchResultPlan = { plan: decision.plan }
      const split = splitter
      for (const ev of await timed('split', () => split.push(head.subarray(skip)))) await submit(i, plan, ev)
      for (let r = await timed('read', async () => await chunks.next()); r.done !== true; r = await timed('read', async () => await chunks.next())) {
        const chunk = r.value
        const events = await timed('split', () => split.push(chunk))
        // The splitter copied it: the reader may fill it again.
        src.recycle(chunk)
        for (const ev of events) await submit(i, plan, ev)
      }
      for (const ev of splitter.end()) await submit(i, plan, ev)
      if (decision.headerRow) headerOnly.push(i)
    }
    await settle(0)
    if (spilling !== undefined) await timed('dedupe', async () => { await spilling })
    for (const i of headerOnly) {
      if (states[i]!.summary.rows === 0) sinks.warn?.(`input '${states[i]!.name}' has a header row and no data`)
    }
    progress(true)
    if (store !== undefined) {
      const runs = store.unique(options.rowFormat)
      for (let r = await timed('dedupe', async () => await runs.next()); r.done !== true; r = await timed('dedupe', async () => await runs.next())) {
        const run = r.value
        const key = ID_SCHEMAS[run.schema]!
        summary.unique[key] = (summary.unique[key] ?? 0) + run.count
        metrics?.uniqueIdentifiers.inc({ id_schema: key }, run.count)
        await timed('write', async () => { await sinks.digests(run.digests, run.count, run.schema, run.rows) })
      }
      summary.spilled_bytes = store.spilledBytes
    }
  } catch (err) {
    // Settle what is in flight so no rejection goes unhandled, then fail with the first error.
    await Promise.allSettled(window)
    throw err
  } finally {
    await spilling?.catch(() => {})
    store?.close()
    stages.transfer = pool.postSeconds
    await pool.destroy()
  }
  for (const stage of ['read', 'split', 'transfer', 'dedupe', 'spill', 'write'] as const) metrics?.stageSeconds.inc({ stage }, stages[stage])
  summary.bytes = sources.reduce((n, s) => n + s.bytesRead(), 0)
  summary.seconds = (performance.now() - started) / 1000
  return finishSummary(summary, options.dedupe)
}

interface BatchResultPlan { plan: ColumnPlan }

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
    seq, input, rows: 1, lines, count: 0,
    digests: new ArrayBuffer(0), schemas: new ArrayBuffer(0),
    seen: new Array(ID_TYPES.length).fill(0), valid: new Array(ID_TYPES.length).fill(0), empty: new Array(ID_TYPES.length).fill(0),
    rejected, rejects: [{ line: 0, byteOffset, field: '', reason: 'line_too_long' }],
    buffer: new ArrayBuffer(0), parseSeconds: 0, hashSeconds: 0
  }
}

/** Reads until the head holds a newline (or maxRecordBytes, or EOF); strips a UTF-8 BOM. */
async function readHead (chunks: AsyncIterator<Buffer>, maxRecordBytes: number): Promise<{ head: Buffer, offset: number }> {
  const parts: Buffer[] = []
  let length = 0
  while (true) {
    const r = await chunks.next()
    if (r.done === true) break
    parts.push(r.value)
    length += r.value.length
    if (r.value.includes(10) || length > maxRecordBytes) break
  }
  let head = Buffer.concat(parts, length)
  let offset = 0
  if (head.subarray(0, 3).equals(kBom)) { head = head.subarray(3); offset = 3 }
  return { head, offset }
}

async function * prepend (head: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield head
  for (let r = await rest.next(); r.done !== true; r = await rest.next()) yield r.value
}

function firstRecord (file: string, head: Buffer, format: RecordFormat, maxRecordBytes: number): { fields: string[], bare: boolean, bytes: number, lines: number } {
  const text = head.toString('utf8', 0, Math.min(head.length, maxRecordBytes))
  if (format === 'csv' || format === 'tsv') {
    const rec = parseRecord(text, 0, format === 'tsv' ? '\t' : ',')
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
