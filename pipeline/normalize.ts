// Per-type identifier normalizers (README.md's identifier table). Pure functions on one cell's text, loaded in
// every hash worker and unit-tested directly.
//
// Each normalizer returns either a string or a number:
//   string  the value to hash, or for pre-hashed types the 64-hex digest itself
//           (callers tell them apart with `isPrehashed`);
//   number  kEmpty for an absent identifier, or a reject reason code (REASON_CODE).
// Returning a union instead of an object keeps the hot loop allocation-free.
import { REASON_CODE, type IdType, type NormalizeOptions } from './protocol.js'
import { createPhoneNormalizer } from './phone.js'

export const kEmpty = -1

const kHex64 = /^[0-9a-f]{64}$/
const kZeroUuid = '00000000-0000-0000-0000-000000000000'
// Anything that is whitespace or a control character after the trim makes an address implausible.
// Control characters are what this pattern is for.
// eslint-disable-next-line no-control-regex
const kSpaceOrControl = /[\s\u0000-\u001f\u007f]/
const kMaxEmailLength = 254

export type Normalizer = (raw: string) => string | number

function isPlausibleEmail (s: string): boolean {
  if (s.length > kMaxEmailLength) return false
  const at = s.indexOf('@')
  if (at < 1 || s.indexOf('@', at + 1) !== -1) return false
  // The domain needs a dot with a non-empty label on each side: no leading, trailing or double dot.
  const domainStart = at + 1
  const firstDot = s.indexOf('.', domainStart)
  if (firstDot === -1 || firstDot === domainStart) return false
  if (s.charCodeAt(s.length - 1) === 46 /* . */ || s.includes('..', domainStart)) return false
  return !kSpaceOrControl.test(s)
}

/** Drop `+tag` (and, for Gmail, dots) from the local part. Only called on plausible addresses. */
function canonicalizeLocal (email: string, gmail: boolean, stripPlus: boolean): string {
  const at = email.indexOf('@')
  const domain = email.slice(at + 1)
  const isGmail = gmail && (domain === 'gmail.com' || domain === 'googlemail.com')
  if (!isGmail && !stripPlus) return email
  let local = email.slice(0, at)
  const plus = local.indexOf('+')
  if (plus !== -1) local = local.slice(0, plus)
  if (isGmail) local = local.replaceAll('.', '')
  // An address that was only a tag ("+x@gmail.com") has nothing left to match on.
  if (local.length === 0) return email
  return `${local}@${domain}`
}

export function createEmailNormalizer (options: Pick<NormalizeOptions, 'emailCanonicalize' | 'stripPlusTag'>): Normalizer {
  const gmail = options.emailCanonicalize === 'gmail'
  const stripPlus = options.stripPlusTag
  const canonicalize = gmail || stripPlus
  return function normalizeEmail (raw: string): string | number {
    const s = raw.trim().toLowerCase()
    if (s.length === 0) return kEmpty
    // A 64-hex value is an address someone already hashed: pass it through, never hash it again.
    if (s.length === 64 && kHex64.test(s)) return s
    if (!isPlausibleEmail(s)) return REASON_CODE.email_invalid
    return canonicalize ? canonicalizeLocal(s, gmail, stripPlus) : s
  }
}

export function normalizeSha256 (raw: string): string | number {
  const s = raw.trim().toLowerCase()
  if (s.length === 0) return kEmpty
  return s.length === 64 && kHex64.test(s) ? s : REASON_CODE.hash_invalid
}

/** 8-4-4-4-12 lowercase hex. A char-code loop: the anchored regex cost twice as much per MAID. */
function isLowerUuid (s: string): boolean {
  if (s.length !== 36) return false
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i)
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45 /* - */) return false
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) {
      return false
    }
  }
  return true
}

export function normalizeMaid (raw: string): string | number {
  const s = raw.trim().toLowerCase()
  if (s.length === 0) return kEmpty
  if (!isLowerUuid(s)) return REASON_CODE.maid_invalid
  // All zeros is what iOS/Android report when the user limited ad tracking: not a person.
  return s === kZeroUuid ? REASON_CODE.maid_zero : s
}

export function createPhoneCellNormalizer (options: Pick<NormalizeOptions, 'defaultCountry' | 'phoneHashForm'>): Normalizer {
  const toE164 = createPhoneNormalizer(options.defaultCountry)
  const digitsOnly = options.phoneHashForm === 'digits'
  return function normalizePhone (raw: string): string | number {
    let s = raw.trim()
    if (s.length === 0) return kEmpty
    // 00 is the international prefix almost everywhere but in NANP (011): read it as '+'.
    if (s.charCodeAt(0) === 48 && s.charCodeAt(1) === 48) s = `+${s.slice(2)}`
    const e164 = toE164(s)
    if (e164 === null) return REASON_CODE.phone_invalid
    return digitsOnly ? e164.slice(1) : e164
  }
}

/** True when the normalized value of this type is already a digest (hex) rather than text to hash. */
export function isPrehashed (type: IdType, value: string): boolean {
  if (type === 'email_sha256' || type === 'phone_sha256') return true
  // A normalized address always contains '@', so a 64-character value without one is the hex form.
  return type === 'email' && value.length === 64 && value.indexOf('@') === -1
}

export function createNormalizers (options: NormalizeOptions): Readonly<Record<IdType, Normalizer>> {
  const phone = createPhoneCellNormalizer(options)
  return {
    email: createEmailNormalizer(options),
    email_sha256: normalizeSha256,
    phone,
    phone_sha256: normalizeSha256,
    maid: normalizeMaid,
    idfa: normalizeMaid,
    gaid: normalizeMaid
  }
}
