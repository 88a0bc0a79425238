// The emulator's POST /event/track/ (Events API 2.0) for offline events: TikTok's request
// validation, a request that fails any check stores nothing, and dedupe on (event_source_id,
// event_id, event) as TikTok's counting does.
import { OFFLINE_EVENTS } from '../../pipeline/conversion-event.js'
import type { EmulatorState } from './emulator-state.js'
import { setImmediate as turn } from 'node:timers/promises'

const kHex64 = /^[0-9a-f]{64}$/
const kMaxEvents = 1000
const kEvents = new Set<string>(OFFLINE_EVENTS)
const kCurrencies = new Set(Intl.supportedValuesOf('currency'))

type Failure = (code: number, message: string) => Error

const hashed = (v: unknown): boolean => typeof v === 'string' ? kHex64.test(v) : Array.isArray(v) && v.length > 0 && v.every(x => typeof x === 'string' && kHex64.test(x))

/**
 * Checks the request and stores its events. The checks run in slices of 100 events with a turn
 * of the event loop between them: the emulator stamps a request's arrival when the loop gets to
 * it, and 1,000 events checked at once (with several requests in a row) held it for tens of ms,
 * which stamped the requests arriving meanwhile late and could refuse one a 30 ms margin covers.
 * Storing is one synchronous step at the end, so a failed request stores nothing and two
 * requests never interleave their dedupe.
 */
export async function trackEvents (state: EmulatorState, poisonEventId: string | undefined, body: Record<string, unknown>, fail: Failure): Promise<void> {
  if (body['event_source'] !== 'offline') throw fail(40002, 'Parameter error: event_source must be offline for an Offline Event Set')
  const sourceId = body['event_source_id']
  if (typeof sourceId !== 'string' || !/^\d{1,20}$/.test(sourceId)) throw fail(40002, 'Parameter error: event_source_id must be the Offline Event Set ID, a string of digits')
  const data = body['data']
  if (!Array.isArray(data) || data.length === 0) throw fail(40002, 'Parameter error: data is required')
  if (data.length > kMaxEvents) throw fail(40002, `Parameter error: data has ${data.length} events, at most ${kMaxEvents}`)
  for (let i = 0; i < data.length; i++) {
    if (i > 0 && i % 100 === 0) await turn()
    const raw: unknown = data[i]
    const bad = (what: string): Error => fail(40002, `Parameter error: data[${i}].${what}`)
    if (raw === null || typeof raw !== 'object') throw bad('must be an object')
    const e = raw as Record<string, unknown>
    if (typeof e['event'] !== 'string' || !kEvents.has(e['event'])) throw bad('event must be a standard event')
    if (typeof e['event_time'] !== 'number' || !Number.isInteger(e['event_time']) || e['event_time'] < 0) throw bad('event_time must be an integer of Unix seconds')
    if (e['event_id'] !== undefined && typeof e['event_id'] !== 'string') throw bad('event_id must be a string')
    if (poisonEventId !== undefined && e['event_id'] === poisonEventId) throw bad('event is invalid')
    const user = e['user']
    if (user === null || typeof user !== 'object') throw bad('user is required')
    const u = user as Record<string, unknown>
    if (u['email'] !== undefined && !hashed(u['email'])) throw bad('user.email must be SHA-256 (64 lowercase hex)')
    if (u['phone'] !== undefined && !hashed(u['phone'])) throw bad('user.phone must be SHA-256 (64 lowercase hex)')
    const p = e['properties']
    if (p !== undefined) {
      if (p === null || typeof p !== 'object') throw bad('properties must be an object')
      const props = p as Record<string, unknown>
      if (props['currency'] !== undefined && (typeof props['currency'] !== 'string' || !kCurrencies.has(props['currency']))) throw bad('properties.currency must be an ISO 4217 code')
      if (props['value'] !== undefined && (typeof props['value'] !== 'number' || !Number.isFinite(props['value']) || props['value'] < 0)) throw bad('properties.value must be a number')
    }
  }
  const keyed = (data as Array<Record<string, unknown>>).map(raw => {
    state.eventsReceived++
    const key = `${sourceId}\u0000${String(raw['event_id'] ?? '')}\u0000${String(raw['event'])}`
    // An event without event_id is never a duplicate (TikTok cannot tell it from another).
    return { key: raw['event_id'] === undefined ? `${key}\u0000${state.eventsReceived}` : key, event: raw }
  })
  state.duplicatesDropped += keyed.length - state.events.addAll(sourceId, keyed)
}
