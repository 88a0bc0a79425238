// Formats packed digests as output rows (`EMAIL_SHA256,<64 hex>` or NDJSON). Hex is written
// through a 256-entry table straight into one buffer per call: at tens of millions of rows,
// per-row string building would cost seconds. Runs of one schema (the deduplicated output) go
// through the native addon's formatRows when it is loaded, ~10x faster, with identical bytes.
import { DIGEST_BYTES, ID_SCHEMAS, type RowFormat } from './protocol.js'
import { nativeAddon } from './native-hash.js'

type FormatRows = (digests: Uint8Array, count: number, prefix: Uint8Array, suffix: Uint8Array, out: Uint8Array) => number
const nativeFormatRows = typeof nativeAddon?.formatRows === 'function' ? nativeAddon.formatRows as FormatRows : undefined

export type OutFormat = RowFormat

const kHex = new Uint16Array(256)
for (let b = 0; b < 256; b++) {
  const s = b.toString(16).padStart(2, '0')
  // Little-endian: the first hex character goes in the low byte.
  kHex[b] = s.charCodeAt(0) | (s.charCodeAt(1) << 8)
}

const kPrefix = {
  csv: ID_SCHEMAS.map(s => Buffer.from(`${s},`)),
  ndjson: ID_SCHEMAS.map(s => Buffer.from(`{"id_type":"${s}","sha256":"`))
}
const kSuffix = { csv: Buffer.from('\n'), ndjson: Buffer.from('"}\n') }

export function outputHeader (format: OutFormat): string {
  return format === 'csv' ? 'id_type,sha256\n' : ''
}

const kMaxRowBytes = {
  csv: Math.max(...kPrefix.csv.map(p => p.length)) + 2 * DIGEST_BYTES + kSuffix.csv.length,
  ndjson: Math.max(...kPrefix.ndjson.map(p => p.length)) + 2 * DIGEST_BYTES + kSuffix.ndjson.length
}

/** The longest row of this format, in bytes: count rows always fit count * maxRowBytes. */
export function maxRowBytes (format: OutFormat): number {
  return kMaxRowBytes[format]
}

/**
 * Rows for digests[0, count); digest i has schema schemas[i] (or `schema` for all when given).
 * `engine: 'js'` forces the JavaScript loop (tests compare it with the native one). The rows go
 * into `into` when it holds count * maxRowBytes(format), else into a new buffer.
 */
export function formatDigests (format: OutFormat, digests: Uint8Array, count: number, schemas: Uint8Array | number, engine?: 'js', into?: ArrayBuffer): Buffer {
  const prefixes = kPrefix[format]
  const suffix = kSuffix[format]
  const bound = count * maxRowBytes(format)
  const out = into !== undefined && into.byteLength >= bound ? Buffer.from(into, 0, bound) : Buffer.allocUnsafeSlow(bound)
  if (typeof schemas === 'number' && nativeFormatRows !== undefined && engine !== 'js') {
    return out.subarray(0, nativeFormatRows(digests, count, prefixes[schemas]!, suffix, out))
  }
  // Two hex characters per 16-bit store: offsets are even only when rows are; use a byte view.
  let at = 0
  for (let i = 0; i < count; i++) {
    const prefix = prefixes[typeof schemas === 'number' ? schemas : schemas[i]!]!
    prefix.copy(out, at)
    at += prefix.length
    const base = i * DIGEST_BYTES
    for (let k = 0; k < DIGEST_BYTES; k++) {
      const h = kHex[digests[base + k]!]!
      out[at++] = h & 0xff
      out[at++] = h >> 8
    }
    suffix.copy(out, at)
    at += suffix.length
  }
  return out.subarray(0, at)
}
