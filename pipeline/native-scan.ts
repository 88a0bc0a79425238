// The native record scanner (pipeline/native/scan_batch.cc): the scanner itself when the native
// core is active, its config for a plan, and the NANP table it reads. Without it (or with
// HASHPIPE_NATIVE_SCAN=0, to compare the two paths), BatchProcessor runs the JavaScript record
// loop, with identical results (test/pipeline/scan-batch.test.ts). The layouts it shares with
// the TypeScript side are native-layout.ts's, checked when the addon loads.
import { ID_TYPES, type ColumnPlan, type IdType, type NormalizeOptions } from './protocol.js'
import { nativeAddon } from './native-hash.js'
import { buildNanpDfa } from './nanp-dfa.js'
import {
  kCfgFirstSlot, kCfgFlags, kCfgFormat, kCfgMaxRecord, kCfgSlotInts, kCfgSlots, kFlagDeferEmail, kFlagDelimiterShift, kFlagNationalNanp,
  kFlagPhoneDigits, kFormats, kMaxSlots
} from './native-layout.js'

export type ScanBatch = (input: Uint8Array, config: Int32Array, dfa: Int32Array, digests: Uint8Array,
  schemas: Uint8Array, events: Int32Array, scratch: Uint8Array, stats: Int32Array) => void

/** The native scanner, or undefined when the native core is inactive or the scan is turned off. */
export const nativeScanBatch: ScanBatch | undefined =
  process.env.HASHPIPE_NATIVE_SCAN === '0' ? undefined : nativeAddon?.scanBatch as ScanBatch | undefined

/**
 * The scanner's config for one plan, or undefined when the plan is not one it takes
 * (NDJSON, or more than 64 columns). `slots` are ordered by field index.
 */
export function scanConfig (plan: ColumnPlan, slots: ReadonlyArray<{ index: number, type: IdType, schema: number }>,
  options: NormalizeOptions & { maxRecordBytes: number }): Int32Array | undefined {
  const format = kFormats[plan.format]
  if (format === undefined || slots.length === 0 || slots.length > kMaxSlots) return undefined
  // One column read as two types, or a column past 64: the JavaScript loop takes those plans.
  if (slots.some((s, i) => s.index >= kMaxSlots || (i > 0 && s.index <= slots[i - 1]!.index))) return undefined
  if (plan.format === 'lines' && (slots.length !== 1 || slots[0]!.index !== 0)) return undefined
  const config = new Int32Array(kCfgFirstSlot + kCfgSlotInts * slots.length)
  config[kCfgFormat] = format
  config[kCfgMaxRecord] = Math.min(options.maxRecordBytes, 0x7fffffff)
  config[kCfgFlags] = (options.phoneHashForm === 'digits' ? kFlagPhoneDigits : 0) |
    (options.defaultCountry === 'US' ? kFlagNationalNanp : 0) |
    (options.emailCanonicalize !== 'none' || options.stripPlusTag ? kFlagDeferEmail : 0) |
    (plan.format === 'csv' && plan.delimiter !== undefined && plan.delimiter !== 44 ? (plan.delimiter & 0xff) << kFlagDelimiterShift : 0)
  config[kCfgSlots] = slots.length
  slots.forEach((s, i) => {
    const at = kCfgFirstSlot + kCfgSlotInts * i
    config[at] = s.index
    config[at + 1] = ID_TYPES.indexOf(s.type)
    config[at + 2] = s.schema
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
