// File uploads (multipart/form-data) read as they stream in: the part boundaries are found chunk
// by chunk, and the file part's bytes go straight to an MD5 hash and a FileDecoder, so only the
// decoded digests are kept, never the body. A 217 MB upload otherwise costs a buffer of fresh
// memory as large as itself. What parseMultipart would find in the whole body is found here.
import { createHash, type Hash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { FileDecoder, FileFail, type StreamedFile } from './emulator-files.js'
import type { DigestSet } from './digest-set.js'

export interface StreamedMultipart { fields: Record<string, string>, files: Record<string, StreamedFile> }

const kHeadEnd = Buffer.from('\r\n\r\n')
const kUploadTypes = /^(EMAIL|PHONE|IDFA|GAID|MAID|FIRST)_(SHA256|MD5)$|^MULTIPLE_TYPES$/

/** One part's bytes as they arrive. */
interface Sink { write: (b: Buffer) => void, end: () => void }

/** Calls `done` with the body's fields and files, or the FileFail parseMultipart would throw. */
export function receiveUpload (req: IncomingMessage, maxFileBytes: number, done: (result: StreamedMultipart | FileFail) => void): void {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(req.headers['content-type'] ?? '')
  if (m === null) {
    req.resume()
    req.on('end', () => done(new FileFail(40002, 'Parameter error: multipart/form-data body with a boundary is required')))
    return
  }
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`)
  const length = Number(req.headers['content-length'])
  const sizeHint = Number.isSafeInteger(length) && length > 0 ? length : 0
  const fields: Record<string, string> = {}
  const files: Record<string, StreamedFile> = {}
  let state: 'preamble' | 'after' | 'head' | 'data' | 'done' = 'preamble'
  // step() moves the state; read through this so that the checks after it are not narrowed away.
  const phase = (): typeof state => state
  // Bytes not yet consumed outside part data; inside it, at most delimiter + CRLF held back.
  let pending: Buffer = Buffer.alloc(0)
  let sink: Sink | undefined

  const textPart = (name: string): Sink => {
    const chunks: Buffer[] = []
    return { write: b => chunks.push(Buffer.from(b)), end: () => { fields[name] = Buffer.concat(chunks).toString('utf8') } }
  }
  const filePart = (name: string, filename: string): Sink => {
    const type = fields['calculate_type']
    const md5: Hash | undefined = createHash('md5')
    let size = 0
    let decoder = type !== undefined && kUploadTypes.test(type) ? new FileDecoder(type, sizeHint) : undefined
    // Without a calculate_type before the file, the bytes are kept and decoded at the end.
    let chunks: Buffer[] | undefined = decoder === undefined ? [] : undefined
    let failed: FileFail | undefined
    let digest: string | undefined
    const feed = (b: Buffer): void => {
      if (decoder === undefined) return
      try { decoder.write(b) } catch (err) {
        if (!(err instanceof FileFail)) throw err
        failed = err
        decoder = undefined
      }
    }
    return {
      write: b => {
        size += b.length
        // An oversized file is refused (40907) before its MD5 or contents matter.
        if (size > maxFileBytes) { decoder = undefined; chunks = undefined; return }
        md5.update(b)
        if (chunks !== undefined) chunks.push(b)
        else feed(b)
      },
      end: () => {
        files[name] = {
          filename,
          size,
          md5: () => { digest ??= md5.digest('hex'); return digest },
          members: (calculateType: string): Map<string, DigestSet> => {
            if (failed !== undefined) throw failed
            if (chunks !== undefined) {
              const d = new FileDecoder(calculateType, size)
              for (const c of chunks) d.write(c)
              return d.end()
            }
            if (calculateType !== type || decoder === undefined) throw new FileFail(40002, 'Parameter error: calculate_type must be given once, before the file')
            return decoder.end()
          }
        }
      }
    }
  }

  const emit = (b: Buffer): void => { if (b.length > 0) sink?.write(b) }
  // Outside part data: the preamble, the two bytes after a delimiter, a part's headers.
  const step = (): boolean => {
    if (state === 'preamble') {
      const at = pending.indexOf(delimiter)
      if (at < 0) { pending = pending.subarray(Math.max(0, pending.length - delimiter.length + 1)); return false }
      pending = pending.subarray(at + delimiter.length)
      state = 'after'
      return true
    }
    if (state === 'after') {
      if (pending.length < 2) return false
      if (pending[0] === 0x2d && pending[1] === 0x2d) { state = 'done'; pending = Buffer.alloc(0); return false }
      state = 'head'
      return true
    }
    if (state === 'head') {
      const at = pending.indexOf(kHeadEnd)
      if (at < 0) return false
      const head = pending.toString('utf8', 0, at)
      const name = /name="([^"]*)"/i.exec(head)?.[1]
      const filename = /filename="([^"]*)"/i.exec(head)?.[1]
      sink = name === undefined ? undefined : filename !== undefined ? filePart(name, filename) : textPart(name)
      pending = pending.subarray(at + 4)
      state = 'data'
      return true
    }
    return false
  }
  // Part data: `pending` (held back) then `chunk`, searched for the delimiter without joining
  // the chunk to anything; the CRLF before a delimiter is not data.
  const data = (chunk: Buffer): Buffer | undefined => {
    const held = pending.length
    const total = held + chunk.length
    let at = -1
    if (held > 0) {
      const seam = Buffer.concat([pending, chunk.subarray(0, delimiter.length)])
      at = seam.indexOf(delimiter)
    }
    if (at < 0) {
      const inChunk = chunk.indexOf(delimiter)
      if (inChunk >= 0) at = held + inChunk
    }
    const upTo = at < 0 ? Math.max(0, total - delimiter.length - 1) : Math.max(0, at - 2)
    emit(pending.subarray(0, Math.min(held, upTo)))
    if (upTo > held) emit(chunk.subarray(0, upTo - held))
    if (at < 0) {
      // Copied, so that a held tail never keeps a whole chunk alive.
      const keep = Buffer.allocUnsafe(total - upTo)
      let k = 0
      if (upTo < held) k += pending.copy(keep, 0, upTo)
      chunk.copy(keep, k, Math.max(0, upTo - held))
      pending = keep
      return undefined
    }
    sink?.end()
    sink = undefined
    state = 'after'
    const rest = at + delimiter.length - held
    pending = Buffer.alloc(0)
    return chunk.subarray(rest)
  }
  const write = (chunk: Buffer): void => {
    let next: Buffer | undefined = chunk
    while (next !== undefined) {
      if (state === 'done') return
      if (state === 'data') { next = data(next); continue }
      pending = pending.length === 0 ? next : Buffer.concat([pending, next])
      next = undefined
      while (phase() !== 'data' && step());
      if (phase() === 'data' && pending.length > 0) { next = pending; pending = Buffer.alloc(0) }
    }
  }

  let failure: Error | undefined
  req.on('data', (c: Buffer) => {
    if (failure !== undefined) return
    try { write(c) } catch (err) { failure = err as Error }
  })
  req.on('end', () => {
    if (failure !== undefined) { done(failure instanceof FileFail ? failure : new FileFail(50000, failure.message)); return }
    if (state === 'after' || state === 'head' || state === 'data') { done(new FileFail(40002, 'Parameter error: malformed multipart body')); return }
    done({ fields, files })
  })
}
