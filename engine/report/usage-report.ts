// The monthly Data Marketplace usage report: for the data-marketplace-3pd destinations, the
// TikTok audiences hashpipe delivered (state database), the ad groups of their ad accounts that
// target or exclude any of them (deleted ones included), and those ad groups' spend and
// impressions for the month in the account's time zone. One row per (advertiser, campaign, ad
// group), one total per advertiser and currency, money exact (money.ts).
import type { DestinationConfig, ResolvedConfig } from '../config.js'
import type { StateStore } from '../state/state-store.js'
import { TikTokClient, type TikTokClientOptions } from '../../adapters/tiktok/tiktok-client.js'
import { adGroupDays, advertiserAccount, listAdGroups } from '../../adapters/tiktok/reporting.js'
import { ExitCode, HashpipeError, UsageError } from '../../pipeline/errors.js'
import { formatAmount, formatPercent, parseAmount, parsePercent, percentOf } from './money.js'
import { assertReportable, assertEndedAnywhere, knownZone, type Month } from './month.js'

export const kIntegration = 'data-marketplace-3pd'

export interface UsageRow {
  month: string
  advertiserId: string
  advertiserName: string
  currency: string
  timezone: string
  campaignId: string
  campaignName: string
  adgroupId: string
  adgroupName: string
  adgroupDeleted: boolean
  /** hashpipe's 3PD audiences the ad group targets / excludes. */
  audienceIds: string[]
  excludedAudienceIds: string[]
  segments: string[]
  destinations: string[]
  impressions: string
  spend: string
  /** The highest data_cost_percent among the ad group's 3PD segments; null when none is configured. */
  dataCostPercent: string | null
  dataCost: string | null
}

export interface UsageTotal { month: string, advertiserId: string, advertiserName: string, currency: string, timezone: string, adgroups: number, impressions: string, spend: string, dataCost: string | null }

export interface UsageReport {
  month: string
  generatedAt: string
  destinations: string[]
  contacts: Array<{ destination: string, emails: string[] }>
  rows: UsageRow[]
  totals: UsageTotal[]
}

export interface UsageReportOptions {
  month: Month
  destination?: string
  now: Date
  /** Client settings beyond the config's (tests shorten retries). */
  client?: Partial<TikTokClientOptions>
}

interface Audience { audienceId: string, segment: string, destination: string, percent: bigint | undefined }

/** The 3PD destinations the report covers; a named one must be one. */
export function reportDestinations (config: ResolvedConfig, name: string | undefined): DestinationConfig[] {
  const all = config.destinations.filter(d => d.integration === kIntegration)
  if (name === undefined) {
    if (all.length === 0) throw new UsageError(`the config has no ${kIntegration} destination; usage reports cover Data Marketplace (third-party) data only`)
    return all
  }
  const d = config.destinations.find(x => x.name === name)
  if (d === undefined) throw new UsageError(`--destination '${name}' is not in the config (destinations: ${config.destinations.map(x => x.name).join(', ')})`)
  if (d.integration !== kIntegration) throw new UsageError(`--destination '${name}' is ${d.integration}; usage reports cover ${kIntegration} destinations only`)
  return [d]
}

function tokenFor (config: ResolvedConfig, state: StateStore, d: DestinationConfig): string {
  const connection = state.catalog.connection(d.connection)
  const connect = `hashpipe connect tiktok --config ${config.file ?? 'FILE'} --name ${d.connection}`
  if (connection === undefined || !state.tokens.has(d.connection)) {
    throw new HashpipeError('HP_ERR_API_REAUTHORIZE', `destination '${d.name}' uses connection '${d.connection}', which has no token; run: ${connect}`, ExitCode.REAUTHORIZE)
  }
  if (!connection.advertiserIds.includes(d.advertiserId)) {
    throw new HashpipeError('HP_ERR_API_REAUTHORIZE', `connection '${d.connection}' does not reach advertiser ${d.advertiserId} (destination '${d.name}'); authorize that ad account for the app and run: ${connect}`, ExitCode.REAUTHORIZE)
  }
  return state.tokens.read(d.connection).reveal()
}

const sortIds = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)

