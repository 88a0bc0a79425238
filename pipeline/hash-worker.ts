// Hash worker entry: one synchronous call per batch. Its import graph stays tiny (protocol,
// normalizers, node:) because every pool thread loads it.
//
// The result goes back with its ArrayBuffers (digests, schemas or partition ends, and the input
// buffer for reuse) transferred, not copied: piscina moves any object that implements its two
// Symbol.for() transferable keys and is wrapped by move().
import { workerData } from 'node:worker_threads'
import { move } from 'piscina'
import { BatchProcessor } from './batch-processor.js'
import { sortUniqueInto } from './sort-unique.js'
import { formatDigests } from './digest-format.js'
import type { BatchResult, BatchTask, SortResult, SortTask, WorkerOptions } from './protocol.js'

const kTransferable = Symbol.for('Piscina.transferable')
const kValue = Symbol.for('Piscina.valueOf')

class TransferableResult {
  readonly #result: BatchResult
  constructor (result: BatchResult) { this.#result = result }
  get [kTransferable] (): ArrayBuffer[] {
    const r = this.#result
    return r.partitions !== undefined ? [r.digests, r.partitions, r.buffer] : [r.digests, r.schemas, r.buffer]
  }

  get [kValue] (): BatchResult { return this.#result }
}

// The run's options come once, with the thread (the pool's workerData), never with a task: the
// processor (and its phone metadata) is built once per thread, at its first batch.
let processor: BatchProcessor | undefined

function batchProcessor (): BatchProcessor {
  if (processor === undefined) {
    if (workerData === null || typeof workerData !== 'object') {
      throw new Error('hash worker started without its WorkerOptions (workerData); create the pool with new HashPool({ threads, workerOptions })')
    }
    processor = new BatchProcessor(workerData as WorkerOptions)
  }
  return processor
}

// Sorted digests land in one buffer reused for every partition (no fresh allocation per sort),
// then go back into the task's own buffer, or only into rows when rows are wanted. Both buffers
// travel back to the main thread, which hands them out again: nothing is allocated per sort.
let scratch = new Uint8Array(0)

function sortPartition (task: SortTask): unknown {
  const records = new Uint8Array(task.buffer, 0, task.count * 32)
  if (scratch.length < task.count * 32) scratch = new Uint8Array(Math.ceil(task.count * 1.25) * 32)
  const count = sortUniqueInto(records, task.count, task.keyOffset, scratch)
  let result: SortResult
  if (task.rows !== undefined) {
    // Formatted here, in parallel, so the main thread only writes the output.
    const rows = formatDigests(task.rows.format, scratch, count, task.rows.schema, undefined, task.into)
    result = { buffer: task.buffer, count, rows: rows.buffer as ArrayBuffer, rowsLength: rows.length }
  } else {
    records.set(scratch.subarray(0, count * 32))
    result = { buffer: task.buffer, count }
  }
  return move(new TransferableSort(result) as unknown as ArrayBuffer)
}

class TransferableSort {
  readonly #result: SortResult
  constructor (result: SortResult) { this.#result = result }
  get [kTransferable] (): ArrayBuffer[] { return this.#result.rows !== undefined ? [this.#result.buffer, this.#result.rows] : [this.#result.buffer] }
  get [kValue] (): SortResult { return this.#result }
}

/** Batches are hashed; partitions of digests are sorted (dedupe runs its sorts on the pool too). */
export default function handle (task: BatchTask | SortTask): unknown {
  if (task.kind === 'sort') return sortPartition(task)
  return move(new TransferableResult(batchProcessor().run(task)) as unknown as ArrayBuffer)
}
