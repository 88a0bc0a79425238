// The monthly reporting obligation of Data Marketplace destinations, as status and doctor show
// it: a data-marketplace-3pd destination that had a delivered audience before the last
// reportable month ended, and no usage report recorded for that month.
import type { ResolvedConfig } from '../config.js'
import type { StateStore } from '../state/state-store.js'
import { shellQuote } from '../config-rules.js'
import { lastReportableMonth, monthEnd } from './month.js'
import { kIntegration } from './usage-report.js'

export interface UsageObligation {
  destination: string
  month: string
  reported: boolean
  reportedAt: string | null
  /** The command that makes the missing report; null when reported. */
  command: string | null
}

export function usageObligations (config: ResolvedConfig, state: StateStore, configPath: string, now: Date = new Date()): UsageObligation[] {
  const month = lastReportableMonth(now)
  const ended = monthEnd(month)
  const out: UsageObligation[] = []
  for (const d of config.destinations.filter(x => x.integration === kIntegration)) {
    const delivered = state.distributions.list().some(x => x.destination === d.name && x.audienceCreatedAt !== null && Date.parse(x.audienceCreatedAt) < ended)
    if (!delivered) continue
    const done = state.usageReports.find(d.name, month.text)
    out.push({
      destination: d.name,
      month: month.text,
      reported: done !== undefined,
      reportedAt: done?.reportedAt ?? null,
      command: done !== undefined ? null : `hashpipe report usage --config ${shellQuote(configPath)} --month ${month.text} --destination ${shellQuote(d.name)} --out usage-${month.text}.csv`
    })
  }
  return out
}
