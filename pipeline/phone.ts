// Phone numbers to E.164, with libphonenumber-js's full (`max`) metadata as the only judge of
// validity (`min` accepts invalid numbers such as area code 555, `mobile` rejects landlines). Plainly
// written +1 numbers take a fast path over the same metadata (phone-nanp.ts).
// libphonenumber throws on some inputs (too long, no digits); a throw is an invalid number here,
// never a crashed batch.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max'
import { fastNanp } from './phone-nanp.js'

export type PhoneNormalizer = (raw: string) => string | null

export function createPhoneNormalizer (defaultCountry: string): PhoneNormalizer {
  const country = defaultCountry as CountryCode
  const nanpDefault = defaultCountry === 'US'
  return function toE164 (raw: string): string | null {
    const fast = fastNanp(raw, nanpDefault)
    if (fast !== undefined) return fast
    try {
      const parsed = parsePhoneNumberFromString(raw, country)
      return parsed !== undefined && parsed.isValid() ? parsed.number : null
    } catch {
      return null
    }
  }
}
