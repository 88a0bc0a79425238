// Identifier rules of README.md's identifier table as golden vectors (expected digests computed here with
// node:crypto, plus TikTok's published examples), and properties over arbitrary strings:
// normalizers never throw, return a value or a typed reject, and are idempotent.
import t from 'tap'
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import { createNormalizers, createEmailNormalizer, normalizeMaid, normalizeSha256, isPrehashed, kEmpty } from '../../pipeline/normalize.js'
import { BatchProcessor } from '../../pipeline/batch-processor.js'
import { REASON_CODE, REJECT_REASONS, type NormalizeOptions, type WorkerOptions } from '../../pipeline/protocol.js'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const base: NormalizeOptions = { defaultCountry: 'US', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: false }
const n = createNormalizers(base)

t.test("TikTok's published examples", async t => {
  t.equal(sha(n.email('janedoe@gmail.com') as string), 'd6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69')
  t.equal(n.email(' JaneDoe@Gmail.com '), 'janedoe@gmail.com')
  t.equal(sha(n.maid('5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25') as string), '83dc3f5f32b9472613b0f038d36f22585a609d018af6f6067f50da318bf354bd')
  t.equal(n.idfa(' 5F3A2B18-9C4D-4E7F-B8E2-17D3A1E69B25 '), '5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25')
})

t.test('emails', async t => {
  const hex = sha('a@b.co')
  t.equal(n.email(hex.toUpperCase()), hex, 'a 64-hex value passes through, lowercased')
  t.ok(isPrehashed('email', hex), 'and is never hashed again')
  t.notOk(isPrehashed('email', 'a@b.co'))
  for (const bad of ['two@@x.com', 'a@b@c.com', '@x.com', 'x@nodot', 'x@.com', 'x@com.', 'x@a..com', 'sp ace@x.com', 'x@x.com\u0001', `${'a'.repeat(250)}@x.com`, 'plain']) {
    t.equal(n.email(bad), REASON_CODE.email_invalid, bad.slice(0, 20))
  }
  t.equal(n.email('   '), kEmpty)
  t.equal(n.email(''), kEmpty)
  const gmail = createEmailNormalizer({ emailCanonicalize: 'gmail', stripPlusTag: false })
  t.equal(gmail('J.Doe+ads@Gmail.com'), 'jdoe@gmail.com')
  t.equal(gmail('j.doe+ads@example.com'), 'j.doe+ads@example.com', 'gmail rule only for gmail')
  const strip = createEmailNormalizer({ emailCanonicalize: 'none', stripPlusTag: true })
  t.equal(strip('j.doe+ads@example.com'), 'j.doe@example.com')
})

t.test('hashes and MAIDs', async t => {
  t.equal(normalizeSha256(` ${sha('x').toUpperCase()} `), sha('x'))
  t.equal(normalizeSha256('abc'), REASON_CODE.hash_invalid)
  t.equal(normalizeSha256(sha('x') + '0'), REASON_CODE.hash_invalid)
  t.equal(normalizeMaid('00000000-0000-0000-0000-000000000000'), REASON_CODE.maid_zero)
  t.equal(normalizeMaid('5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b2'), REASON_CODE.maid_invalid)
  t.equal(normalizeMaid('5f3a2b18x9c4d-4e7f-b8e2-17d3a1e69b25'), REASON_CODE.maid_invalid)
  t.equal(normalizeMaid('5g3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25'), REASON_CODE.maid_invalid)
  t.equal(normalizeMaid(' '), kEmpty)
})

t.test('phones: E.164 by libphonenumber-js max metadata', async t => {
  t.equal(n.phone('(657)777-0000'), '+16577770000')
  t.equal(n.phone('+1 650 253 0000'), '+16502530000')
  t.equal(n.phone('001 650 253 0000'), '+16502530000', 'international 00 prefix')
  t.equal(n.phone('+37493828222'), '+37493828222')
  t.equal(n.phone('555-0100'), REASON_CODE.phone_invalid)
  t.equal(n.phone('(555) 234-5678'), REASON_CODE.phone_invalid, 'area code 555 (min metadata would accept it)')
  t.equal(n.phone('(212) 155-2671'), REASON_CODE.phone_invalid, 'exchange 1xx')
  t.equal(n.phone('12345678901234567890'), REASON_CODE.phone_invalid)
  t.equal(n.phone(''), kEmpty)
  const digits = createNormalizers({ ...base, phoneHashForm: 'digits' })
  t.equal(digits.phone('(657)777-0000'), '16577770000')
  const am = createNormalizers({ ...base, defaultCountry: 'AM' })
  t.equal(am.phone('093 828222'), '+37493828222', 'default country applies to national numbers')
})

t.test('properties: never throws, typed result, idempotent', async t => {
  const all = Object.entries(n)
  fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.emailAddress(), fc.uuid(), fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 60, maxLength: 66 })), s => {
    for (const [type, f] of all) {
      const r = f(s)
      if (typeof r === 'number') {
        if (r !== kEmpty && REJECT_REASONS[r] === undefined) return false
        continue
      }
      if (typeof r !== 'string' || r.length === 0) return false
      if (f(r) !== r) throw new Error(`${type} is not idempotent`)
    }
    return true
  }), { numRuns: 3000 })
  t.pass('3000 arbitrary inputs per normalizer')
})

t.test('properties through the batch processor: 32-byte digests or typed rejects', async t => {
  const options: WorkerOptions = { ...base, maxRecordBytes: 8192, includeValues: false }
  const processor = new BatchProcessor(options)
  fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.emailAddress()), { maxLength: 40 }), cells => {
    const lines = cells.map(c => c.replace(/[\r\n]/g, ' '))
    const bytes = Buffer.from(lines.join('\n') + '\n')
    const buffer = new ArrayBuffer(bytes.length)
    new Uint8Array(buffer).set(bytes)
    const r = processor.run({ seq: 0, input: 0, buffer, byteLength: bytes.length, firstByte: 0, plan: { format: 'lines', fields: [{ index: 0, key: '', name: 'email', type: 'email' }] } })
    // What the normalizer alone says of each line: the batch must agree on every count and digest.
    const verdicts = lines.map(l => n.email(l))
    const valid = verdicts.filter((v): v is string => typeof v === 'string')
    const rejected = verdicts.filter(v => typeof v === 'number' && v !== kEmpty).length
    if (r.count !== valid.length) throw new Error(`${r.count} digests for ${valid.length} valid emails`)
    if (r.digests.byteLength < r.count * 32) throw new Error(`digest buffer of ${r.digests.byteLength} bytes for ${r.count} digests`)
    if (r.rejects.length !== rejected) throw new Error(`${r.rejects.length} rejects for ${rejected} invalid emails`)
    for (const rej of r.rejects) if (!REJECT_REASONS.includes(rej.reason)) return false
    const digests = new Uint8Array(r.digests, 0, r.count * 32)
    for (let i = 0; i < r.count; i++) {
      const expected = isPrehashed('email', valid[i]!) ? valid[i]! : sha(valid[i]!)
      if (Buffer.from(digests.subarray(i * 32, i * 32 + 32)).toString('hex') !== expected) return false
    }
    return true
  }), { numRuns: 300 })
  t.pass('300 random batches')
})
