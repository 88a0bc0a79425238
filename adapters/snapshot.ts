// A snapshot is one segment's identifier set at one point: per id schema, the sorted, distinct
// 32-byte digests in one file, plus a manifest with counts, SHA-256 checksums and, per file,
// the record index where each first digest byte begins (the prefix partitions, so a reader can
// seek to a partition without scanning).
//
// Writing is atomic: files go to `<dir>.tmp-<pid>`, are fsynced, the manifest is written last,
// and the directory is renamed into place. A directory without a valid manifest is not a
// snapshot; a file whose checksum does not match its manifest is corrupt and is refused.
import { createHash, type Hash } from 'node:crypto'
import { open, mkdir, rename, rm, readFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { DIGEST_BYTES, ID_SCHEMAS, type IdSchema } from '../pipeline/protocol.js'
import { HashpipeError } from '../pipeline/errors.js'
import { asDiskFull } from '../pipeline/disk-full.js'

const kVersion = 1
const kReadBytes = DIGEST_BYTES * 32768

export interface SnapshotFileInfo { count: number, sha256: string, prefixIndex: number[] }
export interface SnapshotManifest { version: number, createdAt: string, files: Partial<Record<IdSchema, SnapshotFileInfo>> }

interface OpenFile { fh: FileHandle, hash: Hash, count: number, prefixIndex: number[], last: Buffer | undefined }

export class SnapshotWriter {
  readonly dir: string
  readonly #tmp: string
  readonly #files = new Map<IdSchema, OpenFile>()
  #committed = false

  private constructor (dir: string) {
    this.dir = dir
    this.#tmp = `${dir}.tmp-${process.pid}`
  }

  static async create (dir: string): Promise<SnapshotWriter> {
    const w = new SnapshotWriter(dir)
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
      f = { fh: await open(join(this.#tmp, `${name}.bin`), 'w', 0o600), hash: createHash('sha256'), count: 0, prefixIndex: new Array(257).fill(-1), last: undefined }
      this.#files.set(name, f)
    }
    const bytes = Buffer.from(digests.buffer, digests.byteOffset, count * DIGEST_BYTES)
    // Order is what makes diffs streamable: check it at the boundary between calls.
    if (f.last !== undefined && count > 0 && Buffer.compare(f.last, bytes.subarray(0, DIGEST_BYTES)) >= 0) {
      throw new HashpipeError('HP_ERR_STATE', `snapshot ${this.dir}: ${name} digests written out of order (a bug; please report it)`)
    }
    for (let i = 0; i < count; i++) {
      const prefix = bytes[i * DIGEST_BYTES]!
      if (f.prefixIndex[prefix] === -1) f.prefixIndex[prefix] = f.count + i
    }
    f.hash.update(bytes)
    await f.fh.write(bytes)
    f.count += count
    if (count > 0) f.last = Buffer.from(bytes.subarray((count - 1) * DIGEST_BYTES, count * DIGEST_BYTES))
  }

  async #commit (): Promise<SnapshotManifest> {
    const files: SnapshotManifest['files'] = {}
    for (const [name, f] of this.#files) {
      await f.fh.sync()
      await f.fh.close()
      // Partitions with no digest start where the next one does.
      f.prefixIndex[256] = f.count
      for (let p = 255; p >= 0; p--) if (f.prefixIndex[p] === -1) f.prefixIndex[p] = f.prefixIndex[p + 1]!
      files[name] = { count: f.count, sha256: f.hash.digest('hex'), prefixIndex: f.prefixIndex }
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

  /** Opens a committed snapshot; refuses a missing or unreadable manifest. */
  static async open (dir: string): Promise<Snapshot> {
    let manifest: SnapshotManifest
    try {
      manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as SnapshotManifest
    } catch (err) {
      throw new HashpipeError('HP_ERR_SNAPSHOT_CORRUPT', `snapshot ${dir} has no readable manifest; it is incomplete or damaged — rerun with --restart to rebuild it from the inputs`, undefined, { cause: err })
    }
    if (manifest.version !== kVersion) throw new HashpipeError('HP_ERR_SNAPSHOT_CORRUPT', `snapshot ${dir} has version ${manifest.version}, expected ${kVersion}`)
    return new Snapshot(dir, manifest)
  }

  count (schema: IdSchema): number {
    return this.manifest.files[schema]?.count ?? 0
  }

  /** The digests of one schema in ascending order, in chunks (multiples of 32 bytes); checks size and checksum as it reads. */
  async * records (schema: IdSchema): AsyncGenerator<Uint8Array> {
    const info = this.manifest.files[schema]
    if (info === undefined || info.count === 0) return
    const path = join(this.dir, `${schema}.bin`)
    const hash = createHash('sha256')
    let fh: FileHandle
    try {
      fh = await open(path, 'r')
    } catch (err) {
      throw new HashpipeError('HP_ERR_SNAPSHOT_CORRUPT', `snapshot file ${path} is missing; rerun with --restart`, undefined, { cause: err })
    }
    try {
      let remaining = info.count * DIGEST_BYTES
      while (remaining > 0) {
        const buf = Buffer.allocUnsafeSlow(Math.min(kReadBytes, remaining))
        const { bytesRead } = await fh.read(buf, 0, buf.length, null)
        if (bytesRead === 0) throw new HashpipeError('HP_ERR_SNAPSHOT_CORRUPT', `snapshot file ${path} is shorter than its manifest says (torn write?); refusing to use it — rerun with --restart`)
        remaining -= bytesRead
        const chunk = buf.subarray(0, bytesRead - (bytesRead % DIGEST_BYTES))
        if (chunk.length !== bytesRead) throw new HashpipeError('HP_ERR_SNAPSHOT_CORRUPT', `snapshot file ${path} ends mid-record; refusing to use it — rerun with --restart`)
        hash.update(chunk)
        // The checksum covers the whole file, so the last chunk is only released once it matches.
        if (remaining === 0 && hash.digest('hex') !== info.sha256) {
          throw new HashpipeError('HP_ERR_SNAPSHOT_CORRUPT', `snapshot file ${path} does not match its checksum; refusing to act on corrupt data — rerun with --restart`)
        }
        yield chunk
      }
      const extra = await fh.read(Buffer.alloc(1), 0, 1, null)
      if (extra.bytesRead !== 0) throw new HashpipeError('HP_ERR_SNAPSHOT_CORRUPT', `snapshot file ${path} is longer than its manifest says; refusing to use it — rerun with --restart`)
    } finally {
      await fh.close()
    }
  }
}
