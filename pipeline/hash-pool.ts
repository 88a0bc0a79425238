// The Piscina pool that runs hash-worker.ts. Batches go in with their ArrayBuffer transferred
// (the sender's buffer is detached afterwards), results come back transferred too. A worker
// that dies or throws fails its batch with WorkerError naming the batch; callers stop the run.
import { Piscina } from 'piscina'
import { WorkerError } from './errors.js'
import type { BatchResult, BatchTask, SortResult, SortRows, SortTask, WorkerOptions } from './protocol.js'

export interface HashPoolOptions {
  threads: number
  /** The run's worker options: cloned once into each thread (workerData), not sent with tasks. */
  workerOptions: WorkerOptions
  /** Worker module (tests substitute crashing fixtures). */
  filename?: string
}

const kWorker = new URL('./hash-worker.js', import.meta.url).href
// The flag exists on Node 20.17+ and 22.12+; older versions never require() ES modules anyway.
const kRequireModuleFlag = process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module')

// The workers' V8 young generation, capped: left to grow (V8 sizes it from the machine's memory),
// the workers' heaps kept growing through a long run, part of the ~0.6 MB a spill that a billion
// identifiers added to peak RSS. 999 M identifiers peaked at 510 MiB (VmHWM) with 4 MiB, 535 with
// 8, 618 without; the 1 GiB file at 409-422 against 443-475, in the same time (7.4-8.5 s against
// 7.7-8.2 s; the pure-JavaScript path, which makes the most garbage, no slower either).
const kWorkerYoungGenerationMb = 4

// piscina first tries require() on the worker file. On Node 20.19+ require() of an ES module is
// allowed, and under load it now and then aborted the whole process with a V8 fatal error
// (v8::Module::IsGraphAsync, seen in our tests). With require(esm) off in the workers, require()
// fails cleanly and piscina falls back to import().
const kOwnFlags = kRequireModuleFlag ? ['--no-experimental-require-module'] : []
// The workers get the process's own Node flags (--enable-source-maps, --conditions ...) beside
// ours. A Worker refuses V8 and process-wide flags in execArgv (--expose-gc, --max-old-space-size,
// --perf-basic-prof, --title): `node --expose-gc hashpipe hash` once failed at its first worker
// with "invalid execArgv flags". Those apply to the whole process already, so the workers go
// without them; what was refused is remembered for the process's later pools.
let workerExecArgv = [...process.execArgv.filter(a => !a.includes('require-module')), ...kOwnFlags]

type PoolOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>

function startPool (options: PoolOptions): Piscina {
  for (;;) {
    try {
      return new Piscina({ ...options, execArgv: workerExecArgv })
    } catch (err) {
      const refused = refusedFlags(err)
      if (refused === undefined || workerExecArgv === kOwnFlags) throw err
      const kept = workerExecArgv.filter(a => !refused.has(a))
      // A refusal this cannot read (a flag and its value as two words): the workers get ours only.
      workerExecArgv = kept.length < workerExecArgv.length ? kept : kOwnFlags
    }
  }
}

/** The flags a Worker refused, from Node's message; an empty set if the message lists none. */
function refusedFlags (err: unknown): Set<string> | undefined {
  if ((err as { code?: unknown } | null)?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return undefined
  const list = /: (.+)$/.exec(String((err as Error).message))?.[1] ?? ''
  return new Set(list.split(', ').filter(f => workerExecArgv.includes(f)))
}

export class HashPool {
  readonly #pool: Piscina
  readonly threads: number
  // A worker that fails outside any task (e.g. its module does not load) is reported by piscina
  // as an 'error' event, and tasks waiting for it might never settle: the event fails every
  // pending task. (Not Promise.race with one long-lived pending promise: each race would leave a
  // reaction on it holding that task's result, and every batch's digests would stay in memory.)
  readonly #pending = new Set<(err: unknown) => void>()
  #error: { error: unknown } | undefined
  #postSeconds = 0

  constructor (options: HashPoolOptions) {
    this.threads = options.threads
    this.#pool = startPool({
      filename: options.filename ?? kWorker,
      workerData: options.workerOptions,
      minThreads: options.threads,
      maxThreads: options.threads,
      concurrentTasksPerWorker: 1,
      resourceLimits: { maxYoungGenerationSizeMb: kWorkerYoungGenerationMb },
      // The caller keeps its own bounded window; this bound only turns a caller bug into an error.
      maxQueue: options.threads * 8,
      idleTimeout: 60_000
    })
    this.#pool.on('error', (error: unknown) => {
      this.#error ??= { error }
      for (const reject of this.#pending) reject(error)
      this.#pending.clear()
    })
  }

  /** A pool task that also fails if the pool reports an error while it waits. */
  async #run<T> (task: BatchTask | SortTask, transferList: ArrayBuffer[]): Promise<T> {
    if (this.#error !== undefined) throw this.#error.error
    return await new Promise<T>((resolve, reject) => {
      this.#pending.add(reject)
      const done = (): void => { this.#pending.delete(reject) }
      const t0 = performance.now()
      const result = this.#pool.run(task, { transferList }) as Promise<T>
      this.#postSeconds += (performance.now() - t0) / 1000
      result.then(r => { done(); resolve(r) }, (err: unknown) => { done(); reject(err) })
    })
  }

  /** Runs one batch. task.buffer is transferred: it is detached in the caller afterwards. */
  async run (task: BatchTask): Promise<BatchResult> {
    try {
      return await this.#run<BatchResult>(task, task.spare !== undefined ? [task.buffer, task.spare] : [task.buffer])
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err)
      throw new WorkerError(`hash worker failed on batch ${task.seq} (input #${task.input + 1}, from byte ${task.firstByte}): ${why}; this is a bug or the machine ran out of memory — rerun with --threads 1 and report it if it repeats`, task.seq, { cause: err })
    }
  }

  /**
   * Sorts and dedupes packed digests on a worker. records must start its ArrayBuffer, which is
   * transferred and comes back as the result's records.buffer (see Sorter in digest-store.ts);
   * rows.into, if given, is transferred too and holds the rows when big enough.
   */
  async sortUnique (records: Uint8Array, count: number, keyOffset: number, rows?: SortRows): Promise<{ records: Uint8Array, count: number, rows?: Uint8Array }> {
    const task: SortTask = { kind: 'sort', buffer: records.buffer as ArrayBuffer, count, keyOffset }
    if (rows !== undefined) task.rows = { format: rows.format, schema: rows.schema }
    if (rows?.into !== undefined) task.into = rows.into
    try {
      const r = await this.#run<SortResult>(task, task.into !== undefined ? [task.buffer, task.into] : [task.buffer])
      const sorted = new Uint8Array(r.buffer, 0, r.count * 32)
      return r.rows !== undefined ? { records: sorted, count: r.count, rows: new Uint8Array(r.rows, 0, r.rowsLength) } : { records: sorted, count: r.count }
    } catch (err) {
      throw new WorkerError(`hash worker failed sorting ${count} digests for dedupe: ${err instanceof Error ? err.message : String(err)}; rerun with --threads 1 and report it if it repeats`, -1, { cause: err })
    }
  }

  /**
   * Main-thread seconds spent handing tasks to piscina (structured clone of the task; its
   * ArrayBuffers move, not copy): the "transfer" stage of the summary.
   */
  get postSeconds (): number { return this.#postSeconds }

  get utilization (): number { return this.#pool.utilization }
  get queueSize (): number { return this.#pool.queueSize }

  async destroy (): Promise<void> {
    await this.#pool.destroy()
  }
}
