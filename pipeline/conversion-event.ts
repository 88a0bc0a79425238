// One input row of a conversions file → one TikTok Events API event, or a reject reason. Pure:
// the caller gives the row's mapped cells, the run's reference time and the normalizers.
// Email and phone go through the same normalizers as `hash` (phones always E.164 with '+',
// which the Events API requires); only their SHA-256 digests are put in the event.
import { hash } from 'node:crypto'
import { createEmailNormalizer, createPhoneCellNormalizer } from './normalize.js'
import type { NormalizeOptions } from './protocol.js'

/**
 * TikTok's standard event names. Offline event sets accept only standard events; TikTok's own
 * offline example uses Purchase and peers send CompletePayment.
 */
export const OFFLINE_EVENTS = [
  'AddPaymentInfo', 'AddToCart', 'AddToWishlist', 'ApplicationApproval', 'ClickButton', 'CompletePayment',
  'CompleteRegistration', 'Contact', 'CustomizeProduct', 'Download', 'FindLocation', 'InitiateCheckout',
  'Lead', 'PlaceAnOrder', 'Purchase', 'Schedule', 'Search', 'StartTrial', 'SubmitApplication', 'SubmitForm',
  'Subscribe', 'ViewContent'
] as const
export type OfflineEvent = (typeof OFFLINE_EVENTS)[number]

/** The columns a conversions entry may map, in the order their values make a row's identity. */
export const CONVERSION_FIELDS = [
  'email', 'phone', 'event', 'event_time', 'value', 'currency', 'order_id', 'shop_id', 'event_id',
  'content_id', 'content_name', 'content_category', 'content_type', 'num_items', 'description'
] as const
export type ConversionField = (typeof CONVERSION_FIELDS)[number]

export const CONVERSION_REJECT_REASONS = [
  'event_unknown', 'time_missing', 'time_invalid', 'time_zone_missing', 'time_future', 'time_too_old',
  'email_invalid', 'phone_invalid', 'no_identifier', 'value_invalid', 'currency_missing', 'currency_invalid',
  'num_items_invalid', 'content_type_invalid', 'field_too_long', 'row_malformed', 'tiktok_rejected'
] as const
export type ConversionRejectReason = (typeof CONVERSION_REJECT_REASONS)[number]

/** Upper bounds on passed-through text, in characters. */
export const FIELD_MAX: Partial<Record<ConversionField, number>> = {
  event_id: 128, order_id: 128, shop_id: 128, content_id: 128, content_name: 256, content_category: 256, description: 1024
}

/** Events later than now + this are refused: a clock or time-zone error, not a sale. */
export const FUTURE_TOLERANCE_S = 5 * 60

export interface TikTokEvent {
  event: string
  event_time: number
  event_id: string
  user: { email?: string, phone?: string }
  properties?: Record<string, unknown>
}

export type BuildResult = { ok: true, event: TikTokEvent } | { ok: false, field: ConversionField | '', reason: ConversionRejectReason }

export interface EventBuilderOptions {
  eventSourceId: string
  /** Used when no event column is mapped, or its cell is empty. */
  defaultEvent: string | undefined
  lookbackDays: number
  normalize: Pick<NormalizeOptions, 'defaultCountry' | 'emailCanonicalize' | 'stripPlusTag'>
}

const kHex64 = /^[0-9a-f]{64}$/
const kIso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i
const kNumber = /^\d+(?:\.\d+)?$/
const kCurrencies = new Set(Intl.supportedValuesOf('currency'))
const kEvents = new Set<string>(OFFLINE_EVENTS)
// One-shot hash: no Hash object per call (two or three per event).
const sha256 = (s: string): string => hash('sha256', s, 'hex')

