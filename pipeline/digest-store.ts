// Exact dedupe in bounded memory. Digests are bucketed by (id schema, first digest byte): 4 × 256
// partitions. They are held in memory until the budget is reached; then every partition is
// sorted, deduplicated and appended to a spill file as one sorted run, and memory is released.
// At the end each partition (its memory part plus its run from every spill) is loaded alone,
// sorted and deduplicated again, and emitted in ascending digest order.
//
// Nothing approximate takes part: a digest is dropped only when all 32 bytes equal another's.
// Peak memory is the budget plus one partition at finalize (1/256 of a schema's data), so a
// billion identifiers (32 GB of digests) finalize 125 MB at a time.
import { closeSync, openSync, readSync, rmSync, mkdtempSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DIGEST_BYTES, ID_SCHEMAS } from './protocol.js'
import { sortUnique } from './sort-unique.js'
import { HashpipeError } from '../engine/errors.js'

const kPrefixes = 256
const kWords = DIGEST_BYTES / 4
const kFirstChunkRecords = 512
const kMaxChunkRecords = 8192

interface Spill { path: string, fd: number, runs: Array<{ offset: number, count: number }> }

export interface DigestStoreOptions {
  memoryBudgetBytes: number
  /** Parent directory for the spill directory (created on first spill, removed by close()). */
  tmpDir: string
}

export interface UniqueRun { schema: number, digests: Uint8Array, count: number }

export class DigestStore {
  readonly #budget: number
  readonly #tmpParent: string
  #tmpDir: string | undefined
  // Per partition: full chunks, the chunk being filled, and its fill in records.
  readonly #full: Uint32Array[][] = []
  readonly #current: Array<Uint32Array | undefined> = []
  readonly #fill = new Int32Array(ID_SCHEMAS.length * kPrefixes)
  readonly #counts = new Float64Array(ID_SCHEMAS.length * kPrefixes)
  readonly #spills: Spill[] = []
  #memoryBytes = 0
  #added = 0
  #spilledBytes = 0

  constructor (options: DigestStoreOptions) {
    this.#budget = options.memoryBudgetBytes
    this.#tmpParent = options.tmpDir
    for (let p = 0; p < ID_SCHEMAS.length * kPrefixes; p++) { this.#full.push([]); this.#current.push(undefined) }
  }

  get added (): number { return this.#added }
  get memoryBytes (): number { return this.#memoryBytes }
  get spilledBytes (): number { return this.#spilledBytes }
  get spills (): number { return this.#spills.length }

  /** Adds `count` packed digests; digest i has id schema schemas[i]. */
  add (digests: Uint8Array, schemas: Uint8Array, count: number): void {
    // Word copies instead of subarray().set(): no allocation per digest on the main thread.
    const words = new Uint32Array(digests.buffer, digests.byteOffset, count * kWords)
    for (let i = 0; i < count; i++) {
      const p = schemas[i]! * kPrefixes + digests[i * DIGEST_BYTES]!
      let chunk = this.#current[p]
      let fill = this.#fill[p]!
      if (chunk === undefined || fill * kWords === chunk.length) {
        chunk = this.#newChunk(p, chunk)
        fill = 0
      }
      const src = i * kWords
      const dst = fill * kWords
      for (let w = 0; w < kWords; w++) chunk[dst + w] = words[src + w]!
      this.#fill[p] = fill + 1
    }
    this.#added += count
    if (this.#memoryBytes > this.#budget) this.spill()
  }

  #newChunk (p: number, previous: Uint32Array | undefined): Uint32Array {
    if (previous !== undefined) this.#full[p]!.push(previous)
    const records = previous === undefined ? kFirstChunkRecords : Math.min(kMaxChunkRecords, (previous.length / kWords) * 2)
    const chunk = new Uint32Array(records * kWords)
    this.#current[p] = chunk
    this.#memoryBytes += chunk.byteLength
    return chunk
  }

  /** Packs a partition's in-memory records into one buffer and releases its chunks. */
  #take (p: number): { records: Uint8Array, count: number } {
    const fill = this.#fill[p]!
    const full = this.#full[p]!
    const count = full.reduce((n, c) => n + c.length / kWords, 0) + fill
    const records = new Uint8Array(count * DIGEST_BYTES)
    let at = 0
    for (const c of full) { records.set(new Uint8Array(c.buffer), at); at += c.byteLength }
    const current = this.#current[p]
    if (current !== undefined) records.set(new Uint8Array(current.buffer, 0, fill * DIGEST_BYTES), at)
    for (const c of full) this.#memoryBytes -= c.byteLength
    if (current !== undefined) this.#memoryBytes -= current.byteLength
    this.#full[p] = []
    this.#current[p] = undefined
    this.#fill[p] = 0
    return { records, count }
  }

  /** Writes every partition as a sorted, deduplicated run to a new spill file. */
  spill (): void {
    if (this.#tmpDir === undefined) this.#tmpDir = mkdtempSync(join(this.#tmpParent, 'hashpipe-spill-'))
    const path = join(this.#tmpDir, `spill-${this.#spills.length}.bin`)
    const spill: Spill = { path, fd: -1, runs: [] }
    let offset = 0
    try {
      spill.fd = openSync(path, 'w+', 0o600)
      for (let p = 0; p < this.#fill.length; p++) {
        const { records, count } = this.#take(p)
        const unique = sortUnique(records, count, 1)
        spill.runs.push({ offset, count: unique.count })
        let written = 0
        while (written < unique.records.byteLength) {
          written += writeSync(spill.fd, unique.records, written, unique.records.byteLength - written, offset + written)
        }
        offset += unique.records.byteLength
      }
    } catch (err) {
      throw new HashpipeError('HP_ERR_SPILL_IO', `cannot write dedupe spill file ${path}: ${(err as Error).message}; free disk space there or point --tmp-dir at a larger disk`, undefined, { cause: err })
    }
    this.#spilledBytes += offset
    this.#spills.push(spill)
  }

  /** Every distinct digest, by schema, then partition, in ascending byte order. */
  * unique (): Generator<UniqueRun> {
    for (let s = 0; s < ID_SCHEMAS.length; s++) {
      for (let prefix = 0; prefix < kPrefixes; prefix++) {
        const p = s * kPrefixes + prefix
        const mem = this.#take(p)
        const spilled = this.#spills.reduce((n, sp) => n + sp.runs[p]!.count, 0)
        if (mem.count + spilled === 0) continue
        let records = mem.records
        if (spilled > 0) {
          records = new Uint8Array((mem.count + spilled) * DIGEST_BYTES)
          records.set(mem.records)
          let at = mem.records.byteLength
          for (const sp of this.#spills) {
            const run = sp.runs[p]!
            const bytes = run.count * DIGEST_BYTES
            let read = 0
            while (read < bytes) {
              const r = readSync(sp.fd, records, at + read, bytes - read, run.offset + read)
              if (r === 0) throw new HashpipeError('HP_ERR_SPILL_IO', `dedupe spill file ${sp.path} is shorter than written; was it truncated? rerun the job`)
              read += r
            }
            at += bytes
          }
        }
        const unique = sortUnique(records, mem.count + spilled, 1)
        if (unique.count > 0) yield { schema: s, digests: unique.records, count: unique.count }
      }
    }
  }

  /** Removes spill files. Safe to call more than once. */
  close (): void {
    for (const sp of this.#spills) {
      try { closeSync(sp.fd) } catch {}
    }
    this.#spills.length = 0
    if (this.#tmpDir !== undefined) rmSync(this.#tmpDir, { recursive: true, force: true })
    this.#tmpDir = undefined
  }
}
