// Opens one input (a path or '-' for stdin) as a stream of decompressed chunks. Gzip is detected
// by its magic bytes, not the extension, and decompressed as a stream (concatenated members
// included). A truncated or corrupt gzip stream fails with the compressed byte offset reached:
// nothing decoded from a damaged stream is passed off as a complete input.
//
// A regular file is read up to the size it had when it was opened: a file still being appended
// to gives the records that were there at start, not a moving target (and never a torn last
// record read while the writer was mid-line). A FIFO, character device or socket is opened once
// and read as a stream until its end: opening it twice (once to check, once to read) would
// connect a FIFO's writer to a reader that goes away, and the writer dies of SIGPIPE.
import { access, constants, open, stat, type FileHandle } from 'node:fs/promises'
import { closeSync, openSync, type Stats } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { Readable } from 'node:stream'
import { InputError } from '../pipeline/errors.js'
import { releaseBuffer } from '../pipeline/release-buffer.js'
import { ContentDigest } from './content-digest.js'

export interface InputSource {
  /** As given on the command line ('-' for stdin). */
  name: string
  /** Bytes on disk, when known (progress is reported against it); undefined for streams. */
  size: number | undefined
  /** False for stdin, FIFOs, devices and sockets: read once, they cannot be read again to resume. */
  regular: boolean
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
  /** With `digest`: the content digest of a regular file's bytes as stored, once all are read. */
  contentDigest?: () => Promise<string>
}

export interface OpenInputOptions {
  /** Take a content digest (adapters/content-digest.ts) of a regular file while it is read. */
  digest?: boolean
}

const kHighWaterMark = 1 << 20
const kEmpty = Buffer.alloc(0)

/** Fails before any work starts when a path is missing, a directory or unreadable. */
export async function checkReadable (name: string): Promise<Stats | undefined> {
  if (name === '-') return undefined
  try {
    const st = await stat(name)
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
    // access(), not open(): opening a FIFO here would take the writer's one connection.
    await access(name, constants.R_OK)
    return st
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    const hint = code === 'ENOENT' ? 'check the path' : code === 'EACCES' ? 'check the file permissions' : code === 'EISDIR' ? 'name the files inside it' : 'check the path'
    throw new InputError('HP_ERR_INPUT_UNREADABLE', `cannot read input '${name}': ${code}; ${hint}`, { file: name }, { cause: err })
  }
}

export async function openInput (name: string, stdin: Readable, options: OpenInputOptions = {}): Promise<InputSource> {
  let size: number | undefined
  let iterator: AsyncIterator<Buffer>
  const reader = new ChunkReader()
  let regular = false
  if (name === '-') {
    iterator = stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  } else {
    const st = (await checkReadable(name))!
    const fh = st.isFIFO() ? await openFifo(name) : await open(name, 'r')
    // The size at open, from the open descriptor: the file may have grown since the stat.
    regular = st.isFile()
    if (regular) size = (await fh.stat()).size
    iterator = reader.chunks(fh, size)
  }
  let bytesRead = 0
  const digest = options.digest === true && regular ? new ContentDigest() : undefined
  const first = await iterator.next()
  const head: Buffer | undefined = first.done === true ? undefined : first.value
  const gzip = head !== undefined && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
  async function * rawChunks (): AsyncGenerator<Buffer> {
    if (head === undefined) return
    bytesRead += head.length
    digest?.add(head)
    yield head
    for (let r = await iterator.next(); r.done !== true; r = await iterator.next()) {
      bytesRead += r.value.length
      digest?.add(r.value)
      yield r.value
    }
  }
  const chunks = gzip ? gunzip(name, Readable.from(rawChunks(), { objectMode: false }), () => bytesRead) : rawChunks()
  return {
    name,
    size,
    regular,
    gzip,
    chunks,
    bytesRead: () => bytesRead,
    recycle: gzip ? () => {} : chunk => { reader.recycle(chunk) },
    ...(digest !== undefined ? { contentDigest: async () => await digest.hex() } : {})
  }
}

/** The content digest of a regular file, as openInput takes it during a read (one read, raw bytes). */
export async function digestFile (path: string): Promise<string> {
  const fh = await open(path, 'r')
  const size = (await fh.stat()).size
  const digest = new ContentDigest()
  const reader = new ChunkReader()
  for await (const chunk of reader.chunks(fh, size)) {
    digest.add(chunk)
    reader.recycle(chunk)
  }
  return await digest.hex()
}

// Opening a FIFO blocks (on one of libuv's threads) until a writer opens the other end, and a
// process cannot exit while that thread is stuck: on the way out, such opens are released by
// opening the FIFO for writing (without blocking) and closing it at once, which reads as an
// empty input to the open that was waiting.
const pendingFifos = new Set<string>()
let releaseInstalled = false

