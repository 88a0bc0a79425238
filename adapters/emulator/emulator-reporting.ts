// The emulator's ad groups and their delivery: GET /adgroup/get/ and GET /report/integrated/get/
// (BASIC, AUCTION_ADGROUP) with TikTok's parameter rules: array parameters as JSON-encoded
// strings, page_size 1–1000, the date-range caps (30 days with stat_time_day, 1 with
// stat_time_hour, 365 otherwise), deleted objects left out unless the status filter asks for
// them, metric values as strings in the advertiser's currency. Daily figures are keyed by the
// advertiser's local date, as TikTok reports them.

export interface EmulatorDay {
  /** Spend in the currency's minor units (cents for USD), so sums are exact. */
  spendMinor: number
  impressions: number
}

export interface EmulatorAdGroup {
  advertiserId: string
  campaignId: string
  campaignName: string
  adgroupId: string
  name: string
  audienceIds: string[]
  excludedAudienceIds: string[]
  deleted: boolean
  /** Ads in the ad group (1 when absent): a synchronous report covers the newest 20,000 ads. */
  ads?: number
  /** Local date (YYYY-MM-DD in the advertiser's time zone) → that day's delivery. */
  days: Map<string, EmulatorDay>
}

export class ReportFail extends Error {
  constructor (readonly code: number, message: string) { super(message) }
}

/** Minor-unit digits of the currencies the emulator formats; 2 for any other. */
const kCurrencyDigits: Record<string, number> = { JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3 }

export function currencyDigits (currency: string): number {
  return kCurrencyDigits[currency] ?? 2
}

/** Minor units → TikTok's decimal string ("14.68", "1200" for JPY). */
export function formatMinor (minor: number, currency: string): string {
  const digits = currencyDigits(currency)
  if (digits === 0) return String(minor)
  const s = String(Math.abs(minor)).padStart(digits + 1, '0')
  return `${minor < 0 ? '-' : ''}${s.slice(0, -digits)}.${s.slice(-digits)}`
}

/**
 * Deterministic pseudo-random daily delivery (mulberry32 over `seed`), for tests that need many
 * ad groups or days without writing each one: spend 0.00–99.99, impressions 0–9999.
 */
export function seededDays (seed: number, dates: readonly string[]): Map<string, EmulatorDay> {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return new Map(dates.map(d => [d, { spendMinor: Math.floor(next() * 10000), impressions: Math.floor(next() * 10000) }]))
}

/** Every date of a month YYYY-MM. */
export function monthDates (month: string): string[] {
  const [y, m] = month.split('-').map(Number) as [number, number]
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate()
  return Array.from({ length: days }, (_, i) => `${month}-${String(i + 1).padStart(2, '0')}`)
}

interface Advertiser { advertiserId: string, currency?: string }

type Query = URLSearchParams

function jsonParam (q: Query, name: string): unknown {
  const v = q.get(name)
  if (v === null) return undefined
  try {
    return JSON.parse(v)
  } catch {
    throw new ReportFail(40002, `Parameter error: ${name} must be a JSON-encoded value`)
  }
}

function stringList (q: Query, name: string): string[] | undefined {
  const v = jsonParam(q, name)
  if (v === undefined) return undefined
  if (!Array.isArray(v) || !v.every(x => typeof x === 'string')) throw new ReportFail(40002, `Parameter error: ${name} must be a JSON-encoded list of strings`)
  return v as string[]
}

function paging (q: Query): { page: number, size: number } {
  const page = Number(q.get('page') ?? 1)
  const size = Number(q.get('page_size') ?? 10)
  if (!Number.isInteger(page) || page < 1) throw new ReportFail(40002, 'Parameter error: page must be a positive integer')
  if (!Number.isInteger(size) || size < 1 || size > 1000) throw new ReportFail(40002, 'Parameter error: page_size must be between 1 and 1000')
  return { page, size }
}

function pageOf<T> (all: T[], page: number, size: number): { list: T[], page_info: Record<string, number> } {
  return { list: all.slice((page - 1) * size, page * size), page_info: { page, page_size: size, total_number: all.length, total_page: Math.ceil(all.length / size) } }
}

