// A snapshot is one segment's identifier set at one point: per id schema, the sorted, distinct
// 32-byte digests in one file, plus a manifest with counts, checksums and, per file, the record
// index where each first digest byte begins (the prefix partitions, so a reader can seek to a
// partition without scanning).
//
// Checksums are per chunk (version 2): each file is cut into chunks of `chunkRecords` digests and
// the manifest holds each chunk's SHA-256. A reader verifies a chunk before it yields any of it,
// so nothing read from a snapshot or plan is ever unchecked, and it costs no second read. (A
// single whole-file checksum, version 1, can only be compared at the end: every chunk before the
// last was released unchecked, and a delivery sent a flipped digest before the refusal came.)
// Version 1 manifests still read: their files are verified whole before the first chunk is
// yielded, at the cost of reading them twice.
//
// Writing is atomic: files go to `<dir>.tmp-<pid>`, are fsynced, the manifest is written last,
// and the directory is renamed into place. A directory without a valid manifest is not a
// snapshot; a chunk whose checksum does not match its manifest is corrupt and is refused.
// Refusals say what and where; the caller, who knows what the snapshot is for, says what to do.
import { createHash, type Hash } from 'node:crypto'
import { open, mkdir, rename, rm, readFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { DIGEST_BYTES, ID_SCHEMAS, type IdSchema } from '../pipeline/protocol.js'
import { HashpipeError } from '../pipeline/errors.js'
import { asDiskFull } from '../pipeline/disk-full.js'

const kVersion = 2
const kVersions = [1, 2]
/** 1 MiB of digests: the unit of reading and of checking. 100 M digests make ~3,000 checksums. */
export const SNAPSHOT_CHUNK_RECORDS = 32768

export interface SnapshotFileInfo {
  count: number
  /** Version 1: SHA-256 of the whole file. Version 2: SHA-256 of the chunk checksums, in order. */
  sha256: string
  prefixIndex: number[]
  /** Version 2: digests per chunk (the last chunk may be shorter) and each chunk's SHA-256. */
  chunkRecords?: number
  chunkSha256?: string[]
}
export interface SnapshotManifest { version: number, createdAt: string, files: Partial<Record<IdSchema, SnapshotFileInfo>> }

/** A snapshot that is missing, torn or fails a checksum; `dir` says which one, `file` which file if known. */
export class SnapshotCorruptError extends HashpipeError {
  readonly dir: string
  readonly file: string | undefined
  constructor (dir: string, file: string | undefined, message: string, cause?: unknown) {
    super('HP_ERR_SNAPSHOT_CORRUPT', message, undefined, cause === undefined ? {} : { cause })
    this.dir = dir
    this.file = file
  }
}

interface OpenFile { fh: FileHandle, chunk: Hash, inChunk: number, chunks: string[], count: number, prefixIndex: number[], last: Buffer | undefined }

export class SnapshotWriter {
  readonly dir: string
  readonly #tmp: string
  readonly #chunkRecords: number
  readonly #files = new Map<IdSchema, OpenFile>()
  #committed = false

  private constructor (dir: string, chunkRecords: number) {
    this.dir = dir
    this.#tmp = `${dir}.tmp-${process.pid}`
    this.#chunkRecords = chunkRecords
  }

  static async create (dir: string, options: { chunkRecords?: number } = {}): Promise<SnapshotWriter> {
    const w = new SnapshotWriter(dir, options.chunkRecords ?? SNAPSHOT_CHUNK_RECORDS)
    await rm(w.#tmp, { recursive: true, force: true })
    await mkdir(w.#tmp, { recursive: true, mode: 0o700 }).catch((err: unknown) => { throw w.#diskFull(err) })
    return w
  }

  /** Appends digests of one schema; across calls they must stay in ascending order and distinct. */
  async write (schema: number, digests: Uint8Array, count: number): Promise<void> {
    try { await this.#write(schema, digests, count) } catch (err) { throw this.#diskFull(err) }
  }

  async commit (): Promise<SnapshotManifest> {
    try { return await this.#commit() } catch (err) { throw this.#diskFull(err) }
  }

  #diskFull (err: unknown): unknown {
    return asDiskFull(err, { path: this.dir, doing: `cannot write snapshot ${this.dir}`, elsewhere: 'move state_dir to a larger disk' })
  }

  async #write (schema: number, digests: Uint8Array, count: number): Promise<void> {
    const name = ID_SCHEMAS[schema]!
    let f = this.#files.get(name)
    if (f === undefined) {
      f = { fh: await open(join(this.#tmp, `${name}.bin`), 'w', 0o600), chunk: createHash('sha256'), inChunk: 0, chunks: [], count: 0, prefixIndex: new Array(257).fill(-1), last: undefined }
      this.#files.set(name, f)
    }
    const bytes = Buffer.from(digests.buffer, digests.byteOffset, count * DIGEST_BYTES)
    // Order is what makes diffs streamable: check it at the boundary between calls.
    if (f.last !== undefined && count > 0 && Buffer.compare(f.last, bytes.subarray(0, DIGEST_BYTES)) >= 0) {
      throw new HashpipeError('HP_ERR_STATE_INVALID', `snapshot ${this.dir}: ${name} digests written out of order (a bug; please report it)`)
    }
    for (let i = 0; i < count; i++) {
      const prefix = bytes[i * DIGEST_BYTES]!
      if (f.prefixIndex[prefix] === -1) f.prefixIndex[prefix] = f.count + i
    }
    for (let at = 0; at < count;) {
      const take = Math.min(this.#chunkRecords - f.inChunk, count - at)
      f.chunk.update(bytes.subarray(at * DIGEST_BYTES, (at + take) * DIGEST_BYTES))
      f.inChunk += take
      at += take
      if (f.inChunk === this.#chunkRecords) {
        f.chunks.push(f.chunk.digest('hex'))
        f.chunk = createHash('sha256')
        f.inChunk = 0
      }
    }
    await f.fh.write(bytes)
    f.count += count
    if (count > 0) f.last = Buffer.from(bytes.subarray((count - 1) * DIGEST_BYTES, count * DIGEST_BYTES))
  }

  async #commit (): Promise<SnapshotManifest> {
    const files: SnapshotManifest['files'] = {}
    for (const [name, f] of this.#files) {
      await f.fh.sync()
      await f.fh.close()
      if (f.inChunk > 0) f.chunks.push(f.chunk.digest('hex'))
      // Partitions with no digest start where the next one does.
      f.prefixIndex[256] = f.count
      for (let p = 255; p >= 0; p--) if (f.prefixIndex[p] === -1) f.prefixIndex[p] = f.prefixIndex[p + 1]!
      files[name] = { count: f.count, sha256: chunkRoot(f.chunks), prefixIndex: f.prefixIndex, chunkRecords: this.#chunkRecords, chunkSha256: f.chunks }
    }
    const manifest: SnapshotManifest = { version: kVersion, createdAt: new Date().toISOString(), files }
    const mh = await open(join(this.#tmp, 'manifest.json'), 'w', 0o600)
    await mh.write(JSON.stringify(manifest))
    await mh.sync()
    await mh.close()
    await rm(this.dir, { recursive: true, force: true })
    await rename(this.#tmp, this.dir)
    await fsyncDir(join(this.dir, '..'))
    this.#committed = true
    return manifest
  }

  async abort (): Promise<void> {
    if (this.#committed) return
    for (const f of this.#files.values()) await f.fh.close().catch(() => {})
    await rm(this.#tmp, { recursive: true, force: true })
  }
}

const chunkRoot = (chunks: string[]): string => createHash('sha256').update(chunks.join('')).digest('hex')

async function fsyncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try { await fh.sync() } finally { await fh.close() }
}

export class Snapshot {
  readonly dir: string
  readonly manifest: SnapshotManifest

  private constructor (dir: string, manifest: SnapshotManifest) {
    this.dir = dir
    this.manifest = manifest
  }

  /** Opens a committed snapshot; refuses a missing or unreadable manifest, or one of an unknown version. */
  static async open (dir: string): Promise<Snapshot> {
    let manifest: SnapshotManifest
    try {
      manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as SnapshotManifest
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
      throw new SnapshotCorruptError(dir, undefined, `snapshot ${dir} has ${missing ? 'no manifest (it is missing or incomplete)' : 'an unreadable manifest'}`, err)
    }
    if (!kVersions.includes(manifest.version)) throw new SnapshotCorruptError(dir, undefined, `snapshot ${dir} has format version ${manifest.version}; this hashpipe reads versions ${kVersions.join(' and ')}`)
    for (const [schema, info] of Object.entries(manifest.files)) {
      if (manifest.version >= 2 && info !== undefined && info.count > 0) {
        const chunks = info.chunkSha256
        const ok = Array.isArray(chunks) && typeof info.chunkRecords === 'number' && info.chunkRecords > 0 &&
          chunks.length === Math.ceil(info.count / info.chunkRecords) && chunkRoot(chunks) === info.sha256
        if (!ok) throw new SnapshotCorruptError(dir, join(dir, `${schema}.bin`), `snapshot ${dir}: the manifest's chunk checksums for ${schema} are damaged`)
      }
    }
    return new Snapshot(dir, manifest)
  }

  count (schema: IdSchema): number {
    return this.manifest.files[schema]?.count ?? 0
  }

  /** Reads every file and checks every checksum without keeping anything: throws the first mismatch. */
  async verify (): Promise<void> {
    for (const schema of ID_SCHEMAS) {
      for await (const chunk of this.records(schema)) void chunk
    }
  }

  /**
   * The digests of one schema in ascending order, in chunks (multiples of 32 bytes). No chunk is
   * yielded before its checksum matched; size and length are checked too.
   */
  async * records (schema: IdSchema): AsyncGenerator<Uint8Array> {
    const info = this.manifest.files[schema]
    if (info === undefined || info.count === 0) return
    if (this.manifest.version === 1) {
      // One checksum for the whole file: it must match before any of the file is released.
      for await (const chunk of this.#read(schema, info, SNAPSHOT_CHUNK_RECORDS, undefined)) void chunk
      yield * this.#read(schema, info, SNAPSHOT_CHUNK_RECORDS, undefined)
      return
    }
    yield * this.#read(schema, info, info.chunkRecords!, info.chunkSha256!)
  }

  async * #read (schema: IdSchema, info: SnapshotFileInfo, chunkRecords: number, chunkSha256: string[] | undefined): AsyncGenerator<Uint8Array> {
    const path = join(this.dir, `${schema}.bin`)
    const whole = chunkSha256 === undefined ? createHash('sha256') : undefined
    let fh: FileHandle
    try {
      fh = await open(path, 'r')
    } catch (err) {
      throw new SnapshotCorruptError(this.dir, path, `snapshot file ${path} is missing`, err)
    }
    try {
      let remaining = info.count * DIGEST_BYTES
      let offset = 0
      for (let c = 0; remaining > 0; c++) {
        const want = Math.min(chunkRecords * DIGEST_BYTES, remaining)
        const buf = Buffer.allocUnsafeSlow(want)
        let got = 0
        while (got < want) {
          const { bytesRead } = await fh.read(buf, got, want - got, offset + got)
          if (bytesRead === 0) throw new SnapshotCorruptError(this.dir, path, `snapshot file ${path} is shorter than its manifest says (${offset + got} of ${info.count * DIGEST_BYTES} bytes; torn write?)`)
          got += bytesRead
        }
        if (chunkSha256 !== undefined && createHash('sha256').update(buf).digest('hex') !== chunkSha256[c]) {
          throw new SnapshotCorruptError(this.dir, path, `snapshot file ${path} does not match its checksum in bytes ${offset}..${offset + want} (chunk ${c + 1} of ${chunkSha256.length})`)
        }
        whole?.update(buf)
        remaining -= want
        offset += want
        if (remaining === 0 && whole !== undefined && whole.digest('hex') !== info.sha256) {
          throw new SnapshotCorruptError(this.dir, path, `snapshot file ${path} does not match its checksum`)
        }
        yield buf
      }
      const extra = await fh.read(Buffer.alloc(1), 0, 1, offset)
      if (extra.bytesRead !== 0) throw new SnapshotCorruptError(this.dir, path, `snapshot file ${path} is longer than its manifest says`)
    } finally {
      await fh.close()
    }
  }
}
