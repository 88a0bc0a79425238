// The reads a monthly usage report needs (over TikTokClient): the ad account's currency and time
// zone, every ad group with its audiences (deleted ones included), and the synchronous BASIC
// report at ad-group level, paged to the end. Ids and money stay strings: TikTok sends metric
// values as decimal strings, and summing them is the caller's job, in exact arithmetic.
import { formatCount } from '../../pipeline/format-count.js'
import type { TikTokClient } from './tiktok-client.js'
import { ApiError } from './api-error.js'

/** TikTok's page_size maximum for both endpoints. */
export const kPageSize = 1000
/** TikTok's caps on start_date..end_date, both inclusive, in the advertiser's time zone. */
export const kMaxDaysDaily = 30
/** Ids one filter may carry (TikTok's best-practice limit for adgroup_ids). */
export const kMaxFilterIds = 100

export interface AdvertiserAccount { advertiserId: string, name: string, currency: string, timezone: string }

export interface AdGroupInfo {
  adgroupId: string
  name: string
  campaignId: string
  campaignName: string
  audienceIds: string[]
  excludedAudienceIds: string[]
  deleted: boolean
}

export interface ReportRow {
  adgroupId: string
  /** 'YYYY-MM-DD' (the advertiser's local day). */
  day: string
  campaignId: string
  campaignName: string
  adgroupName: string
  /** TikTok's decimal string, unchanged. */
  spend: string
  impressions: string
}

interface Page<T> { list?: T[], page_info?: { total_page?: unknown } }

const ids = (v: unknown): string[] => Array.isArray(v) ? v.map(String) : []

function protocolError (endpoint: string, what: string): ApiError {
  return new ApiError('HP_ERR_API_PROTOCOL', `TikTok answered ${endpoint} with ${what}; run the report again, and if it persists report it with the request id from --log-file`, { endpoint })
}

async function allPages<T> (client: TikTokClient, endpoint: string, advertiserId: string, query: Record<string, string | number | string[]>, onHeaders?: (h: Record<string, string | string[] | undefined>) => void): Promise<T[]> {
  const out: T[] = []
  for (let page = 1; ; page++) {
    const data = await client.call<Page<T>>('GET', endpoint, { advertiserId, query: { ...query, page, page_size: kPageSize }, ...(onHeaders !== undefined ? { onHeaders } : {}) })
    if (!Array.isArray(data.list)) throw protocolError(endpoint, 'no list')
    out.push(...data.list)
    const total = Number(data.page_info?.total_page ?? 1)
    if (!Number.isInteger(total)) throw protocolError(endpoint, 'a page_info without total_page')
    if (page >= total || data.list.length === 0) return out
  }
}

export async function advertiserAccount (client: TikTokClient, advertiserId: string): Promise<AdvertiserAccount> {
  const data = await client.call<{ list?: Array<Record<string, unknown>> }>('GET', '/advertiser/info/', {
    advertiserId, query: { advertiser_ids: [advertiserId], fields: ['advertiser_id', 'name', 'currency', 'timezone'] }
  })
  const a = data.list?.find(x => String(x['advertiser_id']) === advertiserId)
  if (a === undefined || typeof a['currency'] !== 'string' || typeof a['timezone'] !== 'string') throw protocolError('/advertiser/info/', `no currency and time zone for advertiser ${advertiserId}`)
  return { advertiserId, name: String(a['name'] ?? ''), currency: a['currency'], timezone: a['timezone'] }
}

/** Every ad group of the account, deleted ones included (TikTok leaves them out by default). */
export async function listAdGroups (client: TikTokClient, advertiserId: string): Promise<AdGroupInfo[]> {
  const rows = await allPages<Record<string, unknown>>(client, '/adgroup/get/', advertiserId, {
    advertiser_id: advertiserId,
    fields: ['adgroup_id', 'adgroup_name', 'campaign_id', 'campaign_name', 'audience_ids', 'excluded_audience_ids', 'secondary_status'],
    filtering: JSON.stringify({ primary_status: 'STATUS_ALL' })
  })
  return rows.map(g => ({
    adgroupId: String(g['adgroup_id']),
    name: String(g['adgroup_name'] ?? ''),
    campaignId: String(g['campaign_id'] ?? ''),
    campaignName: String(g['campaign_name'] ?? ''),
    audienceIds: ids(g['audience_ids']),
    excludedAudienceIds: ids(g['excluded_audience_ids']),
    deleted: g['secondary_status'] === 'ADGROUP_STATUS_DELETE'
  }))
}

