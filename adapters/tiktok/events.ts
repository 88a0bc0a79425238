// POST /event/track/ (Events API 2.0) for offline events: one request per batch of at most
// 1,000 events. TikTok fails a whole batch for one bad event, so a batch refused as a parameter
// error (40002) is split in halves until the events at fault stand alone; those are returned as
// rejected with TikTok's code and the rest are sent. Past kMaxIsolated isolated events the fault
// is taken to be the request's (event set id, permissions), not an event's, and the error stands.
import { ApiError } from './api-error.js'
import type { TikTokClient } from './tiktok-client.js'

export const EVENTS_ENDPOINT = '/event/track/'
const kMaxIsolated = 16

export interface EventsOutcome {
  /** Positions in the batch TikTok refused, with its code. */
  rejected: Array<{ index: number, apiCode: number }>
  requests: number
}

const isEventFault = (err: unknown): err is ApiError => err instanceof ApiError && err.code === 'HP_ERR_API_TERMINAL' && err.apiCode === 40002

export async function trackEvents (client: TikTokClient, eventSourceId: string, events: readonly unknown[]): Promise<EventsOutcome> {
  const out: EventsOutcome = { rejected: [], requests: 0 }
  const send = async (from: number, to: number): Promise<void> => {
    out.requests++
    try {
      await client.call('POST', EVENTS_ENDPOINT, { body: { event_source: 'offline', event_source_id: eventSourceId, data: events.slice(from, to) } })
    } catch (err) {
      if (!isEventFault(err)) throw err
      if (to - from === 1) {
        out.rejected.push({ index: from, apiCode: err.apiCode ?? 40002 })
        if (out.rejected.length > kMaxIsolated) throw err
        return
      }
      const mid = from + Math.floor((to - from) / 2)
      await send(from, mid)
      await send(mid, to)
    }
  }
  if (events.length > 0) await send(0, events.length)
  return out
}
