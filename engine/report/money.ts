// Exact money for usage reports: TikTok's decimal strings become integers of micro-units
// (BigInt), are summed as integers, and are printed back as decimal strings with the currency's
// minor digits. No float ever holds an amount, so totals equal the sum of the rows to the cent.
import { HashpipeError } from '../../pipeline/errors.js'

const kScale = 6
const kUnit = 10n ** BigInt(kScale)

/** Minor-unit digits by ISO 4217 code where they are not 2. */
const kDigits: Record<string, number> = { JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, PYG: 0, UGX: 0, BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3, IQD: 3, LYD: 3 }

export function minorDigits (currency: string): number {
  return kDigits[currency.toUpperCase()] ?? 2
}

/** "14.68" → 14680000n. Refuses anything that is not a plain decimal with at most 6 fraction digits. */
export function parseAmount (text: string, where: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(text.trim())
  if (m === null) throw new HashpipeError('HP_ERR_API_PROTOCOL', `${where}: '${text}' is not a decimal amount; run the report again, and if it persists report it`)
  const v = BigInt(m[2]!) * kUnit + BigInt((m[3] ?? '').padEnd(kScale, '0'))
  return m[1] === '-' ? -v : v
}

/** Micro-units → decimal string with the currency's minor digits (more only if needed to stay exact). */
export function formatAmount (micro: bigint, currency: string): string {
  const neg = micro < 0n
  const abs = neg ? -micro : micro
  const whole = abs / kUnit
  let frac = (abs % kUnit).toString().padStart(kScale, '0').replace(/0+$/, '')
  const digits = minorDigits(currency)
  if (frac.length < digits) frac = frac.padEnd(digits, '0')
  return `${neg ? '-' : ''}${whole}${frac === '' ? '' : `.${frac}`}`
}

/** A percentage such as "15" or "12.5" → hundred-thousandths of a percent (15 → 1500000n). */
export function parsePercent (text: string): bigint | undefined {
  const m = /^(\d{1,3})(?:\.(\d{1,5}))?$/.exec(text.trim())
  if (m === null) return undefined
  const v = BigInt(m[1]!) * 100000n + BigInt((m[2] ?? '').padEnd(5, '0'))
  return v > 0n && v <= 100n * 100000n ? v : undefined
}

export function formatPercent (p: bigint): string {
  const whole = p / 100000n
  const frac = (p % 100000n).toString().padStart(5, '0').replace(/0+$/, '')
  return frac === '' ? String(whole) : `${whole}.${frac}`
}

/**
 * spend × percent / 100, rounded half up to the currency's minor unit: a data cost is a billed
 * amount, so each row carries one the buyer can pay, and the total is the sum of the rows.
 */
export function percentOf (spendMicro: bigint, percent: bigint, currency: string): bigint {
  const exact = spendMicro * percent // micro-units × 10^7 (percent scale 10^5, and /100)
  const denominator = 10_000_000n
  const step = 10n ** BigInt(kScale - Math.min(kScale, minorDigits(currency))) * denominator
  const neg = exact < 0n
  const abs = neg ? -exact : exact
  const rounded = ((abs + step / 2n) / step) * step / denominator
  return neg ? -rounded : rounded
}
