// Opens one input (a path or '-' for stdin) as a stream of decompressed chunks. Gzip is detected
// by its magic bytes, not the extension, and decompressed as a stream (concatenated members
// included). A truncated or corrupt gzip stream fails with the compressed byte offset reached:
// nothing decoded from a damaged stream is passed off as a complete input.
import { open, stat, type FileHandle } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'
import { Readable } from 'node:stream'
import { InputError } from '../pipeline/errors.js'

export interface InputSource {
  /** As given on the command line ('-' for stdin). */
  name: string
  /** Bytes on disk, when known (progress is reported against it). */
  size: number | undefined
  gzip: boolean
  /** Decompressed bytes. */
  chunks: AsyncIterable<Buffer>
  /** Raw (possibly compressed) bytes read so far. */
  bytesRead: () => number
  /**
   * Hands a chunk back once its bytes are no longer needed (copied elsewhere), so a later read
   * fills it instead of a new buffer. Chunks not read into this source's own buffers (gzip
   * output, stdin) are ignored.
   */
  recycle: (chunk: Buffer) => void
}

const kHighWaterMark = 1 << 20

/** Fails before any work starts when a path is missing, a directory or unreadable. */
export async function checkReadable (name: string): Promise<void> {
  if (name === '-') return
  try {
    const st = await stat(name)
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
    const fh = await open(name, 'r')
    await fh.close()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    const hint = code === 'ENOENT' ? 'check the path' : code === 'EACCES' ? 'check the file permissions' : code === 'EISDIR' ? 'name the files inside it' : 'check the path'
    throw new InputError('HP_ERR_INPUT_UNREADABLE', `cannot read input '${name}': ${code}; ${hint}`, { file: name }, { cause: err })
  }
}

export async function openInput (name: string, stdin: Readable): Promise<InputSource> {
  let size: number | undefined
  let iterator: AsyncIterator<Buffer>
  const reader = new ChunkReader()
  if (name === '-') {
    iterator = stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  } else {
    await checkReadable(name)
    size = (await stat(name)).size
    iterator = reader.chunks(await open(name, 'r'))
  }
  let bytesRead = 0
  const first = await iterator.next()
  const head: Buffer | undefined = first.done === true ? undefined : first.value
  const gzip = head !== undefined && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
  async function * rawChunks (): AsyncGenerator<Buffer> {
    if (head === undefined) return
    bytesRead += head.length
    yield head
    for (let r = await iterator.next(); r.done !== true; r = await iterator.next()) {
      bytesRead += r.value.length
      yield r.value
    }
  }
  const chunks = gzip ? gunzip(name, Readable.from(rawChunks(), { objectMode: false }), () => bytesRead) : rawChunks()
  return { name, size, gzip, chunks, bytesRead: () => bytesRead, recycle: gzip ? () => {} : chunk => { reader.recycle(chunk) } }
}

/**
 * A file read in chunks of kHighWaterMark, one read ahead, into buffers handed back through
 * recycle() when the consumer has copied them. A 1 GiB input otherwise allocates 1 GiB of fresh
 * buffers on the main thread: page faults, and full GCs that V8 starts for external memory.
 */
class ChunkReader {
  readonly #own = new WeakSet<ArrayBufferLike>()
  readonly #free: Buffer[] = []

  async * chunks (fh: FileHandle): AsyncGenerator<Buffer> {
    let ahead = this.#read(fh)
    try {
      for (;;) {
        const { buffer, bytesRead } = await ahead
        if (bytesRead === 0) return
        ahead = this.#read(fh)
        yield buffer.subarray(0, bytesRead)
      }
    } finally {
      await ahead.catch(() => {})
      await fh.close()
    }
  }

  recycle (chunk: Buffer): void {
    if (this.#own.has(chunk.buffer) && this.#free.length < 4) this.#free.push(Buffer.from(chunk.buffer))
  }

  /** Marked handled at once: a consumer that stops early may never await the read ahead. */
  #read (fh: FileHandle): Promise<{ buffer: Buffer, bytesRead: number }> {
    const read = this.#readInto(fh)
    read.catch(() => {})
    return read
  }

  async #readInto (fh: FileHandle): Promise<{ buffer: Buffer, bytesRead: number }> {
    let buffer = this.#free.pop()
    if (buffer === undefined) {
      buffer = Buffer.allocUnsafeSlow(kHighWaterMark)
      this.#own.add(buffer.buffer)
    }
    const { bytesRead } = await fh.read(buffer, 0, buffer.length, null)
    return { buffer, bytesRead }
  }
}

async function * gunzip (name: string, compressed: Readable, bytesRead: () => number): AsyncGenerator<Buffer> {
  const gunzipStream = createGunzip({ chunkSize: kHighWaterMark })
  compressed.on('error', err => gunzipStream.destroy(err))
  compressed.pipe(gunzipStream)
  let out = 0
  try {
    for await (const chunk of gunzipStream) {
      out += (chunk as Buffer).length
      yield chunk as Buffer
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'Z_BUF_ERROR' || e.code === 'Z_DATA_ERROR' || e.code === 'Z_STREAM_ERROR') {
      const what = e.code === 'Z_BUF_ERROR' ? 'is truncated' : `is corrupt (${e.message})`
      throw new InputError('HP_ERR_INPUT_CORRUPT_GZIP',
        `gzip input '${name}' ${what} at compressed byte ${bytesRead()} (after ${out} decompressed bytes); the run was stopped and nothing from this file was kept — re-copy or re-export the file`,
        { file: name, byteOffset: bytesRead() }, { cause: err })
    }
    throw err
  }
}