async function openFifo (name: string): Promise<FileHandle> {
  if (!releaseInstalled) {
    releaseInstalled = true
    process.once('exit', () => {
      for (const path of pendingFifos) {
        try { closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK)) } catch {}
      }
    })
  }
  pendingFifos.add(name)
  try {
    return await open(name, 'r')
  } finally {
    pendingFifos.delete(name)
  }
}

/**
 * A file read in chunks of kHighWaterMark into buffers handed back through recycle() when the
 * consumer has copied them. A 1 GiB input otherwise allocates 1 GiB of fresh buffers on the main
 * thread: page faults, and full GCs that V8 starts for external memory.
 *
 * A regular file is read kReadsAhead chunks ahead, each read at its own position. Why: with one
 * read ahead, the 1 GiB bench's main thread waited 1.2–2.0 s for reads with 2 workers (0.3 s
 * with one; 0.6–0.8 s with four): each read is a hop to a libuv thread and back, and on a 2-core machine busy with
 * two workers both hops wait for a core. (One more read is in flight while the rest of a short
 * read is read.) A stream (stdin, a FIFO) has no positions: one read ahead, in order.
 */
export const kReadsAhead = 4

/** Exported for tests; openInput and digestFile are its users. */
export class ChunkReader {
  readonly #own = new WeakSet<ArrayBufferLike>()
  readonly #free: Buffer[] = []
  // Once chunks() has ended, buffers are freed (release-buffer.ts) instead of kept: a job reads
  // its inputs one after another and the reader of each stays reachable to the end, so over six
  // inputs their free buffers (up to kReadsAhead + 2 MiB each) had added 36 MiB to peak RSS.
  #ended = false

  /** Reads to the end of the stream, or only the first `limit` bytes (a regular file's size at open). */
  async * chunks (fh: Pick<FileHandle, 'read' | 'close'>, limit?: number): AsyncGenerator<Buffer> {
    const ahead: Array<{ read: Promise<{ buffer: Buffer, bytesRead: number }>, position: number, length: number }> = []
    try {
      if (limit === undefined) {
        // A stream: each read takes what comes next, so a short one needs nothing more.
        const read = (): void => { ahead.push({ read: this.#read(fh, kHighWaterMark, null), position: 0, length: 0 }) }
        read()
        for (;;) {
          const { buffer, bytesRead } = await ahead.shift()!.read
          if (bytesRead === 0) return
          read()
          yield buffer.subarray(0, bytesRead)
        }
      }
      let next = 0
      const queue = (): void => {
        while (ahead.length < kReadsAhead && next < limit) {
          const length = Math.min(kHighWaterMark, limit - next)
          ahead.push({ read: this.#read(fh, length, next), position: next, length })
          next += length
        }
      }
      queue()
      for (let span = ahead.shift(); span !== undefined; span = ahead.shift()) {
        let { position, length } = span
        let { buffer, bytesRead } = await span.read
        // A short read (the system may return fewer bytes than asked) has the rest of its span
        // read before the chunks queued after it, so nothing is skipped. 0 before the end: the
        // file shrank since it was opened, and nothing follows.
        for (;;) {
          if (bytesRead === 0) return
          queue()
          yield buffer.subarray(0, bytesRead)
          if (bytesRead === length) break
          position += bytesRead
          length -= bytesRead
          ;({ buffer, bytesRead } = await this.#read(fh, length, position))
        }
      }
    } finally {
      for (const { read } of ahead) await read.catch(() => {})
      await fh.close()
      this.#ended = true
      for (const buffer of this.#free) releaseBuffer(buffer.buffer)
      this.#free.length = 0
    }
  }

  recycle (chunk: Buffer): void {
    if (!this.#own.has(chunk.buffer)) return
    if (this.#ended) releaseBuffer(chunk.buffer)
    else if (this.#free.length < kReadsAhead + 2) this.#free.push(Buffer.from(chunk.buffer))
  }

  /** Marked handled at once: a consumer that stops early may never await the reads ahead. */
  #read (fh: Pick<FileHandle, 'read'>, length: number, position: number | null): Promise<{ buffer: Buffer, bytesRead: number }> {
    const read = this.#readInto(fh, length, position)
    read.catch(() => {})
    return read
  }

  async #readInto (fh: Pick<FileHandle, 'read'>, length: number, position: number | null): Promise<{ buffer: Buffer, bytesRead: number }> {
    if (length <= 0) return { buffer: kEmpty, bytesRead: 0 }
    let buffer = this.#free.pop()
    if (buffer === undefined) {
      buffer = Buffer.allocUnsafeSlow(kHighWaterMark)
      this.#own.add(buffer.buffer)
    }
    const { bytesRead } = await fh.read(buffer, 0, Math.min(buffer.length, length), position)
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
