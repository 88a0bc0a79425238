// `hashpipe doctor --config FILE`: the integration's troubleshooting list
// (docs/integration-rules.md), checked, with what to do for each failure: permission level, a
// segment sent to several ad accounts, segment names and audience ids aligned, integration type
// matching the segment's type, connection still valid; and first, that the state database
// passes SQLite's integrity_check.
import { parseArgs } from 'node:util'
import { join, resolve } from 'node:path'
import { loadConfig } from '../config.js'
import { StateStore, DB_FILE } from '../state/state-store.js'
import { stateCorrupt } from '../state/integrity.js'
import { TikTokClient } from '../../adapters/tiktok/tiktok-client.js'
import { authorizedAdvertisers } from '../../adapters/tiktok/oauth.js'
import { getAudiences, audienceName } from '../../adapters/tiktok/audiences.js'
import { ExitCode, UsageError, HashpipeError } from '../../pipeline/errors.js'
import { describeNativeStatus, nativeStatus } from '../../pipeline/native-hash.js'
import type { CommandIo } from '../command.js'
import { usageObligations } from '../report/obligations.js'

interface Check { check: string, subject: string, ok: boolean, detail: string }

export default async function doctor (argv: string[], io: CommandIo): Promise<number> {
  let v
  try {
    v = parseArgs({ args: argv, options: { config: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } }, strict: true }).values
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe doctor --help)`)
  }
  if (v.help) { io.stdout.write('usage: hashpipe doctor --config FILE [--json]\n\nChecks permission level, one ad account per segment, segment names and audience ids, integration vs segment type, and that each connection is still valid; reports whether the native hashing core is active.\n'); return ExitCode.OK }
  if (v.config === undefined) throw new UsageError('--config FILE is required')
  const config = await loadConfig(v.config, io.env)
  const checks: Check[] = []
  const dbFile = join(resolve(config.stateDir), DB_FILE)
  let state: StateStore
  try {
    state = StateStore.open(config.stateDir)
  } catch (err) {
    if ((err as HashpipeError).code !== 'HP_ERR_STATE_CORRUPT') throw err
    checks.push({ check: 'state database intact', subject: dbFile, ok: false, detail: (err as Error).message })
    io.stdout.write(v.json ? JSON.stringify({ checks }) + '\n' : `FAIL ${checks[0]!.check}: ${dbFile}: ${checks[0]!.detail}\n`)
    return ExitCode.FAILED
  }
  const damage = state.integrityProblems()
  checks.push({ check: 'state database intact', subject: dbFile, ok: damage.length === 0, detail: damage.length === 0 ? 'integrity_check ok' : stateCorrupt(dbFile, damage).message })
  let reauth = false
  try {
    const connections = new Map<string, { valid: boolean, advertisers: string[], client: TikTokClient | undefined }>()
    for (const name of new Set(config.destinations.map(d => d.connection))) {
      if (!state.tokens.has(name)) {
        checks.push({ check: 'connection valid', subject: name, ok: false, detail: `no token stored; run hashpipe connect tiktok --config ${v.config} --name ${name}` })
        reauth = true
        connections.set(name, { valid: false, advertisers: [], client: undefined })
        continue
      }
      const client = new TikTokClient({ apiBaseUrl: config.tiktok.apiBaseUrl, accessToken: state.tokens.read(name).reveal(), rateLimit: config.tiktok.rateLimit, retryBudgetMs: 20_000 })
      try {
        const advertisers = (await authorizedAdvertisers(client, config.tiktok.appId, config.tiktok.secret.reveal())).map(a => a.advertiserId)
        connections.set(name, { valid: true, advertisers, client })
        checks.push({ check: 'connection valid', subject: name, ok: true, detail: `reaches ${advertisers.length} ad account(s)` })
      } catch (err) {
        const e = err as HashpipeError
        reauth ||= e.exitCode === ExitCode.REAUTHORIZE
        connections.set(name, { valid: false, advertisers: [], client })
        checks.push({ check: 'connection valid', subject: name, ok: false, detail: `${e.message}` })
      }
    }
    for (const d of config.destinations) {
      const recorded = state.catalog.destination(d.name)
      const conn = connections.get(d.connection)
      const role = recorded?.role ?? null
      const okRole = recorded?.activatedAt != null && (role === null || role === 'ADMIN' || role === 'OPERATOR')
      checks.push({ check: 'permission level', subject: d.name, ok: okRole, detail: okRole ? (role === null ? 'activated (role not exposed by TikTok for this account)' : `user is ${role}`) : role === 'ANALYST' ? 'the authorizing user is an Ad Account Analyst; an Ad Account Admin or Operator must connect' : `not activated; run hashpipe connect tiktok --config ${v.config} --name ${d.connection}` })
      if (conn?.valid === true && !conn.advertisers.includes(d.advertiserId)) {
        checks.push({ check: 'connection valid', subject: d.name, ok: false, detail: `connection '${d.connection}' no longer reaches ad account ${d.advertiserId}; re-authorize that account and connect again` })
      }
    }
    for (const s of config.segments) {
      const dists = state.distributions.forSegment(s.name)
      const accounts = new Set(dists.map(x => x.advertiserId))
      checks.push({ check: 'one ad account per segment', subject: s.name, ok: accounts.size <= 1, detail: accounts.size <= 1 ? 'ok' : `sent to ${accounts.size} ad accounts (${[...accounts].join(', ')}); TikTok allows one — use hashpipe segments clone ${s.name} --name NEW for each other account` })
      const dest = config.destinations.find(d => d.name === s.destination)
      if (dest !== undefined) {
        const third = s.dataType === 'third-party'
        const match = third === (dest.integration === 'data-marketplace-3pd')
        checks.push({ check: 'integration matches segment type', subject: s.name, ok: match, detail: match ? `${s.dataType} → ${dest.integration}` : `${s.dataType} segment on a ${dest.integration} destination; ${third ? 'third-party segments need a data-marketplace-3pd destination' : 'first-party segments need a first-party or first-party-record-sync destination'}` })
        const dist = dists.find(x => x.destination === dest.name)
        const client = connections.get(dest.connection)?.client
        if (dist?.audienceId != null && client !== undefined && connections.get(dest.connection)?.valid === true) {
          try {
            const [info] = await getAudiences(client, dest.advertiserId, [dist.audienceId])
            const aligned = info !== undefined && info.name === audienceName(s.name)
            checks.push({ check: 'segment name and audience id aligned', subject: s.name, ok: aligned, detail: aligned ? `audience ${dist.audienceId} is '${info.name}'` : info === undefined ? `audience ${dist.audienceId} is gone from TikTok; delete the distribution's state or clone the segment` : `audience ${dist.audienceId} is named '${info.name}' on TikTok; rename one so they match` })
          } catch (err) {
            checks.push({ check: 'segment name and audience id aligned', subject: s.name, ok: false, detail: (err as Error).message })
          }
        }
      }
    }
    for (const u of usageObligations(config, state, v.config)) {
      checks.push({ check: 'monthly usage reported', subject: u.destination, ok: u.reported, detail: u.reported ? `${u.month} reported ${u.reportedAt}` : `no usage report for ${u.month} yet (Data Marketplace data must be reported monthly); run: ${u.command}` })
    }
    for (const c of connections.values()) await c.client?.close()
  } finally {
    state.close()
  }
  // The native core is reported, not checked: without it hashing is slower, never different.
  if (v.json) io.stdout.write(JSON.stringify({ checks, native: nativeStatus }) + '\n')
  else {
    for (const c of checks) io.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.subject}: ${c.detail}\n`)
    io.stdout.write(`info native core: ${describeNativeStatus()}${nativeStatus.active ? '' : ' (hashing takes the pure-Node path: identical output, slower)'}\n`)
  }
  if (checks.every(c => c.ok)) return ExitCode.OK
  return reauth ? ExitCode.REAUTHORIZE : ExitCode.FAILED
}
