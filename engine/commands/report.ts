// `hashpipe report usage --config FILE --month YYYY-MM [--destination NAME] [--format csv|json]
// [--out FILE]`: the monthly Data Marketplace usage report (engine/report/usage-report.ts),
// written atomically, and the month recorded as reported for each destination it covers.
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { parseRetryBudget } from '../distribute/duration.js'
import { StateStore } from '../state/state-store.js'
import { AtomicFileWriter } from '../../adapters/atomic-file.js'
import { ExitCode, UsageError } from '../../pipeline/errors.js'
import { assertDistinctFiles, csvCell } from '../cli-values.js'
import { parseMonth } from '../report/month.js'
import { buildUsageReport, type UsageReport, type UsageReportOptions } from '../report/usage-report.js'
import type { CommandIo } from '../command.js'

const kHelp = `usage: hashpipe report usage --config FILE --month YYYY-MM [options]

The monthly usage report for Data Marketplace (data-marketplace-3pd) destinations: every ad
group that targeted or excluded an audience hashpipe delivered for a third-party segment
(deleted ad groups included), with its impressions and spend for the month in the ad account's
time zone, a total per advertiser and currency, and the destination's reporting contacts.

  --config FILE          the config (YAML or JSON)
  --month YYYY-MM        the month; it must have ended at least a day ago in the ad account's
                         time zone, after TikTok's 12:00 UTC data fix
  --destination NAME     only this destination (default: every data-marketplace-3pd one)
  --format csv|json      default csv
  --out FILE             write here, atomically (default: stdout)
  --retry-budget D       how long one TikTok call may keep retrying (default: tiktok.retry_budget, 10m)
  -h, --help

Exit codes: 0 written, 2 usage (including a month not reportable yet, with the reason),
4 re-authorization required (run hashpipe connect tiktok), 5 TikTok unavailable after retries
(run again later), 78 config invalid, 1 any other failure.
`

const kColumns = ['row_type', 'month', 'advertiser_id', 'advertiser_name', 'currency', 'timezone', 'campaign_id', 'campaign_name', 'adgroup_id', 'adgroup_name', 'adgroup_deleted',
  'audience_ids', 'excluded_audience_ids', 'segments', 'destinations', 'impressions', 'spend', 'data_cost_percent', 'data_cost'] as const

export function usageCsv (r: UsageReport): string {
  const lines = [
    `# hashpipe Data Marketplace usage report, month ${r.month}, generated ${r.generatedAt}`,
    ...r.contacts.map(c => `# reporting contact (${c.destination}): ${c.emails.join(', ')}`),
    kColumns.join(',')
  ]
  const line = (cells: Array<string | null>): string => cells.map(c => csvCell(c ?? '')).join(',')
  for (const x of r.rows) {
    lines.push(line(['adgroup', x.month, x.advertiserId, x.advertiserName, x.currency, x.timezone, x.campaignId, x.campaignName, x.adgroupId, x.adgroupName, String(x.adgroupDeleted),
      x.audienceIds.join(' '), x.excludedAudienceIds.join(' '), x.segments.join('; '), x.destinations.join('; '), x.impressions, x.spend, x.dataCostPercent, x.dataCost]))
  }
  for (const x of r.totals) {
    lines.push(line(['total', x.month, x.advertiserId, x.advertiserName, x.currency, x.timezone, '', '', '', '', '', '', '', '', '', x.impressions, x.spend, '', x.dataCost]))
  }
  return lines.join('\n') + '\n'
}

export function usageJson (r: UsageReport): string {
  const snake = (o: object): Record<string, unknown> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`), v]))
  return JSON.stringify({
    report: 'data-marketplace-usage',
    month: r.month,
    generated_at: r.generatedAt,
    destinations: r.destinations,
    reporting_contacts: r.contacts,
    rows: r.rows.map(snake),
    totals: r.totals.map(snake)
  }, null, 2) + '\n'
}

/** Tests pass what the process would otherwise decide: the clock and client retry settings. */
export async function reportUsage (argv: string[], io: CommandIo, overrides: Partial<Pick<UsageReportOptions, 'now' | 'client'>> = {}): Promise<number> {
  let v
  try {
    v = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, month: { type: 'string' }, destination: { type: 'string' }, format: { type: 'string', default: 'csv' }, out: { type: 'string', default: '-' }, 'retry-budget': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
      strict: true
    }).values
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe report usage --help)`)
  }
  if (v.help) { io.stdout.write(kHelp); return ExitCode.OK }
  if (v.config === undefined) throw new UsageError('--config FILE is required (see hashpipe report usage --help)')
  if (v.month === undefined) throw new UsageError('--month YYYY-MM is required (see hashpipe report usage --help)')
  if (v.format !== 'csv' && v.format !== 'json') throw new UsageError(`--format must be csv or json, not '${v.format}'`)
  const month = parseMonth(v.month)
  await assertDistinctFiles([{ option: '--out', path: v.out }], [{ option: '--config', path: v.config }])
  const retryBudgetMs = parseRetryBudget(v['retry-budget'])
  const config = await loadConfig(v.config, io.env)
  if (retryBudgetMs !== undefined) config.tiktok.retryBudgetMs = retryBudgetMs
  const state = StateStore.open(config.stateDir)
  try {
    // Opened first, so an unwritable --out fails before any TikTok call; nothing shows until commit.
    const out = await AtomicFileWriter.create(v.out, io.stdout)
    let report: UsageReport
    try {
      report = await buildUsageReport(config, state, { month, now: overrides.now ?? new Date(), ...(v.destination !== undefined ? { destination: v.destination } : {}), ...(overrides.client !== undefined ? { client: overrides.client } : {}) })
      await out.write(v.format === 'csv' ? usageCsv(report) : usageJson(report))
      await out.commit()
    } catch (err) {
      await out.abort()
      throw err
    }
    state.transaction(() => {
      for (const d of report.destinations) state.usageReports.record(d, report.month, report.rows.filter(r => r.destinations.includes(d)).length, v.out === '-' ? 'stdout' : out.path)
    })
    if (v.out !== '-') io.stderr.write(`hashpipe: usage report for ${report.month} written to ${v.out}: ${report.rows.length} ad group row(s), ${report.totals.length} total(s)\n`)
    return ExitCode.OK
  } finally {
    state.close()
  }
}

export default async function report (argv: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === 'usage') return await reportUsage(rest, io)
  if (sub === undefined || sub === '--help' || sub === '-h') {
    // Without its subcommand the command line is incomplete: usage on stderr, as for any usage error.
    ;(sub === undefined ? io.stderr : io.stdout).write('usage: hashpipe report usage --config FILE --month YYYY-MM [--destination NAME] [--format csv|json] [--out FILE]\n\nRun \'hashpipe report usage --help\' for details.\n')
    return sub === undefined ? ExitCode.USAGE : ExitCode.OK
  }
  throw new UsageError(`unknown report '${sub}'; the one report is: usage (see hashpipe report --help)`)
}
