// The native record scanner (pipeline/native/scan_batch.cc): the layouts it shares with
// BatchProcessor, and the scanner itself when the addon is loaded. Without the addon (or with
// HASHPIPE_NATIVE=0, or HASHPIPE_NATIVE_SCAN=0 to compare the two paths), BatchProcessor runs
// its JavaScript loop, with identical results (test/pipeline/scan-batch.test.ts).
import { ID_TYPES, REJECT_REASONS, type ColumnPlan, type IdType, type NormalizeOptions } from './protocol.js'
import { nativeAddon } from './native-hash.js'
import { buildNanpDfa } from './nanp-dfa.js'

export type ScanBatch = (input: Uint8Array, config: Int32Array, dfa: Int32Array, digests: Uint8Array,
  schemas: Uint8Array, events: Int32Array, scratch: Uint8Array, stats: Int32Array) => void

const T = ID_TYPES.length
const R = REJECT_REASONS.length

// stats: in/out state of one call, then counts the call adds to.
export const kStatPos = 0
export const kStatLine = 1
export const kStatCount = 2
export const kStatEvents = 3
export const kStatRows = 4
export const kStatDone = 5
export const kStatSeen = 6
export const kStatValid = kStatSeen + T
export const kStatEmpty = kStatValid + T
export const kStatRejected = kStatEmpty + T
export const kStatLength = kStatRejected + R

// events: 8 ints each.
export const kEventInts = 8
export const kEvReject = 1
export const kEvDefer = 2
/** Where an event's raw cell lives: the batch, the scratch buffer (unescaped quoted fields), or nowhere. */
export const kSrcInput = 0
export const kSrcScratch = 1

/** Digest schema code of a slot whose cell the JavaScript side has yet to (or did not) fill. */
export const kHole = 255

const kFlagPhoneDigits = 1
const kFlagNationalNanp = 2
const kFlagDeferEmail = 4
const kFormats: Record<string, number> = { csv: 0, tsv: 1, lines: 2 }

function loadScanner (): ScanBatch | undefined {
  if (process.env.HASHPIPE_NATIVE_SCAN === '0') return undefined
  const fn = nativeAddon?.scanBatch
  return typeof fn === 'function' ? fn as ScanBatch : undefined
}

/** The native scanner, or undefined when the addon is absent or the scan is turned off. */
export const nativeScanBatch: ScanBatch | undefined = loadScanner()

/**
 * The scanner's config for one plan, or undefined when the plan is not one it takes
 * (NDJSON, or more than 64 columns). `slots` are ordered by field index.
 */
export function scanConfig (plan: ColumnPlan, slots: ReadonlyArray<{ index: number, type: IdType, schema: number }>,
  options: NormalizeOptions & { maxRecordBytes: number }): Int32Array | undefined {
  const format = kFormats[plan.format]
  if (format === undefined || slots.length === 0 || slots.length > 64) return undefined
  // One column read as two types, or a column past 64: the JavaScript loop takes those plans.
  if (slots.some((s, i) => s.index >= 64 || (i > 0 && s.index <= slots[i - 1]!.index))) return undefined
  if (plan.format === 'lines' && (slots.length !== 1 || slots[0]!.index !== 0)) return undefined
  const config = new Int32Array(4 + 3 * slots.length)
  config[0] = format
  config[1] = Math.min(options.maxRecordBytes, 0x7fffffff)
  config[2] = (options.phoneHashForm === 'digits' ? kFlagPhoneDigits : 0) |
    (options.defaultCountry === 'US' ? kFlagNationalNanp : 0) |
    (options.emailCanonicalize !== 'none' || options.stripPlusTag ? kFlagDeferEmail : 0)
  config[3] = slots.length
  slots.forEach((s, i) => {
    config[4 + 3 * i] = s.index
    config[5 + 3 * i] = ID_TYPES.indexOf(s.type)
    config[6 + 3 * i] = s.schema
  })
  return config
}

let table: Int32Array | undefined

/**
 * The NANP validity automaton for the scanner's phone fast path, built once per thread. Empty
 * (every phone deferred to libphonenumber-js) if it cannot be built from this metadata.
 */
export function nanpTable (): Int32Array {
  if (table === undefined) {
    try {
      table = buildNanpDfa()
    } catch {
      table = new Int32Array(0)
    }
  }
  return table
}
