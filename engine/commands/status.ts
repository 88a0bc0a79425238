// `hashpipe status --config FILE [--json] [--watch [S]]`: per distribution, its destination, segment, TikTok
// audience id, delivered counts per id type, the last runs with their adds/removes and outcome,
// matched reach (cover_num) with when it was read, and the last error.
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadConfig, type ResolvedConfig } from '../config.js'
import { StateStore } from '../state/state-store.js'
import { ExitCode, UsageError } from '../../pipeline/errors.js'
import type { CommandIo } from '../command.js'
import { parsePositiveInteger } from '../cli-values.js'
import { usageObligations } from '../report/obligations.js'
import { lockHolder } from '../state/state-lock.js'
import { reasons } from '../distribute/distribute-progress.js'
import { formatCount } from '../../pipeline/format-count.js'

const kHelp = `usage: hashpipe status --config FILE [--json] [--runs N] [--watch [SECONDS]]

Shows every distribution: audience, delivered counts, recent runs (adds/removes, outcome, input
rejects by reason), matched reach and the last error. A run in progress shows its live position
(what TikTok acknowledged of the plan, and how long ago); an interrupted one what TikTok
acknowledged before it stopped. status reads beside a running distribute (it takes no lock and
writes nothing), needs no app secret, and never creates the state directory.

  --watch [SECONDS]  show it again every SECONDS (default 2) until Ctrl-C (exit 130)
`

