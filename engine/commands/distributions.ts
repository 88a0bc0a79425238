// `hashpipe distributions reset NAME --yes`: a distribution forgets what it delivered (the
// delivered snapshot, an interrupted run, the batch ledger), in one transaction, so its next
// distribute plans from nothing and sends the whole current snapshot as adds. The audience id is
// kept unless --forget-audience. The state lock makes this wait for no one: while a distribute
// (or any hashpipe command) holds the state, the reset is refused and says which process it is.
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig } from '../config.js'
import { ExitCode, UsageError } from '../../pipeline/errors.js'
import type { CommandIo } from '../command.js'
import { confirm, distributionName, openState, parseDistributionName, parseManageArgs, requireConfig, withJsonError } from './manage-support.js'

const kHelp = `usage: hashpipe distributions reset SEGMENT:DESTINATION --config FILE --yes [--forget-audience] [--json]

Forgets what a distribution delivered: its record of what TikTok holds (the delivered
snapshot), an interrupted run, and the batch ledger, in one step. Nothing is sent or deleted at
TikTok by the reset itself.

The next 'hashpipe distribute' for it then plans from nothing: it hashes the inputs and sends
the whole snapshot as adds into the same audience (harmless: TikTok's adds are set operations;
a customer_file audience gets it as APPEND files). It deletes nothing: for Record Sync,
identifiers that left the segment stay in the audience until it is replaced
(distribute --recreate-audience).

  SEGMENT:DESTINATION   the distribution, as hashpipe status and audiences list name it
                        (SEGMENT→DESTINATION is accepted too)
  --config FILE         the config (its state_dir)
  --yes                 confirm (required where there is no terminal to ask on)
  --forget-audience     also forget the audience id: the next distribute looks the audience up
                        by the segment's name and adopts it, or creates a new one when there is
                        none — the way out when the audience was deleted at TikTok
  --json                the outcome as JSON (snake_case)
  -h, --help

Refused while another process holds the state directory (a running distribute): the refusal
names its pid and command; wait for it to finish. Exit codes: 0 ok, 1 failed, 2 usage or not
confirmed, 78 config invalid.
`

export default async function distributions (argv: string[], io: CommandIo): Promise<number> {
  const parsed = parseManageArgs(argv, 'distributions reset', { 'forget-audience': { type: 'boolean', default: false } })
  const v = parsed.values
  if (v.help) { io.stdout.write(kHelp); return ExitCode.OK }
  const [sub, name, ...extra] = parsed.positionals
  if (sub !== 'reset' || name === undefined || extra.length > 0) throw new UsageError('usage: hashpipe distributions reset SEGMENT:DESTINATION --config FILE --yes (see hashpipe distributions --help)')
  return await withJsonError(io, v.json, async () => {
    const config = await loadConfig(requireConfig(v.config, 'distributions'), io.env)
    const state = openState(config.stateDir)
    try {
      const all = state.distributions.list()
      const { segment, destination } = parseDistributionName(name, all)
      const d = state.distributions.find(segment, destination)!
      const label = distributionName(segment, destination)
      const forget = v['forget-audience'] && d.audienceId !== null
      await confirm(io, v.yes, `This will forget what distribution ${label} delivered${forget ? ` and its audience id ${d.audienceId}` : ''}; its next distribute re-sends the whole snapshot.`, `resetting distribution ${label}`)
      const r = state.distributions.reset(d.id, forget ? { forgetAudience: d.audienceId! } : {})
      // The files the state no longer points at (the next distribute would remove them too).
      await rm(join(config.stateDir, 'spool', `d${d.id}`), { recursive: true, force: true })
      const audience = r.distribution.audienceId
      const next = audience !== null
        ? `the next distribute sends the whole snapshot as adds into audience ${audience}`
        : `the next distribute looks up an audience named '${segment}' on ad account ${d.advertiserId}, adopts it or creates one, and sends the whole snapshot`
      if (v.json) {
        io.stdout.write(JSON.stringify({ distribution: label, segment, destination, audience_id: audience, forgotten_audience_id: forget ? d.audienceId : null, abandoned_run: r.abandonedRun, next }) + '\n')
      } else {
        io.stdout.write(`distribution ${label}: delivered state forgotten${r.abandonedRun === null ? '' : ` (interrupted run ${r.abandonedRun} abandoned)`}${forget ? `, audience id ${d.audienceId} forgotten` : ''}; ${next}\n`)
      }
      return ExitCode.OK
    } finally {
      state.close()
    }
  })
}