/** Inclusive date ranges of at most `maxDays` covering first..last (YYYY-MM-DD). */
export function splitDates (first: string, last: string, maxDays: number): Array<[string, string]> {
  const day = 86_400_000
  const end = Date.parse(`${last}T00:00:00Z`)
  const out: Array<[string, string]> = []
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= end; t += maxDays * day) {
    const stop = Math.min(end, t + (maxDays - 1) * day)
    out.push([new Date(t).toISOString().slice(0, 10), new Date(stop).toISOString().slice(0, 10)])
  }
  return out
}

/**
 * Daily spend and impressions of the given ad groups over first..last (the advertiser's dates):
 * BASIC, AUCTION_ADGROUP, deleted ad groups kept by the status filter, ad groups in chunks of
 * 100, dates in ranges of 30 days (TikTok's cap with stat_time_day), every page. A synchronous
 * report covers only the newest 20,000 ads of what it selects (TikTok flags the cut with the
 * X-Tt-Ads-Throttle header): a flagged chunk is split in halves and asked again, down to one ad
 * group; one ad group over the limit is an error, since its figures would be short.
 */
export async function adGroupDays (client: TikTokClient, advertiserId: string, adgroupIds: string[], first: string, last: string): Promise<ReportRow[]> {
  const out: ReportRow[] = []
  const pending: string[][] = []
  for (let i = 0; i < adgroupIds.length; i += kMaxFilterIds) pending.push(adgroupIds.slice(i, i + kMaxFilterIds))
  for (let chunk = pending.shift(); chunk !== undefined; chunk = pending.shift()) {
    const rows = await chunkDays(client, advertiserId, chunk, first, last)
    if (rows !== undefined) { out.push(...rows); continue }
    if (chunk.length === 1) {
      throw new ApiError('HP_ERR_API_TERMINAL', `ad group ${chunk[0]!} of advertiser ${advertiserId} holds more than ${formatCount(kSyncReportAds)} ads, more than TikTok's synchronous report covers, so its spend would be short; ask TikTok to allowlist the app for asynchronous reports, or report this ad group from Ads Manager's export`, { endpoint: '/report/integrated/get/' })
    }
    const half = Math.ceil(chunk.length / 2)
    pending.unshift(chunk.slice(0, half), chunk.slice(half))
  }
  return out
}

/** Ads a synchronous report covers. */
export const kSyncReportAds = 20_000

/** One chunk's rows over every date range; undefined when TikTok flagged any answer as cut at 20,000 ads. */
async function chunkDays (client: TikTokClient, advertiserId: string, chunk: string[], first: string, last: string): Promise<ReportRow[] | undefined> {
  const out: ReportRow[] = []
  let truncated = false
  const onHeaders = (h: Record<string, string | string[] | undefined>): void => { if (h['x-tt-ads-throttle'] !== undefined) truncated = true }
  for (const [start, end] of splitDates(first, last, kMaxDaysDaily)) {
    const rows = await allPages<{ dimensions?: Record<string, unknown>, metrics?: Record<string, unknown> }>(client, '/report/integrated/get/', advertiserId, {
      advertiser_id: advertiserId,
      report_type: 'BASIC',
      service_type: 'AUCTION',
      data_level: 'AUCTION_ADGROUP',
      dimensions: ['adgroup_id', 'stat_time_day'],
      metrics: ['spend', 'impressions', 'campaign_id', 'campaign_name', 'adgroup_name'],
      start_date: start,
      end_date: end,
      filtering: JSON.stringify([
        { field_name: 'adgroup_status', filter_type: 'IN', filter_value: JSON.stringify(['STATUS_ALL']) },
        { field_name: 'adgroup_ids', filter_type: 'IN', filter_value: JSON.stringify(chunk) }
      ])
    }, onHeaders)
    if (truncated) return undefined
    for (const r of rows) {
      const d = r.dimensions ?? {}
      const m = r.metrics ?? {}
      const day = String(d['stat_time_day'] ?? '').slice(0, 10)
      if (typeof d['adgroup_id'] !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(day)) throw protocolError('/report/integrated/get/', 'a row without adgroup_id or stat_time_day')
      out.push({
        adgroupId: d['adgroup_id'],
        day,
        campaignId: String(m['campaign_id'] ?? ''),
        campaignName: String(m['campaign_name'] ?? ''),
        adgroupName: String(m['adgroup_name'] ?? ''),
        spend: String(m['spend'] ?? '0'),
        impressions: String(m['impressions'] ?? '0')
      })
    }
  }
  return out
}