export default async function status (argv: string[], io: CommandIo): Promise<number> {
  const { args, watch } = watchOption(argv)
  let v
  try {
    v = parseArgs({ args, options: { config: { type: 'string' }, json: { type: 'boolean', default: false }, runs: { type: 'string', default: '5' }, help: { type: 'boolean', short: 'h', default: false } }, strict: true }).values
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe status --help)`)
  }
  if (v.help) {
    io.stdout.write(kHelp)
    return ExitCode.OK
  }
  if (v.config === undefined) throw new UsageError('--config FILE is required')
  // Option values first: a bad one is exit 2 whatever the config says.
  const options = { config: v.config, json: v.json, runs: parsePositiveInteger('runs', v.runs) }
  const config = await loadConfig(v.config, io.env, { secretOptional: true })
  if (watch === undefined) {
    io.stdout.write(report(config, options))
    return ExitCode.OK
  }
  return await watchLoop(io, watch, v.json, () => report(config, options))
}

/** `--watch`, `--watch 5`, `--watch=5`: the refresh period in ms; the other arguments for parseArgs. */
function watchOption (argv: string[]): { args: string[], watch: number | undefined } {
  const args: string[] = []
  let watch: number | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const m = /^--watch(?:=(.*))?$/.exec(a)
    if (m === null) { args.push(a); continue }
    let text = m[1]
    if (text === undefined && argv[i + 1] !== undefined && /^\d/.test(argv[i + 1]!)) text = argv[++i]
    const seconds = text === undefined ? 2 : Number(text)
    if (!(Number.isFinite(seconds) && seconds >= 0.1 && seconds <= 86_400)) throw new UsageError(`--watch takes a number of seconds from 0.1 to 86400, not '${text ?? ''}' (see hashpipe status --help)`)
    watch = Math.round(seconds * 1000)
  }
  return { args, watch }
}

/** Shows the report every `ms` until interrupted (130) or the reader of stdout goes away (0). */
async function watchLoop (io: CommandIo, ms: number, json: boolean, render: () => string): Promise<number> {
  const reader = { gone: false }
  const onClose = (): void => { reader.gone = true }
  io.stdout.on('error', onClose)
  io.stdout.on('close', onClose)
  const tty = io.stdout.isTTY === true
  try {
    while (!reader.gone && !io.signal.aborted) {
      const text = render()
      const head = `status at ${new Date().toISOString()} (every ${ms / 1000} s; Ctrl-C ends)\n`
      // On a terminal the view is redrawn in place; elsewhere each refresh follows the last
      // (with --json one document per line).
      io.stdout.write(json ? text : tty ? `\x1b[H\x1b[2J${head}${text}` : `${head}${text}\n`)
      await sleep(ms, undefined, { signal: io.signal }).catch(() => {})
    }
  } finally {
    io.stdout.off('error', onClose)
    io.stdout.off('close', onClose)
  }
  return reader.gone ? ExitCode.OK : ExitCode.INTERRUPTED
}

const num = formatCount

function ago (iso: string | null, now: number): string {
  if (iso === null) return 'nothing acknowledged yet'
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `at ${iso}`
}

interface Live { add: number, delete: number, total: number | null, last_ack_at: string | null, writer_pid: number | null }

/** What TikTok acknowledged of an unfinished run: the batch ledger (partner) or applied files (customer_file). */
function livePosition (state: StateStore, runId: string, writerPid: number | null): Live {
  const live: Live = { add: 0, delete: 0, total: state.runs.checkpoint<number>(runId, 'deliver_total') ?? null, last_ack_at: state.ledger.lastAckAt(runId), writer_pid: writerPid }
  for (const t of state.ledger.totals(runId)) live[t.action] += t.ackedIdentifiers
  const files = state.uploads.list(runId)
  if (files.length > 0) {
    live.total = files.reduce((n, f) => n + f.ids, 0)
    for (const f of files) if (f.status === 'applied') live[f.action === 'REMOVE' ? 'delete' : 'add'] += f.ids
    live.last_ack_at = files.map(f => f.appliedAt).filter((x): x is string => x !== null).sort().at(-1) ?? null
  }
  return live
}

function report (config: ResolvedConfig, o: { config: string, json: boolean, runs: number }): string {
  const state = StateStore.openReadOnly(config.stateDir)
  const now = Date.now()
  // A live lock holder means the unfinished runs are running now, not interrupted.
  const writer = state.missing ? undefined : lockHolder(state.dir)
  let text = ''
  try {
    const out = []
    for (const segment of config.segments) {
      if (segment.destination === undefined) continue
      const destination = config.destinations.find(d => d.name === segment.destination)!
      const d = state.distributions.find(segment.name, destination.name)
      const recorded = state.catalog.destination(destination.name)
      const runs = d === undefined ? [] : state.runs.history(d.id, o.runs)
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
        runs: runs.map(r => ({
          id: r.id,
          started_at: r.startedAt,
          finished_at: r.finishedAt,
          outcome: r.outcome,
          phase: r.phase,
          dry_run: r.dryRun,
          adds: r.counts['add'] ?? null,
          removes: r.counts['delete'] ?? null,
          rejects: state.runs.checkpoint<number>(r.id, 'rejects') ?? null,
          rejects_by_reason: state.runs.checkpoint<Record<string, number>>(r.id, 'rejects_by_reason') ?? null,
          live: r.outcome === 'running' ? livePosition(state, r.id, writer !== undefined && state.runs.checkpoint<number>(r.id, 'pid') === writer.pid ? writer.pid : null) : null,
          error: r.error
        }))
      })
    }
    const usage = state.missing ? [] : usageObligations(config, state, o.config)
    const conversions = config.conversions.map(c => ({
      name: c.name,
      event_source_id: c.eventSourceId,
      runs: state.conversions.history(c.name, o.runs).map(r => ({
        id: r.id,
        started_at: r.startedAt,
        finished_at: r.finishedAt,
        outcome: r.outcome,
        counts: r.counts,
        live: r.outcome === 'running' ? { ...(({ sent, lastAckAt }) => ({ sent, last_ack_at: lastAckAt }))(state.conversions.acknowledged(r.id)), writer_pid: writer?.pid ?? null } : null,
        error: r.error
      }))
    }))
    if (o.json) {
      return JSON.stringify({ state: state.missing ? 'missing' : 'present', distributions: out, conversions, usage_reports: usage.map(u => ({ destination: u.destination, month: u.month, reported: u.reported, reported_at: u.reportedAt, command: u.command })) }) + '\n'
    }
    const say = (line: string): void => { text += line }
    if (state.missing) say(`no state yet in ${state.dir} (state_dir of the config): nothing was connected or delivered; hashpipe connect tiktok --config ${o.config} --name CONNECTION creates it\n`)
    for (const c of conversions) {
      say(`conversions ${c.name} → event set ${c.event_source_id}${c.runs.length === 0 ? ': never sent' : ''}\n`)
      for (const r of c.runs) {
        const k = r.counts
        const live = r.live === null
          ? ''
          : r.live.writer_pid !== null
            ? ` (running now, pid ${r.live.writer_pid}: ${num(r.live.sent)} sent, ${ago(r.live.last_ack_at, now)})`
            : ` (interrupted after ${num(r.live.sent)} sent; conversions send resumes it)`
        say(`  run ${r.id}: ${r.outcome}${live}, started ${r.started_at}, ${num(k['read'] ?? 0)} read, ${num(k['sent'] ?? r.live?.sent ?? 0)} sent, ${num(k['rejected'] ?? 0)} rejected, ${num(k['duplicates'] ?? 0)} duplicates${r.error === null ? '' : `, ${r.error.code}: ${r.error.message}`}\n`)
      }
    }
    if (out.length === 0 && conversions.length === 0) say('no segment has a destination in this config\n')
    for (const s of out) {
      const delivered = Object.entries(s.delivered).map(([k, n]) => `${k} ${num(n ?? 0)}`).join(', ')
      const open = s.runs.find(r => r.live !== null)
      const acked = open?.live === null || open === undefined ? 0 : open.live.add + open.live.delete
      say(`${s.segment} → ${s.destination} (${s.integration}, advertiser ${s.advertiser_id})\n`)
      say(`  activated:     ${s.activated ? `yes${s.role === null ? '' : ` (${s.role})`}` : 'no — run hashpipe connect tiktok'}\n`)
      say(`  audience:      ${s.audience_id ?? 'not created yet'}\n`)
      say(`  delivered:     ${delivered === '' ? (acked > 0 ? `nothing committed yet; ${num(acked)} acknowledged by TikTok in run ${open!.id}` : 'nothing yet') : delivered}${s.delivered_at === null ? '' : ` (at ${s.delivered_at})`}\n`)
      say(s.processing_since !== null
        ? `  matched reach: processing since ${s.processing_since} (a ${s.audience_type} audience; TikTok takes up to 48 h, cover_num follows)\n`
        : `  matched reach: ${s.matched_reach === null ? 'unknown' : `${num(s.matched_reach)} (read ${s.matched_reach_at})`}\n`)
      for (const r of s.runs) {
        let where = ''
        let counts = `+${num(r.adds ?? 0)} -${num(r.removes ?? 0)}`
        if (r.live !== null) {
          const l = r.live
          const position = `${num(l.add + l.delete)}${l.total === null ? '' : ` of ${num(l.total)}`} sent`
          where = l.writer_pid !== null
            ? ` (running now, pid ${l.writer_pid}, ${r.phase ?? 'starting'}${r.phase === 'delivering' ? `: ${position}, ${ago(l.last_ack_at, now)}` : ''})`
            : ` (interrupted in ${r.phase ?? 'start'}${l.add + l.delete > 0 || r.phase === 'delivering' ? `; ${position} acknowledged by TikTok` : ''}; distribute resumes it)`
          counts = `+${num(l.add)} -${num(l.delete)} acknowledged`
        }
        const rejects = r.rejects === null || r.rejects === 0 ? '' : `, ${num(r.rejects)} input rejects${r.rejects_by_reason === null ? '' : ` (${reasons(r.rejects_by_reason)})`}`
        say(`  run ${r.id}: ${r.outcome}${where}${r.dry_run ? ' [dry run]' : ''}, started ${r.started_at}, ${counts}${rejects}${r.error === null ? '' : `, ${r.error.code}`}\n`)
      }
      if (s.last_error !== null) say(`  last error:    ${s.last_error.code}${s.last_error.at === null ? '' : ` (at ${s.last_error.at})`}: ${s.last_error.message}\n`)
    }
    for (const u of usage) say(`usage report ${u.month} for ${u.destination}: ${u.reported ? `made ${u.reportedAt}` : `missing; send it to LiveRamp monthly — run: ${u.command}`}\n`)
    return text
  } finally {
    state.close()
  }
}
