// Offline conversion events from row cells: every reject reason, digests by the pipeline's rules
// (phones E.164 with '+'), pre-hashed values passed through, and a deterministic event_id.
import t from 'tap'
import { createHash } from 'node:crypto'
import { createEventBuilder, parseEventTime, type ConversionField } from '../../pipeline/conversion-event.js'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const now = 1_750_000_000
const build = createEventBuilder({ eventSourceId: '7000000000000000800', defaultEvent: 'CompletePayment', lookbackDays: 28, normalize: { defaultCountry: 'US', emailCanonicalize: 'none', stripPlusTag: false } })
const base: Partial<Record<ConversionField, string>> = { email: ' ALICE_abc@gmail.com ', event_time: String(now - 3600), value: '12.50', currency: 'usd', order_id: 'A-1' }
const reason = (cells: Partial<Record<ConversionField, string>>): string => { const r = build({ ...base, ...cells }, now); return r.ok ? 'ok' : `${r.field}:${r.reason}` }

t.test('digests follow TikTok\'s examples and the pipeline\'s rules', async t => {
  const r = build({ ...base, phone: '(+1)2133734253' }, now)
  t.ok(r.ok)
  if (!r.ok) return
  t.equal(r.event.user.email, sha('alice_abc@gmail.com'))
  t.equal(r.event.user.phone, sha('+12133734253'))
  t.equal(r.event.event, 'CompletePayment')
  t.equal(r.event.event_time, now - 3600)
  t.same(r.event.properties, { value: 12.5, currency: 'USD', order_id: 'A-1' })
  t.notMatch(JSON.stringify(r.event), /alice|2133734253/i, 'no plain identifier in the event')
  const pre = build({ ...base, email: sha('x@example.com').toUpperCase(), phone: sha('+12133734253') }, now)
  t.ok(pre.ok && pre.event.user.email === sha('x@example.com') && pre.event.user.phone === sha('+12133734253'), 'pre-hashed values pass through, lower-cased')
})

t.test('event_id: mapped, else derived from order id or row content', async t => {
  const a = build(base, now)
  const b = build({ ...base, email: 'alice_abc@GMAIL.com', value: '99' }, now)
  t.ok(a.ok && b.ok)
  if (!a.ok || !b.ok) return
  t.equal(a.event.event_id, b.event.event_id, 'same order id → same event_id')
  t.match(a.event.event_id, /^[0-9a-f]{64}$/)
  const c = build({ ...base, order_id: '' }, now)
  const d = build({ ...base, order_id: '', email: 'Alice_abc@gmail.com' }, now)
  const e = build({ ...base, order_id: '', value: '13' }, now)
  t.ok(c.ok && d.ok && e.ok && c.event.event_id === d.event.event_id && c.event.event_id !== e.event.event_id, 'row content after normalization decides')
  const m = build({ ...base, event_id: 'evt-7' }, now)
  t.ok(m.ok && m.event.event_id === 'evt-7')
})

t.test('every reject reason', async t => {
  t.equal(reason({ event: 'Sale' }), 'event:event_unknown')
  t.equal(reason({ event: 'Purchase' }), 'ok')
  t.equal(reason({ event_time: '' }), 'event_time:time_missing')
  t.equal(reason({ event_time: 'yesterday' }), 'event_time:time_invalid')
  t.equal(reason({ event_time: '2025-02-30T10:00:00Z' }), 'event_time:time_invalid')
  t.equal(reason({ event_time: '2025-06-15T10:00:00' }), 'event_time:time_zone_missing')
  t.equal(reason({ event_time: '2025-06-15' }), 'event_time:time_zone_missing')
  t.equal(reason({ event_time: String(now + 301) }), 'event_time:time_future')
  t.equal(reason({ event_time: String(now + 299) }), 'ok', 'within the 5 minutes of clock skew')
  t.equal(reason({ event_time: String(now - 29 * 86400) }), 'event_time:time_too_old')
  t.equal(reason({ email: 'not-an-email' }), 'email:email_invalid')
  t.equal(reason({ email: 'not-an-email', phone: '+1 213 373 4253' }), 'ok', 'a valid phone carries the event')
  t.equal(reason({ email: '', phone: '12' }), 'phone:phone_invalid')
  t.equal(reason({ email: '' }), ':no_identifier')
  t.equal(reason({ value: '-1' }), 'value:value_invalid')
  t.equal(reason({ value: '1e400' }), 'value:value_invalid')
  t.equal(reason({ value: '$5' }), 'value:value_invalid')
  t.equal(reason({ currency: '' }), 'currency:currency_missing')
  t.equal(reason({ currency: 'XYZ' }), 'currency:currency_invalid')
  t.equal(reason({ value: '', currency: '' }), 'ok', 'no value, no currency needed')
  t.equal(reason({ order_id: 'x'.repeat(129) }), 'order_id:field_too_long')
  t.equal(reason({ num_items: 'three' }), 'num_items:num_items_invalid')
  t.equal(reason({ content_type: 'sku' }), 'content_type:content_type_invalid')
})

t.test('event_time forms', async t => {
  t.equal(parseEventTime('2025-06-15T10:00:00Z'), Date.UTC(2025, 5, 15, 10) / 1000)
  t.equal(parseEventTime('2025-06-15T12:00:00+02:00'), Date.UTC(2025, 5, 15, 10) / 1000)
  t.equal(parseEventTime('2025-06-15 05:00:00.250-0500'), Date.UTC(2025, 5, 15, 10) / 1000)
  t.equal(parseEventTime('1750000000'), 1750000000)
})
