// Fast path for the common case of North American (+1) numbers written with the usual
// punctuation — (415) 555-2671, 415.555.2671, 1-415-555-2671, +1 415 555 2671 — which make up
// most phone columns. It decides validity with libphonenumber-js's own `max` metadata: the
// national number pattern and the number-type patterns of the 25 NANP regions, compiled once.
// It only ever answers "valid" (with its E.164 form) or "not sure": anything else — other
// shapes, other countries, numbers it finds invalid — goes to the full libphonenumber-js parse,
// so the fast path can never reject what the reference accepts. That it never accepts what the
// reference rejects is checked over a large generated corpus (test/pipeline/phone.test.ts).
import { Metadata } from 'libphonenumber-js/max'
import metadata from 'libphonenumber-js/max/metadata'

interface Region { general: RegExp, types: RegExp[] }

// The parts of libphonenumber-js's Metadata class used here; its typings omit them.
interface PlanApi { nationalNumberPattern: () => string, type: (t: string) => { pattern: () => string } | undefined }
interface MetadataApi { getCountryCodesForCallingCode: (code: string) => string[] | undefined, selectNumberingPlan: (c: string) => void, numberingPlan: PlanApi | undefined }

const kTypes = ['FIXED_LINE', 'MOBILE', 'TOLL_FREE', 'PREMIUM_RATE', 'PERSONAL_NUMBER', 'VOIP', 'UAN', 'PAGER', 'VOICEMAIL', 'SHARED_COST'] as const

function compileRegions (): Region[] {
  const m = new (Metadata as unknown as new (m: unknown) => MetadataApi)(metadata)
  const out: Region[] = []
  for (const code of m.getCountryCodesForCallingCode('1') ?? []) {
    m.selectNumberingPlan(code)
    const plan = m.numberingPlan!
    const types: RegExp[] = []
    for (const t of kTypes) {
      const pattern = plan.type(t)?.pattern()
      if (pattern !== undefined && pattern !== '') types.push(new RegExp(`^(?:${pattern})$`))
    }
    out.push({ general: new RegExp(`^(?:${plan.nationalNumberPattern()})$`), types })
  }
  return out
}

const kRegions = compileRegions()

/** True when some NANP region's metadata says this 10-digit national number is valid. */
export function validNanp (national: string): boolean {
  for (const r of kRegions) {
    if (r.general.test(national) && r.types.some(t => t.test(national))) return true
  }
  return false
}

/**
 * '+1' + the national number when `raw` is a plainly written NANP number the metadata finds
 * valid, else undefined ("ask libphonenumber"). `nationalAllowed`: numbers without '+1' are
 * read as NANP (the default country is US).
 */
export function fastNanp (raw: string, nationalAllowed: boolean): string | undefined {
  let digits = ''
  let plus = false
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c >= 48 && c <= 57) { digits += raw[i]; continue }
    if (c === 43 /* + */ && i === 0) { plus = true; continue }
    // Space ( ) - . only: letters, extensions, other separators go the slow way.
    if (c === 32 || c === 40 || c === 41 || c === 45 || c === 46) continue
    return undefined
  }
  let national: string
  if (digits.length === 11 && digits.charCodeAt(0) === 49) national = digits.slice(1)
  else if (digits.length === 10 && !plus && nationalAllowed) national = digits
  else return undefined
  if (plus && digits.length !== 11) return undefined
  if (!plus && !nationalAllowed) return undefined
  return validNanp(national) ? `+1${national}` : undefined
}
