// Opens one input (a path or '-' for stdin) as a stream of decompressed chunks. Gzip is detected
// by its magic bytes, not the extension, and decompressed as a stream (concatenated members
// included). A truncated or corrupt gzip stream fails with the compressed byte offset reached:
// nothing decoded from a damaged stream is passed off as a complete input.
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'
import { Readable } from 'node:stream'
import { InputError } from '../engine/errors.js'

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
  let raw: Readable
  if (name === '-') {
    raw = stdin
  } else {
    await checkReadable(name)
    size = (await stat(name)).size
    raw = createReadStream(name, { highWaterMark: kHighWaterMark })
  }
  let bytesRead = 0
  const iterator = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>
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
  return { name, size, gzip, chunks, bytesRead: () => bytesRead }
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
