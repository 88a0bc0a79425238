// A multipart/form-data body whose file part streams from disk: the file is never held in
// memory, and the exact length is known up front (TikTok's upload wants a Content-Length).
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'

export interface MultipartForm { fields: Record<string, string>, file: { field: string, path: string, name: string, bytes: number } }

const quote = (s: string): string => s.replace(/["\r\n\\]/g, '_')

export function multipart (form: MultipartForm): { body: Readable, contentType: string, length: number } {
  const boundary = `----hashpipe${randomBytes(12).toString('hex')}`
  const head = Buffer.from(Object.entries(form.fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${quote(k)}"\r\n\r\n${v}\r\n`).join('') +
    `--${boundary}\r\nContent-Disposition: form-data; name="${quote(form.file.field)}"; filename="${quote(form.file.name)}"\r\nContent-Type: text/csv\r\n\r\n`)
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const path = form.file.path
  async function * parts (): AsyncGenerator<Buffer> {
    yield head
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) yield chunk as Buffer
    yield tail
  }
  return { body: Readable.from(parts()), contentType: `multipart/form-data; boundary=${boundary}`, length: head.length + form.file.bytes + tail.length }
}
