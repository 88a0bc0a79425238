// The emulator's POST /event/track/: a request is checked in slices between turns of the event
// loop and stored in one step at the end, so a bad event anywhere (past the first slice too)
// stores nothing of its request, and two requests in flight together never store an event twice.
import t from 'tap'
import { createHash } from 'node:crypto'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'

const kSet = '7000000000000000800'
const digest = (s: string): string => createHash('sha256').update(s).digest('hex')
const events = (from: number, n: number): Array<Record<string, unknown>> => Array.from({ length: n }, (_, i) => ({
  event: 'CompletePayment',
  event_time: 1_700_000_000 + i,
  event_id: `e${from + i}`,
  user: { email: digest(`buyer${from + i}@example.com`) },
  properties: { value: 10, currency: 'USD' }
}))

t.test('/event/track/: all or nothing per request, and one copy of an event across concurrent requests', async t => {
  const em = await startEmulator()
  t.teardown(async () => { await em.close() })
  const track = async (data: unknown[]): Promise<{ code: number, message: string }> => {
    const r = await fetch(`${em.apiBaseUrl}/event/track/`, { method: 'POST', headers: { 'access-token': DEFAULT_TOKEN, 'content-type': 'application/json' }, body: JSON.stringify({ event_source: 'offline', event_source_id: kSet, data }) })
    return await r.json() as { code: number, message: string }
  }
  const stored = async (): Promise<{ events: Array<{ event_id: string }>, received: number, duplicates_dropped: number }> =>
    ((await (await fetch(`${em.url}/__emulator/events`)).json()) as { data: { events: Array<{ event_id: string }>, received: number, duplicates_dropped: number } }).data

  const bad = events(0, 300)
  bad[250] = { ...bad[250], properties: { value: 10, currency: 'XXQ' } }
  const refused = await track(bad)
  t.equal(refused.code, 40002, 'an invalid currency in the third slice fails the request')
  t.match(refused.message, /data\[250\]\.properties\.currency/, 'and names the event')
  t.same(await stored(), { events: [], received: 0, duplicates_dropped: 0 }, 'nothing of it is stored or counted')

  const [a, b] = await Promise.all([track(events(0, 300)), track(events(0, 300))])
  t.same([a.code, b.code], [0, 0], 'two requests with the same 300 events, in flight together, both succeed')
  const s = await stored()
  t.equal(s.events.length, 300, 'each event is stored once')
  t.same(s.events.map(e => e.event_id).sort(), events(0, 300).map(e => String(e['event_id'])).sort())
  t.equal(s.duplicates_dropped, 300, 'the second copy of each is a dropped duplicate')
  t.equal(s.received, 600)
})