const kDate = /^\d{4}-\d{2}-\d{2}$/
function dateParam (q: Query, name: string): number {
  const v = q.get(name)
  if (v === null) throw new ReportFail(40002, `Parameter error: ${name} is required`)
  const t = Date.parse(`${v}T00:00:00Z`)
  if (!kDate.test(v) || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== v) throw new ReportFail(40002, `Parameter error: ${name} must be a date YYYY-MM-DD`)
  return t
}

/** GET /adgroup/get/: deleted ad groups only with filtering.primary_status STATUS_ALL or STATUS_DELETE. */
export function adGroupGet (groups: Iterable<EmulatorAdGroup>, advertiser: Advertiser, q: Query): unknown {
  const { page, size } = paging(q)
  stringList(q, 'fields')
  const filtering = jsonParam(q, 'filtering') ?? {}
  if (filtering === null || typeof filtering !== 'object' || Array.isArray(filtering)) throw new ReportFail(40002, 'Parameter error: filtering must be a JSON-encoded object')
  const f = filtering as Record<string, unknown>
  const status = f['primary_status'] ?? 'STATUS_NOT_DELETE'
  if (!['STATUS_ALL', 'STATUS_NOT_DELETE', 'STATUS_DELETE'].includes(String(status))) throw new ReportFail(40002, 'Parameter error: filtering.primary_status is not a supported status')
  const ids = f['adgroup_ids']
  if (ids !== undefined && (!Array.isArray(ids) || ids.length > 100)) throw new ReportFail(40002, 'Parameter error: filtering.adgroup_ids must be a list of at most 100 ids')
  const all = [...groups]
    .filter(g => g.advertiserId === advertiser.advertiserId)
    .filter(g => status === 'STATUS_ALL' || (status === 'STATUS_DELETE') === g.deleted)
    .filter(g => ids === undefined || (ids as unknown[]).includes(g.adgroupId))
    .sort((a, b) => a.adgroupId < b.adgroupId ? -1 : a.adgroupId > b.adgroupId ? 1 : 0)
    .map(g => ({
      advertiser_id: g.advertiserId,
      campaign_id: g.campaignId,
      campaign_name: g.campaignName,
      adgroup_id: g.adgroupId,
      adgroup_name: g.name,
      audience_ids: g.audienceIds,
      excluded_audience_ids: g.excludedAudienceIds,
      operation_status: g.deleted ? 'DISABLE' : 'ENABLE',
      secondary_status: g.deleted ? 'ADGROUP_STATUS_DELETE' : 'ADGROUP_STATUS_DELIVERY_OK'
    }))
  return pageOf(all, page, size)
}

const kMetrics = new Set(['spend', 'impressions', 'campaign_id', 'campaign_name', 'adgroup_name'])

/** Ads a synchronous report covers; past them TikTok answers with X-Tt-Ads-Throttle and the newest ads only. */
export const kSyncReportAds = 20_000

/**
 * GET /report/integrated/get/ for report_type BASIC at data_level AUCTION_ADGROUP. `truncated`:
 * the ad groups selected hold more than 20,000 ads, and those beyond the newest 20,000 (higher
 * ids are newer) are left out.
 */
