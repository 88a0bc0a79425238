// The emulator reads file uploads as they stream in: whatever the chunking of the body, it must
// find the same fields, the same size and MD5, and the same members as from the whole body.
import t from 'tap'
import { createHash } from 'node:crypto'
import { PassThrough } from 'node:stream'
import type { IncomingMessage } from 'node:http'
import { receiveUpload, type StreamedMultipart } from '../../adapters/emulator/emulator-upload.js'
import { FileFail } from '../../adapters/emulator/emulator-files.js'

const boundary = 'hpTestBoundary7MA4YWxkTrZu0gW'
const digests = Array.from({ length: 3000 }, (_, i) => createHash('sha256').update(`person.${i}@example.com`).digest())
// A header row, then lines ending in LF or (every seventh) CRLF, as TikTok accepts both.
const file = Buffer.from('email_SHA256\n' + digests.map((d, i) => d.toString('hex') + (i % 7 === 0 ? '\r\n' : '\n')).join(''))
const md5 = createHash('md5').update(file).digest('hex')
const field = (name: string, value: string): string => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
const body = Buffer.concat([
  Buffer.from(field('advertiser_id', '7123456789012345678') + field('calculate_type', 'MULTIPLE_TYPES') + field('file_signature', md5)),
  Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="part-0.csv"\r\nContent-Type: text/csv\r\n\r\n`),
  file,
  Buffer.from(`\r\n--${boundary}--\r\n`)
])
const expected = Buffer.concat([...digests].sort(Buffer.compare))

async function receive (chunkBytes: number): Promise<StreamedMultipart | FileFail> {
  const req = Object.assign(new PassThrough(), { headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) } })
  const result = new Promise<StreamedMultipart | FileFail>(resolve => receiveUpload(req as unknown as IncomingMessage, 250_000_000, resolve))
  for (let at = 0; at < body.length; at += chunkBytes) req.write(body.subarray(at, Math.min(body.length, at + chunkBytes)))
  req.end()
  return await result
}

for (const chunkBytes of [1, 2, 3, 7, 65, 66, 4096, body.length]) {
  t.test(`chunks of ${chunkBytes} bytes`, async t => {
    const r = await receive(chunkBytes)
    if (r instanceof FileFail) { t.fail(`refused: ${r.code} ${r.message}`); return }
    t.same(r.fields, { advertiser_id: '7123456789012345678', calculate_type: 'MULTIPLE_TYPES', file_signature: md5 }, 'the text fields')
    const f = r.files['file']
    t.ok(f, 'the file part')
    if (f === undefined) return
    t.equal(f.filename, 'part-0.csv')
    t.equal(f.size, file.length, 'its size')
    t.equal(f.md5(), md5, 'its MD5')
    const sets = [...f.members('MULTIPLE_TYPES').values()]
    t.equal(sets.length, 1, 'one id type')
    t.equal(sets[0]!.size, digests.length, 'every line a member')
    t.ok(sets[0]!.buf.equals(expected), 'the members, sorted')
  })
}

t.test('a body without a boundary is refused with 40002', async t => {
  const req = Object.assign(new PassThrough(), { headers: { 'content-type': 'multipart/form-data' } })
  const result = new Promise<StreamedMultipart | FileFail>(resolve => receiveUpload(req as unknown as IncomingMessage, 250_000_000, resolve))
  req.end(body)
  const r = await result
  t.ok(r instanceof FileFail, 'a FileFail')
  t.equal((r as FileFail).code, 40002)
})

t.test('a body cut off inside the file part is refused with 40002', async t => {
  const req = Object.assign(new PassThrough(), { headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) } })
  const result = new Promise<StreamedMultipart | FileFail>(resolve => receiveUpload(req as unknown as IncomingMessage, 250_000_000, resolve))
  req.end(body.subarray(0, Math.floor(body.length / 2)))
  const r = await result
  t.ok(r instanceof FileFail, 'a FileFail')
  t.equal((r as FileFail).code, 40002)
})

t.test('a file past the size limit keeps its size but none of its contents', async t => {
  const req = Object.assign(new PassThrough(), { headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) } })
  const result = new Promise<StreamedMultipart | FileFail>(resolve => receiveUpload(req as unknown as IncomingMessage, 10_000, resolve))
  for (let at = 0; at < body.length; at += 4096) req.write(body.subarray(at, at + 4096))
  req.end()
  const r = await result
  if (r instanceof FileFail) { t.fail(`refused: ${r.code}`); return }
  t.equal(r.files['file']?.size, file.length, 'the whole size is counted, so upload can answer 40907')
  t.throws(() => r.files['file']?.members('MULTIPLE_TYPES'), 'no members are kept for it')
})
