// Turns one batch of whole records into packed digests, counts and reject records. Runs inside
// a hash worker (hash-worker.ts is the thin entry); plain synchronous code, no I/O.
//
// The steps, each in its own module:
//   1. records → cells → normalized values, into a BatchOutput (batch-output.ts), by one of two
//      record loops with the same results and line numbers: the native scanner
//      (native-scan-pass.ts) for a clean (valid UTF-8, NUL-free) CSV/TSV/lines batch, else the
//      JavaScript loop (record-loop.ts), which also takes batches with bad bytes record by record;
//   2. the staged values hashed in one call (digest-staging.ts: the addon's hashMany, or
//      hashManyJs when the native core is inactive);
//   3. with task.partition, the digests grouped by dedupe partition (partition.ts), else the
//      holes deferred cells left closed.
//
// Output invariant: digest i (32 bytes at i * 32) belongs to schemas[i], in input order.
import { performance } from 'node:perf_hooks'
import { isAscii, isUtf8 } from 'node:buffer'
import type { BatchResult, BatchTask, IdType, WorkerOptions } from './protocol.js'
import { createNormalizers, type Normalizer } from './normalize.js'
import { hashManyJs, nativeHashMany } from './native-hash.js'
import { nativeScanBatch, scanConfig } from './native-scan.js'
import { BatchOutput } from './batch-output.js'
import { fieldSlots } from './field-slots.js'
import { NativeScanPass } from './native-scan-pass.js'
import { RecordLoop } from './record-loop.js'
import { groupByPartition, nativePartitionDigests, partitionDigestsJs, type PartitionDigests } from './partition.js'

/** Which native steps to use where the native core offers them (all by default); tests turn each off to compare. */
export interface BatchEngine { scan?: boolean, hash?: boolean, partition?: boolean }

export class BatchProcessor {
  readonly #options: WorkerOptions
  readonly #normalizers: Readonly<Record<IdType, Normalizer>>
  readonly #out: BatchOutput
  readonly #loop: RecordLoop
  readonly #scan: NativeScanPass | undefined
  readonly #partition: PartitionDigests

  /**
   * `engine.scan: false` runs the JavaScript record loop where the native scanner would,
   * `hash: false` hashes with hashManyJs, `partition: false` groups in JavaScript. With all three
   * off, a batch takes exactly the path it takes when the native core is inactive.
   */
  constructor (options: WorkerOptions, engine: BatchEngine = {}) {
    this.#options = options
    this.#normalizers = createNormalizers(options)
    this.#out = new BatchOutput(options.includeValues, engine.hash !== false && nativeHashMany !== undefined ? nativeHashMany : hashManyJs)
    this.#loop = new RecordLoop(options.maxRecordBytes)
    this.#scan = engine.scan !== false && nativeScanBatch !== undefined ? new NativeScanPass(nativeScanBatch, options.includeValues) : undefined
    this.#partition = engine.partition !== false && nativePartitionDigests !== undefined ? nativePartitionDigests : partitionDigestsJs
  }

  run (task: BatchTask): BatchResult {
    const started = performance.now()
    const bytes = Buffer.from(task.buffer, 0, task.byteLength)
    const out = this.#out
    out.reset(task)
    const slots = fieldSlots(task.plan, this.#normalizers)
    const config = this.#scan !== undefined ? scanConfig(task.plan, slots, this.#options) : undefined
    const clean = bytes.indexOf(0) === -1
    const ascii = clean && isAscii(bytes)
    let lines: number
    if (clean && (ascii || isUtf8(bytes))) {
      lines = config !== undefined
        ? this.#scan!.run(bytes, ascii, config, slots, out)
        : this.#loop.text(bytes.toString(ascii ? 'latin1' : 'utf8'), ascii, 0, 0, task.plan, slots, out)
    } else {
      lines = this.#loop.dirty(bytes, task.plan, slots, out)
    }
    const parsed = performance.now()
    out.hashStaged()
    let partitions: Uint32Array | undefined
    // Without partitions the result carries out.digests itself; with them, a grouped copy.
    let digests: Buffer = out.digests
    let count: number
    if (task.partition === true) {
      ({ ends: partitions, grouped: digests, count } = groupByPartition(out.digests, out.schemas, out.count, task.spare, this.#partition))
    } else {
      out.closeHoles()
      count = out.count
    }
    const hashed = performance.now()
    return {
      parseSeconds: (parsed - started) / 1000,
      hashSeconds: (hashed - parsed) / 1000,
      seq: task.seq,
      input: task.input,
      rows: out.rows,
      lines,
      count,
      digests: digests.buffer as ArrayBuffer,
      schemas: partitions !== undefined ? new ArrayBuffer(0) : out.schemas.buffer as ArrayBuffer,
      seen: out.seen,
      valid: out.valid,
      empty: out.empty,
      rejected: out.rejected,
      rejects: out.rejects,
      ...(partitions !== undefined ? { partitions: partitions.buffer as ArrayBuffer } : {}),
      buffer: task.buffer
    }
  }
}
