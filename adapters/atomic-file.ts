// Writes a file so that readers see either nothing or the whole thing: data goes to a temp file
// beside the target, is fsynced, and is renamed over the target on commit(). abort() removes the
// temp file, so a failed run never leaves a half-written output where a complete one is expected.
// `-` writes to the given stream instead, and a path that exists but is not a regular file
// (/dev/stderr, a FIFO) is written in place: renaming over it would replace the device.
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { HashpipeError } from '../engine/errors.js'

const kFlushBytes = 1 << 20

export class AtomicFileWriter {
  readonly path: string
  readonly #temp: string
  readonly #stream: Writable | undefined
  #fh: FileHandle | undefined
  #inPlace = false
  #pending: Buffer[] = []
  #pendingBytes = 0
  #bytes = 0

  private constructor (path: string, stream: Writable | undefined) {
    this.path = path
    this.#stream = stream
    this.#temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`)
  }

  static async create (path: string, stdout: Writable, mode = 0o644): Promise<AtomicFileWriter> {
    if (path === '-') return new AtomicFileWriter(path, stdout)
    const w = new AtomicFileWriter(path, undefined)
    const existing = await stat(path).catch(() => undefined)
    w.#inPlace = existing !== undefined && !existing.isFile()
    try {
      w.#fh = await open(w.#inPlace ? path : w.#temp, 'w', mode)
    } catch (err) {
      throw new HashpipeError('HP_ERR_OUTPUT_IO', `cannot create output '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check that its directory exists and is writable`, undefined, { cause: err })
    }
    return w
  }

  get bytes (): number { return this.#bytes }

  /** Buffers small writes into ~1 MiB blocks; awaits the disk (or the stream's drain) per block. */
  async write (data: Buffer | string): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data
    this.#pending.push(buf)
    this.#pendingBytes += buf.length
    if (this.#pendingBytes >= kFlushBytes) await this.#flush()
  }

  async #flush (): Promise<void> {
    if (this.#pendingBytes === 0) return
    const block = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes)
    this.#pending = []
    this.#bytes += this.#pendingBytes
    this.#pendingBytes = 0
    try {
      if (this.#stream !== undefined) {
        if (!this.#stream.write(block)) await once(this.#stream, 'drain')
      } else {
        await this.#fh!.write(block)
      }
    } catch (err) {
      throw new HashpipeError('HP_ERR_OUTPUT_IO', `cannot write output '${this.path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check free disk space`, undefined, { cause: err })
    }
  }

  async commit (): Promise<void> {
    await this.#flush()
    if (this.#fh === undefined) return
    if (!this.#inPlace) await this.#fh.sync()
    await this.#fh.close()
    this.#fh = undefined
    if (!this.#inPlace) await rename(this.#temp, this.path)
  }

  async abort (): Promise<void> {
    this.#pending = []
    if (this.#fh === undefined) return
    await this.#fh.close().catch(() => {})
    this.#fh = undefined
    if (!this.#inPlace) await rm(this.#temp, { force: true })
  }
}