/** ISO 8601 with a zone, or Unix seconds → Unix seconds; a reason when it is neither. */
export function parseEventTime (raw: string): number | 'time_missing' | 'time_invalid' | 'time_zone_missing' {
  const s = raw.trim()
  if (s === '') return 'time_missing'
  if (/^\d{1,12}$/.test(s)) return Number(s)
  const m = kIso.exec(s)
  if (m === null) return 'time_invalid'
  if (m[8] === undefined) return 'time_zone_missing'
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = ''] = m
  let zone = m[8].toUpperCase()
  if (zone !== 'Z') zone = zone.length === 3 ? `${zone}:00` : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${sec}${frac.slice(0, 4)}${zone}`)
  // Date.parse rolls Feb 30 over to March; the calendar fields must survive the round trip.
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)))
  if (Number.isNaN(ms) || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return 'time_invalid'
  return Math.floor(ms / 1000)
}

export function createEventBuilder (options: EventBuilderOptions): (cells: Partial<Record<ConversionField, string>>, nowS: number) => BuildResult {
  const email = createEmailNormalizer(options.normalize)
  // The Events API wants E.164 with '+' whatever tiktok.phone_hash_form says for audiences.
  const phone = createPhoneCellNormalizer({ defaultCountry: options.normalize.defaultCountry, phoneHashForm: 'e164' })
  const lookbackS = options.lookbackDays * 86_400
  const fail = (field: ConversionField | '', reason: ConversionRejectReason): BuildResult => ({ ok: false, field, reason })

  return function build (cells, nowS) {
    const cell = (f: ConversionField): string => (cells[f] ?? '').trim()
    for (const [f, max] of Object.entries(FIELD_MAX) as Array<[ConversionField, number]>) {
      if (cell(f).length > max) return fail(f, 'field_too_long')
    }
    const event = cell('event') === '' ? (options.defaultEvent ?? '') : cell('event')
    if (!kEvents.has(event)) return fail('event', 'event_unknown')

    const time = parseEventTime(cell('event_time'))
    if (typeof time === 'string') return fail('event_time', time)
    if (time > nowS + FUTURE_TOLERANCE_S) return fail('event_time', 'time_future')
    if (time < nowS - lookbackS) return fail('event_time', 'time_too_old')

    const user: TikTokEvent['user'] = {}
    let badIdentifier: BuildResult | undefined
    const rawEmail = cell('email')
    if (rawEmail !== '') {
      const v = email(rawEmail)
      if (typeof v === 'string') user.email = kHex64.test(v) ? v : sha256(v)
      else badIdentifier = fail('email', 'email_invalid')
    }
    const rawPhone = cell('phone')
    if (rawPhone !== '') {
      const lower = rawPhone.toLowerCase()
      const v = kHex64.test(lower) ? lower : phone(rawPhone)
      if (typeof v === 'string') user.phone = kHex64.test(v) ? v : sha256(v)
      else badIdentifier ??= fail('phone', 'phone_invalid')
    }
    if (user.email === undefined && user.phone === undefined) return badIdentifier ?? fail('', 'no_identifier')

    const properties: Record<string, unknown> = {}
    const value = cell('value')
    const currency = cell('currency').toUpperCase()
    if (value !== '') {
      const n = Number(value)
      if (!kNumber.test(value) || !Number.isFinite(n)) return fail('value', 'value_invalid')
      if (currency === '') return fail('currency', 'currency_missing')
      properties['value'] = n
    }
    if (currency !== '') {
      if (!kCurrencies.has(currency)) return fail('currency', 'currency_invalid')
      properties['currency'] = currency
    }
    for (const f of ['order_id', 'shop_id', 'description'] as const) {
      if (cell(f) !== '') properties[f] = cell(f)
    }
    const contentType = cell('content_type')
    if (contentType !== '') {
      if (contentType !== 'product' && contentType !== 'product_group') return fail('content_type', 'content_type_invalid')
      properties['content_type'] = contentType
    }
    const numItems = cell('num_items')
    if (numItems !== '') {
      if (!/^\d{1,9}$/.test(numItems)) return fail('num_items', 'num_items_invalid')
      properties['num_items'] = Number(numItems)
    }
    if (cell('content_id') !== '' || cell('content_name') !== '' || cell('content_category') !== '') {
      const content: Record<string, string> = {}
      if (cell('content_id') !== '') content['content_id'] = cell('content_id')
      if (cell('content_name') !== '') content['content_name'] = cell('content_name')
      if (cell('content_category') !== '') content['content_category'] = cell('content_category')
      properties['contents'] = [content]
    }

    // The same sale read twice (this file again, or another export of it) gets the same id, so
    // TikTok's dedupe on (event_source_id, event_id, event) counts it once. An order id names
    // the sale; without one, the normalized content of the row does.
    const eventId = cell('event_id') !== ''
      ? cell('event_id')
      : sha256([options.eventSourceId, event, cell('order_id') !== ''
        ? `order:${cell('order_id')}`
        : `row:${JSON.stringify([user.email ?? '', user.phone ?? '', time, properties['value'] ?? '', properties['currency'] ?? '', cell('shop_id'), cell('content_id')])}`].join('\u0000'))
    const out: TikTokEvent = { event, event_time: time, event_id: eventId, user }
    if (Object.keys(properties).length > 0) out.properties = properties
    return { ok: true, event: out }
  }
}