export function integratedReport (groups: Iterable<EmulatorAdGroup>, advertiser: Advertiser, q: Query): { data: unknown, truncated: boolean } {
  if (q.get('report_type') !== 'BASIC') throw new ReportFail(40002, 'Parameter error: report_type must be BASIC (the emulator implements no other)')
  if ((q.get('service_type') ?? 'AUCTION') !== 'AUCTION') throw new ReportFail(40002, 'Parameter error: service_type must be AUCTION')
  if (q.get('data_level') !== 'AUCTION_ADGROUP') throw new ReportFail(40002, 'Parameter error: data_level must be AUCTION_ADGROUP (the emulator implements no other)')
  const dimensions = stringList(q, 'dimensions')
  if (dimensions === undefined || dimensions.length === 0) throw new ReportFail(40002, 'Parameter error: dimensions is required')
  if (dimensions.includes('stat_time_hour')) throw new ReportFail(40002, 'Parameter error: the emulator has daily data only; stat_time_hour is not supported')
  if (!dimensions.includes('adgroup_id') || dimensions.some(d => d !== 'adgroup_id' && d !== 'stat_time_day')) throw new ReportFail(40002, 'Parameter error: dimensions must be adgroup_id, optionally with stat_time_day')
  const daily = dimensions.includes('stat_time_day')
  const metrics = stringList(q, 'metrics') ?? ['spend', 'impressions']
  for (const m of metrics) if (!kMetrics.has(m)) throw new ReportFail(40002, `Parameter error: metric ${m} is not supported`)
  const start = dateParam(q, 'start_date')
  const end = dateParam(q, 'end_date')
  const span = (end - start) / 86_400_000 + 1
  if (span < 1) throw new ReportFail(40002, 'Parameter error: end_date must not be before start_date')
  const cap = daily ? 30 : 365
  if (span > cap) throw new ReportFail(40002, `Parameter error: the date range may cover at most ${cap} days${daily ? ' with stat_time_day' : ''}`)
  const { page, size } = paging(q)

  let includeDeleted = false
  let only: Set<string> | undefined
  const filtering = jsonParam(q, 'filtering') ?? []
  if (!Array.isArray(filtering)) throw new ReportFail(40002, 'Parameter error: filtering must be a JSON-encoded list of filters')
  for (const f of filtering as Array<Record<string, unknown>>) {
    if (f === null || typeof f !== 'object' || typeof f['field_name'] !== 'string' || typeof f['filter_type'] !== 'string' || typeof f['filter_value'] !== 'string') {
      throw new ReportFail(40002, 'Parameter error: every filter needs field_name, filter_type and filter_value (a string)')
    }
    let value: unknown
    try { value = JSON.parse(f['filter_value']) } catch { throw new ReportFail(40002, `Parameter error: filter_value of ${f['field_name']} must be a JSON-encoded list`) }
    if (f['filter_type'] !== 'IN' || !Array.isArray(value)) throw new ReportFail(40002, `Parameter error: the emulator supports only IN filters with a JSON list, not ${f['filter_type']} on ${f['field_name']}`)
    if (f['field_name'] === 'adgroup_status') includeDeleted = value.includes('STATUS_ALL')
    else if (f['field_name'] === 'adgroup_ids') {
      if (value.length > 100) throw new ReportFail(40002, 'Parameter error: adgroup_ids filter takes at most 100 ids')
      only = new Set(value.map(String))
    } else throw new ReportFail(40002, `Parameter error: filter field ${f['field_name']} is not supported`)
  }

  const currency = advertiser.currency ?? 'USD'
  const inRange = (d: string): boolean => { const t = Date.parse(`${d}T00:00:00Z`); return t >= start && t <= end }
  const rows: Array<{ dimensions: Record<string, string>, metrics: Record<string, string> }> = []
  const selected = [...groups].filter(g => g.advertiserId === advertiser.advertiserId && (includeDeleted || !g.deleted) && (only === undefined || only.has(g.adgroupId)))
    .sort((a, b) => a.adgroupId.length - b.adgroupId.length || (a.adgroupId < b.adgroupId ? -1 : a.adgroupId > b.adgroupId ? 1 : 0))
  let ads = 0
  const kept = new Set<EmulatorAdGroup>()
  for (const g of [...selected].reverse()) {
    ads += g.ads ?? 1
    if (ads <= kSyncReportAds) kept.add(g)
  }
  const sorted = selected.filter(g => kept.has(g))
  const metricsOf = (g: EmulatorAdGroup, spendMinor: number, impressions: number): Record<string, string> => {
    const all: Record<string, string> = { spend: formatMinor(spendMinor, currency), impressions: String(impressions), campaign_id: g.campaignId, campaign_name: g.campaignName, adgroup_name: g.name }
    return Object.fromEntries(metrics.map(m => [m, all[m]!]))
  }
  for (const g of sorted) {
    const days = [...g.days].filter(([d]) => inRange(d)).sort(([a], [b]) => a < b ? -1 : 1)
    if (days.length === 0) continue
    if (daily) {
      for (const [d, v] of days) rows.push({ dimensions: { adgroup_id: g.adgroupId, stat_time_day: `${d} 00:00:00` }, metrics: metricsOf(g, v.spendMinor, v.impressions) })
    } else {
      const spend = days.reduce((n, [, v]) => n + v.spendMinor, 0)
      const imps = days.reduce((n, [, v]) => n + v.impressions, 0)
      rows.push({ dimensions: { adgroup_id: g.adgroupId }, metrics: metricsOf(g, spend, imps) })
    }
  }
  return { data: pageOf(rows, page, size), truncated: kept.size < selected.length }
}
