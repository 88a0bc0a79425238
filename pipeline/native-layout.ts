// The layouts the TypeScript side shares with the native addon (pipeline/native/scan_layout.h):
// the scanner's config, stats and event arrays, type and reason codes, the digest size and the
// hole marker. The addon exports its own values as `layout`; the loader (native-hash.ts) compares
// them key by key with NATIVE_LAYOUT and refuses an addon that differs, so a stale build is
// reported inactive instead of being read with the wrong offsets.
import { DIGEST_BYTES, ID_SCHEMAS, ID_TYPES, PARTITIONS, REJECT_REASONS } from './protocol.js'

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

// config: format, max record bytes, flags, slot count, then per slot: field index, type, schema.
export const kCfgFormat = 0
export const kCfgMaxRecord = 1
export const kCfgFlags = 2
export const kCfgSlots = 3
export const kCfgFirstSlot = 4
export const kCfgSlotInts = 3
export const kFlagPhoneDigits = 1
export const kFlagNationalNanp = 2
export const kFlagDeferEmail = 4
/** flags bits 8-15: the csv delimiter byte, 0 for the format's own (',' or tab). */
export const kFlagDelimiterShift = 8
export const kFormats: Readonly<Record<string, number>> = { csv: 0, tsv: 1, lines: 2 }
export const kMaxSlots = 64

// events: kind, line, record byte offset, slot (-1: the whole record), reason or digest slot,
// raw start, raw end, raw source.
export const kEventInts = 8
export const kEvReject = 1
export const kEvDefer = 2
/** Where an event's raw cell lives: the batch, the scratch buffer (unescaped quoted fields), or nowhere. */
export const kSrcNone = -1
export const kSrcInput = 0
export const kSrcScratch = 1

/** Digest schema code of a slot whose cell the JavaScript side has yet to (or did not) fill. */
export const kHole = 255

/** Every value above by the name the addon exports it under. */
export const NATIVE_LAYOUT: Readonly<Record<string, number>> = Object.freeze({
  digest_bytes: DIGEST_BYTES,
  partitions: PARTITIONS,
  hole: kHole,
  max_slots: kMaxSlots,
  schema_count: ID_SCHEMAS.length,
  type_count: T,
  reason_count: R,
  ...Object.fromEntries(ID_TYPES.map((t, i) => [`type_${t}`, i])),
  ...Object.fromEntries(REJECT_REASONS.map((r, i) => [`reason_${r}`, i])),
  ...Object.fromEntries(Object.entries(kFormats).map(([f, i]) => [`format_${f}`, i])),
  stat_pos: kStatPos,
  stat_line: kStatLine,
  stat_count: kStatCount,
  stat_events: kStatEvents,
  stat_rows: kStatRows,
  stat_done: kStatDone,
  stat_seen: kStatSeen,
  stat_valid: kStatValid,
  stat_empty: kStatEmpty,
  stat_rejected: kStatRejected,
  stat_length: kStatLength,
  config_format: kCfgFormat,
  config_max_record: kCfgMaxRecord,
  config_flags: kCfgFlags,
  config_slots: kCfgSlots,
  config_first_slot: kCfgFirstSlot,
  config_slot_ints: kCfgSlotInts,
  flag_phone_digits: kFlagPhoneDigits,
  flag_national_nanp: kFlagNationalNanp,
  flag_defer_email: kFlagDeferEmail,
  flag_delimiter_shift: kFlagDelimiterShift,
  event_ints: kEventInts,
  event_reject: kEvReject,
  event_defer: kEvDefer,
  source_none: kSrcNone,
  source_input: kSrcInput,
  source_scratch: kSrcScratch
})

/**
 * How the addon's exported layout differs from NATIVE_LAYOUT, in words (the first few keys), or
 * undefined when every key matches both ways.
 */
export function layoutMismatch (actual: unknown): string | undefined {
  if (actual === null || typeof actual !== 'object') return 'the addon exports no layout'
  const theirs = actual as Record<string, unknown>
  const keys = new Set([...Object.keys(NATIVE_LAYOUT), ...Object.keys(theirs)])
  const diffs: string[] = []
  for (const key of [...keys].sort()) {
    const mine = NATIVE_LAYOUT[key]
    const other = theirs[key]
    if (mine === other) continue
    diffs.push(`${key} is ${other === undefined ? 'absent' : String(other)} in the addon, ${mine === undefined ? 'unknown' : String(mine)} here`)
  }
  if (diffs.length === 0) return undefined
  return diffs.slice(0, 3).join('; ') + (diffs.length > 3 ? `; and ${diffs.length - 3} more` : '')
}