export async function buildUsageReport (config: ResolvedConfig, state: StateStore, options: UsageReportOptions): Promise<UsageReport> {
  const { month } = options
  const selected = reportDestinations(config, options.destination)
  assertEndedAnywhere(month, options.now)
  // Every 3PD audience hashpipe delivered, from the state (segments since removed from the config
  // still count: their audiences may still be on ad groups). The rate rule looks at all of them.
  const audiences = new Map<string, Audience>()
  const threePd = new Map(config.destinations.filter(d => d.integration === kIntegration).map(d => [d.name, d]))
  for (const dist of state.distributions.list()) {
    const dest = threePd.get(dist.destination)
    if (dest === undefined || dist.audienceId === null) continue
    const rate = dest.marketplace?.dataCostPercent
    audiences.set(dist.audienceId, { audienceId: dist.audienceId, segment: dist.segment, destination: dest.name, percent: rate === undefined ? undefined : parsePercent(rate) })
  }

  const rows: UsageRow[] = []
  const totals: UsageTotal[] = []
  const byAdvertiser = new Map<string, DestinationConfig[]>()
  for (const d of selected) byAdvertiser.set(d.advertiserId, [...(byAdvertiser.get(d.advertiserId) ?? []), d])
  for (const [advertiserId, dests] of byAdvertiser) {
    const names = new Set(dests.map(d => d.name))
    const ours = new Set([...audiences.values()].filter(a => names.has(a.destination)).map(a => a.audienceId))
    // Nothing delivered to this account: nothing used, nothing to ask TikTok (nor a token to need).
    if (ours.size === 0) continue
    const client = new TikTokClient({ apiBaseUrl: config.tiktok.apiBaseUrl, accessToken: tokenFor(config, state, dests[0]!), rateLimit: config.tiktok.rateLimit, retryBudgetMs: config.tiktok.retryBudgetMs, ...options.client })
    try {
      const account = await advertiserAccount(client, advertiserId)
      if (!knownZone(account.timezone)) throw new HashpipeError('HP_ERR_API_PROTOCOL', `TikTok gives advertiser ${advertiserId} the time zone '${account.timezone}', which this Node.js does not know; update Node.js (its ICU data) and run the report again`)
      assertReportable(month, account.timezone, options.now, advertiserId)
      const groups = (await listAdGroups(client, advertiserId))
        .filter(g => g.audienceIds.some(id => ours.has(id)) || g.excludedAudienceIds.some(id => ours.has(id)))
      const days = await adGroupDays(client, advertiserId, groups.map(g => g.adgroupId), month.first, month.last)
      const sums = new Map<string, { spend: bigint, impressions: bigint, campaignName?: string, adgroupName?: string }>()
      for (const r of days) {
        const s = sums.get(r.adgroupId) ?? { spend: 0n, impressions: 0n }
        s.spend += parseAmount(r.spend, `spend of ad group ${r.adgroupId} on ${r.day}`)
        if (!/^\d+$/.test(r.impressions)) throw new HashpipeError('HP_ERR_API_PROTOCOL', `impressions of ad group ${r.adgroupId} on ${r.day}: '${r.impressions}' is not a count; run the report again, and if it persists report it`)
        s.impressions += BigInt(r.impressions)
        if (r.campaignName !== '') s.campaignName = r.campaignName
        if (r.adgroupName !== '') s.adgroupName = r.adgroupName
        sums.set(r.adgroupId, s)
      }
      const advertiserRows: Array<UsageRow & { spendMicro: bigint, costMicro: bigint | null }> = []
      for (const g of groups) {
        const s = sums.get(g.adgroupId)
        // An ad group that did not deliver in the month has nothing to report.
        if (s === undefined || (s.spend === 0n && s.impressions === 0n)) continue
        const on = [...g.audienceIds, ...g.excludedAudienceIds].map(id => audiences.get(id)).filter((a): a is Audience => a !== undefined)
        const rates = on.map(a => a.percent).filter((p): p is bigint => p !== undefined)
        const rate = rates.length === 0 ? undefined : rates.reduce((m, p) => p > m ? p : m)
        const cost = rate === undefined ? null : percentOf(s.spend, rate, account.currency)
        advertiserRows.push({
          month: month.text,
          advertiserId,
          advertiserName: account.name,
          currency: account.currency,
          timezone: account.timezone,
          campaignId: g.campaignId,
          campaignName: s.campaignName ?? g.campaignName,
          adgroupId: g.adgroupId,
          adgroupName: s.adgroupName ?? g.name,
          adgroupDeleted: g.deleted,
          audienceIds: g.audienceIds.filter(id => audiences.has(id)).sort(sortIds),
          excludedAudienceIds: g.excludedAudienceIds.filter(id => audiences.has(id)).sort(sortIds),
          segments: [...new Set(on.map(a => a.segment))].sort(),
          destinations: [...new Set(on.map(a => a.destination))].sort(),
          impressions: s.impressions.toString(),
          spend: formatAmount(s.spend, account.currency),
          dataCostPercent: rate === undefined ? null : formatPercent(rate),
          dataCost: cost === null ? null : formatAmount(cost, account.currency),
          spendMicro: s.spend,
          costMicro: cost
        })
      }
      advertiserRows.sort((a, b) => sortIds(a.campaignId, b.campaignId) || sortIds(a.adgroupId, b.adgroupId))
      totals.push(totalOf(month.text, account, advertiserRows, advertiserRows.some(r => r.costMicro !== null)))
      for (const { spendMicro: _s, costMicro: _c, ...row } of advertiserRows) rows.push(row)
    } finally {
      await client.close()
    }
  }
  return {
    month: month.text,
    generatedAt: options.now.toISOString(),
    destinations: selected.map(d => d.name),
    contacts: selected.map(d => ({ destination: d.name, emails: d.marketplace?.reportingContactEmails ?? [] })),
    rows,
    totals
  }
}

function totalOf (month: string, account: { advertiserId: string, name: string, currency: string, timezone: string }, rows: Array<{ spendMicro: bigint, costMicro: bigint | null, impressions: string }>, withCost: boolean): UsageTotal {
  return {
    month,
    advertiserId: account.advertiserId,
    advertiserName: account.name,
    currency: account.currency,
    timezone: account.timezone,
    adgroups: rows.length,
    impressions: rows.reduce((n, r) => n + BigInt(r.impressions), 0n).toString(),
    spend: formatAmount(rows.reduce((n, r) => n + r.spendMicro, 0n), account.currency),
    dataCost: withCost ? formatAmount(rows.reduce((n, r) => n + (r.costMicro ?? 0n), 0n), account.currency) : null
  }
}
