// Output rows: the native formatter (pipeline/native/format_rows.cc) must write exactly the
// bytes of the JavaScript loop, for both formats, every schema and any digest.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { formatDigests, outputHeader } from '../../pipeline/digest-format.js'
import { ID_SCHEMAS } from '../../pipeline/protocol.js'
import { nativeAddon } from '../../pipeline/native-hash.js'

t.test('rows are prefix, 64 lower-case hex and suffix', async t => {
  const digest = Buffer.from('d6117306d10cd9de8ee6fd1bf2a54d3e5cc6e5c9c56e2a8a6ef5a1b2e3656c69', 'hex')
  t.equal(outputHeader('csv'), 'id_type,sha256\n')
  t.equal(formatDigests('csv', digest, 1, 0).toString(), `EMAIL_SHA256,${digest.toString('hex')}\n`)
  t.equal(formatDigests('ndjson', digest, 1, 1).toString(), `{"id_type":"PHONE_SHA256","sha256":"${digest.toString('hex')}"}\n`)
  t.equal(formatDigests('csv', digest, 0, 0).length, 0)
})

t.test('native and JavaScript formatting give identical bytes', async t => {
  const count = 5000
  // A view at an odd offset of a larger buffer, as a sorted partition is.
  const backing = randomBytes(count * 32 + 3)
  const digests = backing.subarray(3)
  const mixed = new Uint8Array(count).map((_, i) => i % ID_SCHEMAS.length)
  for (const format of ['csv', 'ndjson'] as const) {
    for (let schema = 0; schema < ID_SCHEMAS.length; schema++) {
      const a = formatDigests(format, digests, count, schema)
      const b = formatDigests(format, digests, count, schema, 'js')
      t.ok(a.equals(b), `${format}, ${ID_SCHEMAS[schema]!}`)
      t.equal(a.toString().split('\n').length, count + 1)
    }
    const rows = formatDigests(format, digests, count, mixed).toString().split('\n')
    t.match(rows[7], ID_SCHEMAS[7 % ID_SCHEMAS.length]!, `${format}: per-digest schemas`)
  }
})

t.test('the native formatter refuses bad arguments instead of overrunning', { skip: typeof nativeAddon?.formatRows !== 'function' ? 'native addon not built' : false }, async t => {
  const formatRows = nativeAddon!.formatRows as (...args: unknown[]) => number
  const prefix = Buffer.from('X,')
  const suffix = Buffer.from('\n')
  t.throws(() => formatRows(new Uint8Array(64), 3, prefix, suffix, new Uint8Array(1000)), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => formatRows(new Uint8Array(64), 2, prefix, suffix, new Uint8Array(10)), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => formatRows(new Uint8Array(64), -1, prefix, suffix, new Uint8Array(1000)), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => formatRows([1, 2], 1, prefix, suffix, new Uint8Array(1000)), { code: 'ERR_INVALID_ARG_TYPE' })
  t.equal(formatRows(new Uint8Array(64), 2, prefix, suffix, new Uint8Array(134)), 134)
})
