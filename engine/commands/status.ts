// `hashpipe status --config FILE [--json]`: per distribution, its destination, segment, TikTok
// audience id, delivered counts per id type, the last runs with their adds/removes and outcome,
// matched reach (cover_num) with when it was read, and the last error.
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { StateStore } from '../state/state-store.js'
import { ExitCode, UsageError } from '../../pipeline/errors.js'
import type { CommandIo } from '../command.js'
import { parsePositiveInteger } from '../cli-values.js'
import { usageObligations } from '../report/obligations.js'

export default async function status (argv: string[], io: CommandIo): Promise<number> {
  let v
  try {
    v = parseArgs({ args: argv, options: { config: { type: 'string' }, json: { type: 'boolean', default: false }, runs: { type: 'string', default: '5' }, help: { type: 'boolean', short: 'h', default: false } }, strict: true }).values
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe status --help)`)
  }
  if (v.help) {
    io.stdout.write('usage: hashpipe status --config FILE [--json] [--runs N]\n\nShows every distribution: audience, delivered counts, recent runs (adds/removes, outcome), matched reach and the last error.\n')
    return ExitCode.OK
  }
  if (v.config === undefined) throw new UsageError('--config FILE is required')
  const runLimit = parsePositiveInteger('runs', v.runs)
  const config = await loadConfig(v.config, io.env)
  const state = StateStore.open(config.stateDir)
  try {
    const out = []
    for (const segment of config.segments) {
      if (segment.destination === undefined) continue
      const destination = config.destinations.find(d => d.name === segment.destination)!
      const d = state.distributions.find(segment.name, destination.name)
      const recorded = state.catalog.destination(destination.name)
      const runs = d === undefined ? [] : state.runs.history(d.id, runLimit)
      out.push({
        segment: segment.name,
        destination: destination.name,
        integration: destination.integration,
        advertiser_id: destination.advertiserId,
        activated: recorded?.activatedAt != null,
        role: recorded?.role ?? null,
        audience_id: d?.audienceId ?? null,
        delivered: d?.deliveredCounts ?? {},
        delivered_at: d?.deliveredAt ?? null,
        matched_reach: d?.matchedReach ?? null,
        matched_reach_at: d?.matchedReachAt ?? null,
        audience_type: d?.audienceType ?? destination.audienceType,
        processing_since: d?.processingSince ?? null,
        last_error: d?.lastError == null ? null : { code: d.lastError.code, message: d.lastError.message, at: d.lastError.at },
        runs: runs.map(r => ({ id: r.id, started_at: r.startedAt, finished_at: r.finishedAt, outcome: r.outcome, phase: r.phase, dry_run: r.dryRun, adds: r.counts['add'] ?? null, removes: r.counts['delete'] ?? null, error: r.error }))
      })
    }
    const usage = usageObligations(config, state, v.config)
    const conversions = config.conversions.map(c => ({
      name: c.name,
      event_source_id: c.eventSourceId,
      runs: state.conversions.history(c.name, runLimit).map(r => ({ id: r.id, started_at: r.startedAt, finished_at: r.finishedAt, outcome: r.outcome, counts: r.counts, error: r.error }))
    }))
    if (v.json) {
      io.stdout.write(JSON.stringify({ distributions: out, conversions, usage_reports: usage.map(u => ({ destination: u.destination, month: u.month, reported: u.reported, reported_at: u.reportedAt, command: u.command })) }) + '\n')
      return ExitCode.OK
    }
    for (const c of conversions) {
      io.stdout.write(`conversions ${c.name} → event set ${c.event_source_id}${c.runs.length === 0 ? ': never sent' : ''}\n`)
      for (const r of c.runs) {
        const k = r.counts
        io.stdout.write(`  run ${r.id}: ${r.outcome}${r.outcome === 'running' ? ' (interrupted; conversions send resumes it)' : ''}, started ${r.started_at}, ${k['read'] ?? 0} read, ${k['sent'] ?? 0} sent, ${k['rejected'] ?? 0} rejected, ${k['duplicates'] ?? 0} duplicates${r.error === null ? '' : `, ${r.error.code}: ${r.error.message}`}\n`)
      }
    }
    if (out.length === 0 && conversions.length === 0) io.stdout.write('no segment has a destination in this config\n')
    for (const s of out) {
      const delivered = Object.entries(s.delivered).map(([k, n]) => `${k} ${(n ?? 0).toLocaleString('en-US')}`).join(', ')
      io.stdout.write(`${s.segment} → ${s.destination} (${s.integration}, advertiser ${s.advertiser_id})\n`)
      io.stdout.write(`  activated:     ${s.activated ? `yes${s.role === null ? '' : ` (${s.role})`}` : 'no — run hashpipe connect tiktok'}\n`)
      io.stdout.write(`  audience:      ${s.audience_id ?? 'not created yet'}\n`)
      io.stdout.write(`  delivered:     ${delivered === '' ? 'nothing yet' : delivered}${s.delivered_at === null ? '' : ` (at ${s.delivered_at})`}\n`)
      io.stdout.write(s.processing_since !== null
        ? `  matched reach: processing since ${s.processing_since} (a ${s.audience_type} audience; TikTok takes up to 48 h, cover_num follows)\n`
        : `  matched reach: ${s.matched_reach === null ? 'unknown' : `${s.matched_reach.toLocaleString('en-US')} (read ${s.matched_reach_at})`}\n`)
      for (const r of s.runs) {
        io.stdout.write(`  run ${r.id}: ${r.outcome}${r.outcome === 'running' ? ` (interrupted in ${r.phase ?? 'start'}; distribute resumes it)` : ''}${r.dry_run ? ' [dry run]' : ''}, started ${r.started_at}, +${r.adds ?? 0} -${r.removes ?? 0}${r.error === null ? '' : `, ${r.error.code}`}\n`)
      }
      if (s.last_error !== null) io.stdout.write(`  last error:    ${s.last_error.code}${s.last_error.at === null ? '' : ` (at ${s.last_error.at})`}: ${s.last_error.message}\n`)
    }
    for (const u of usage) io.stdout.write(`usage report ${u.month} for ${u.destination}: ${u.reported ? `made ${u.reportedAt}` : `missing; send it to LiveRamp monthly — run: ${u.command}`}\n`)
    return ExitCode.OK
  } finally {
    state.close()
  }
}
