// `hashpipe audiences list|delete`: the TikTok audiences of the configured ad accounts, beside
// the distribution (segment → destination) that owns each, and deleting one. An audience a
// distribution owns is deleted only together with that distribution's delivered state
// (--with-distribution): TikTok's delete first, then the state, in one transaction, so a
// distribution never points at an audience hashpipe deleted — and if the process dies between
// the two, running the same command again finishes it (the audience is gone, the state goes).
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig, type ResolvedConfig, type DestinationConfig } from '../config.js'
import { listAudiences, isPartnerType, isCustomerFileType, type AudienceInfo } from '../../adapters/tiktok/audiences.js'
import { deleteListedAudience } from '../../adapters/tiktok/custom-audiences.js'
import type { TikTokClient } from '../../adapters/tiktok/tiktok-client.js'
import { ExitCode, UsageError } from '../../pipeline/errors.js'
import type { DistributionRecord } from '../state/records.js'
import type { StateStore } from '../state/state-store.js'
import { crashpoint } from '../distribute/crashpoint.js'
import type { CommandIo } from '../command.js'
import { confirm, distributionName, openState, parseManageArgs, requireConfig, tiktokClient, withJsonError } from './manage-support.js'
import { formatCount } from '../../pipeline/format-count.js'

const kHelp = `usage: hashpipe audiences list --config FILE [--destination NAME] [--json]
       hashpipe audiences delete --config FILE --audience-id ID [--with-distribution] [--yes] [--json]

list     Every TikTok audience of the config's ad accounts (all types: partner, customer file,
         and those made in Ads Manager), page by page: id, name, type, cover_num (TikTok's
         matched users), validity (valid, processing: TikTok is still computing it, expired),
         the identifiers hashpipe delivered, and the distribution (SEGMENT:DESTINATION) that
         owns it, or "none". Audiences a distribution records but TikTok no longer has are
         listed too, with the command that lets go of them.
delete   Deletes one audience at TikTok. One a distribution owns is refused unless
         --with-distribution: then, once TikTok confirmed the delete, that distribution's
         delivered state and audience id are forgotten in one step, and its next distribute
         creates a new audience and sends the whole snapshot. Asks for confirmation at a
         terminal; elsewhere --yes is required.

  --config FILE          the config (ad accounts and connections of its destinations)
  --destination NAME     only this destination's ad account (repeatable)
  --audience-id ID       the audience to delete (as audiences list shows it)
  --with-distribution    delete an owned audience together with its distribution's state
  --yes                  confirm the delete without asking
  --json                 output as JSON (snake_case)
  -h, --help

Exit codes: 0 ok, 1 failed, 2 usage or refused, 4 re-authorization required (connect again),
5 TikTok unavailable after retries, 78 config invalid.
`

interface Account { advertiserId: string, connection: string, destinations: string[] }

/** The ad accounts to look at: one per advertiser id, through the first destination's connection. */
function accountsOf (config: ResolvedConfig, only: string[] | undefined): Account[] {
  let dests: DestinationConfig[] = config.destinations
  if (only !== undefined && only.length > 0) {
    const known = config.destinations.map(d => d.name)
    for (const name of only) {
      if (!known.includes(name)) throw new UsageError(`--destination '${name}' is not in the config; ${known.length === 0 ? 'it defines no destinations' : `defined: ${known.join(', ')}`}`)
    }
    dests = dests.filter(d => only.includes(d.name))
  }
  const out = new Map<string, Account>()
  for (const d of dests) {
    const a = out.get(d.advertiserId)
    if (a === undefined) out.set(d.advertiserId, { advertiserId: d.advertiserId, connection: d.connection, destinations: [d.name] })
    else a.destinations.push(d.name)
  }
  if (out.size === 0) throw new UsageError('the config defines no destinations, so no TikTok ad account to look at')
  return [...out.values()]
}

async function withClients<T> (config: ResolvedConfig, state: StateStore, accounts: Account[], fn: (client: (a: Account) => TikTokClient) => Promise<T>): Promise<T> {
  const clients = new Map<string, TikTokClient>()
  try {
    return await fn(a => {
      let c = clients.get(a.connection)
      if (c === undefined) {
        c = tiktokClient(config, state.tokens.read(a.connection).reveal())
        clients.set(a.connection, c)
      }
      return c
    })
  } finally {
    await Promise.all([...clients.values()].map(async c => { await c.close() }))
  }
}

type Kind = 'partner' | 'customer_file' | 'other'
const kindOf = (type: string | undefined): Kind => isCustomerFileType(type) ? 'customer_file' : isPartnerType(type) ? 'partner' : 'other'

/** TikTok's is_valid is false both while it computes an audience and after it expired. */
function validity (a: AudienceInfo, now: number): 'valid' | 'processing' | 'expired' {
  if (a.isValid) return 'valid'
  const t = a.expiredTime === undefined ? NaN : /^\d+$/.test(a.expiredTime) ? Number(a.expiredTime) * 1000 : Date.parse(`${a.expiredTime.replace(' ', 'T')}Z`)
  return Number.isFinite(t) && t <= now ? 'expired' : 'processing'
}

const sum = (c: DistributionRecord['deliveredCounts']): number => Object.values(c).reduce((n, x) => n + (x ?? 0), 0)

interface OwnerJson { distribution: string, segment: string, destination: string, delivered_identifiers: number, delivered_at: string | null }

function ownerJson (d: DistributionRecord): OwnerJson
function ownerJson (d: DistributionRecord | undefined): OwnerJson | null
function ownerJson (d: DistributionRecord | undefined): OwnerJson | null {
  if (d === undefined) return null
  return { distribution: distributionName(d.segment, d.destination), segment: d.segment, destination: d.destination, delivered_identifiers: sum(d.deliveredCounts), delivered_at: d.deliveredAt }
}

const shellWord = (s: string): string => /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`

async function list (io: CommandIo, configFile: string, only: string[] | undefined, json: boolean): Promise<number> {
  const config = await loadConfig(configFile, io.env)
  const accounts = accountsOf(config, only)
  // The state is read and let go before TikTok is asked: a listing never holds up a distribute.
  const state = openState(config.stateDir)
  let owned: DistributionRecord[]
  const tokens = new Map<string, string>()
  try {
    owned = state.distributions.list().filter(d => d.audienceId !== null)
    for (const a of accounts) if (!tokens.has(a.connection)) tokens.set(a.connection, state.tokens.read(a.connection).reveal())
  } finally {
    state.close()
  }
  const now = Date.now()
  const out: Array<{ account: Account, audiences: AudienceInfo[] }> = []
  const clients = new Map<string, TikTokClient>()
  try {
    for (const a of accounts) {
      let client = clients.get(a.connection)
      if (client === undefined) clients.set(a.connection, client = tiktokClient(config, tokens.get(a.connection)!))
      out.push({ account: a, audiences: await listAudiences(client, a.advertiserId) })
    }
  } finally {
    await Promise.all([...clients.values()].map(async c => { await c.close() }))
  }
  const ownerOf = new Map(owned.map(d => [d.audienceId!, d]))
  const rows = out.flatMap(({ account, audiences }) => audiences.map(x => {
    const owner = ownerOf.get(x.audienceId)
    return {
      advertiser_id: account.advertiserId,
      destinations: account.destinations,
      audience_id: x.audienceId,
      name: x.name,
      audience_type: x.audienceType ?? null,
      kind: kindOf(x.audienceType),
      cover_num: x.coverNum,
      is_valid: x.isValid,
      validity: validity(x, now),
      is_expiring: x.isExpiring ?? null,
      create_time: x.createTime ?? null,
      expired_time: x.expiredTime ?? null,
      owner: ownerJson(owner)
    }
  }))
  const listed = new Set(rows.map(r => r.audience_id))
  const fix = (d: DistributionRecord): string => `hashpipe distributions reset ${shellWord(distributionName(d.segment, d.destination))} --config ${shellWord(configFile)} --forget-audience --yes`
  const missing = owned
    .filter(d => accounts.some(a => a.advertiserId === d.advertiserId) && !listed.has(d.audienceId!))
    .map(d => ({ audience_id: d.audienceId!, advertiser_id: d.advertiserId, ...ownerJson(d), command: fix(d) }))
  if (json) {
    io.stdout.write(JSON.stringify({ audiences: rows, missing }) + '\n')
    return ExitCode.OK
  }
  for (const { account } of out) {
    const mine = rows.filter(r => r.advertiser_id === account.advertiserId)
    io.stdout.write(`ad account ${account.advertiserId} (destination${account.destinations.length === 1 ? '' : 's'} ${account.destinations.join(', ')}): ${mine.length} audience${mine.length === 1 ? '' : 's'}\n`)
    if (mine.length === 0) continue
    const table = [['AUDIENCE ID', 'KIND', 'COVER_NUM', 'VALIDITY', 'DELIVERED', 'OWNER', 'NAME'],
      ...mine.map(r => [r.audience_id, r.kind, formatCount(r.cover_num), r.validity, r.owner === null ? '-' : formatCount(r.owner.delivered_identifiers), r.owner === null ? 'none' : r.owner.distribution, r.name])]
    const widths = table[0]!.map((_, i) => Math.max(...table.map(row => row[i]!.length)))
    for (const row of table) io.stdout.write(`  ${row.map((c, i) => i === row.length - 1 ? c : c.padEnd(widths[i]!)).join('  ')}\n`)
  }
  for (const m of missing) {
    io.stdout.write(`audience ${m.audience_id} of distribution ${m.distribution} is not at TikTok any more (deleted in Ads Manager, expired, or a delete interrupted); to let the distribution go of it, run: ${m.command}\n`)
  }
  return ExitCode.OK
}

async function remove (io: CommandIo, configFile: string, only: string[] | undefined, audienceId: string, withDistribution: boolean, yes: boolean, json: boolean): Promise<number> {
  if (!/^\d{1,20}$/.test(audienceId)) throw new UsageError(`--audience-id '${audienceId}' is not an audience id (digits, as hashpipe audiences list shows them)`)
  const config = await loadConfig(configFile, io.env)
  let accounts = accountsOf(config, only)
  // The lock is held from here to the end: no distribute can start delivering into the
  // audience between TikTok's delete and the state change.
  const state = openState(config.stateDir)
  try {
    const owner = state.distributions.byAudience(audienceId)
    const ownerName = owner === undefined ? undefined : distributionName(owner.segment, owner.destination)
    const cmd = (extra: string): string => `hashpipe audiences delete --config ${shellWord(configFile)} --audience-id ${audienceId}${extra}`
    if (owner !== undefined && !withDistribution) {
      throw new UsageError(`audience ${audienceId} belongs to distribution ${ownerName} (segment '${owner.segment}' → destination '${owner.destination}'); deleted alone, that distribution would keep delivering into an audience that is gone. To delete the audience and forget the distribution's delivered state with it (its next distribute creates a new audience): ${cmd(' --with-distribution --yes')}; to keep the audience and only re-send it: hashpipe distributions reset ${shellWord(ownerName!)} --config ${shellWord(configFile)} --yes`)
    }
    if (owner !== undefined) accounts = accounts.filter(a => a.advertiserId === owner.advertiserId)
    if (accounts.length === 0) {
      throw new UsageError(`audience ${audienceId} belongs to distribution ${ownerName} on ad account ${owner!.advertiserId}, which no destination${only === undefined ? '' : ' given with --destination'} of the config reaches; add the destination back (or drop --destination) to delete it`)
    }
    return await withClients(config, state, accounts, async client => {
      let found: { account: Account, audience: AudienceInfo } | undefined
      for (const a of accounts) {
        const audience = (await listAudiences(client(a), a.advertiserId)).find(x => x.audienceId === audienceId)
        if (audience !== undefined) { found = { account: a, audience }; break }
      }
      if (found === undefined && owner === undefined) {
        throw new UsageError(`no audience ${audienceId} in ad account${accounts.length === 1 ? '' : 's'} ${accounts.map(a => a.advertiserId).join(', ')}; see what there is: hashpipe audiences list --config ${shellWord(configFile)}`)
      }
      const what = found === undefined
        ? `forget distribution ${ownerName}'s delivered state and audience id (audience ${audienceId} is already gone from TikTok)`
        : `delete audience ${audienceId} ('${found.audience.name}', ${kindOf(found.audience.audienceType)}) of ad account ${found.account.advertiserId}${owner === undefined ? '' : ` and forget distribution ${ownerName}'s delivered state`}`
      await confirm(io, yes, `This will ${what}.`, `deleting audience ${audienceId}`)
      if (found !== undefined) await deleteListedAudience(client(found.account), found.account.advertiserId, found.audience)
      crashpoint('after-audience-delete')
      let reset = false
      if (owner !== undefined) {
        state.distributions.reset(owner.id, { forgetAudience: audienceId })
        reset = true
        // Files the state no longer points at; a leftover is removed by the next distribute too.
        await rm(join(config.stateDir, 'spool', `d${owner.id}`), { recursive: true, force: true })
      }
      if (json) {
        io.stdout.write(JSON.stringify({
          audience_id: audienceId,
          advertiser_id: found?.account.advertiserId ?? owner!.advertiserId,
          name: found?.audience.name ?? null,
          kind: found === undefined ? null : kindOf(found.audience.audienceType),
          deleted: found !== undefined,
          already_gone: found === undefined,
          distribution: ownerName ?? null,
          distribution_reset: reset
        }) + '\n')
      } else {
        io.stdout.write(found === undefined ? `audience ${audienceId} was already gone from TikTok\n` : `audience ${audienceId} ('${found.audience.name}') deleted at TikTok\n`)
        if (reset) io.stdout.write(`distribution ${ownerName}: delivered state and audience id forgotten; its next distribute creates a new audience and sends the whole snapshot\n`)
      }
      return ExitCode.OK
    })
  } finally {
    state.close()
  }
}

export default async function audiences (argv: string[], io: CommandIo): Promise<number> {
  const parsed = parseManageArgs(argv, 'audiences', {
    destination: { type: 'string', multiple: true },
    'audience-id': { type: 'string' },
    'with-distribution': { type: 'boolean', default: false }
  })
  const v = parsed.values
  if (v.help) { io.stdout.write(kHelp); return ExitCode.OK }
  const [sub, ...extra] = parsed.positionals
  if ((sub !== 'list' && sub !== 'delete') || extra.length > 0) throw new UsageError('usage: hashpipe audiences list|delete --config FILE … (see hashpipe audiences --help)')
  return await withJsonError(io, v.json, async () => {
    const config = requireConfig(v.config, 'audiences')
    if (sub === 'list') {
      if (v['audience-id'] !== undefined || v['with-distribution'] || v.yes) throw new UsageError('audiences list takes --config, --destination and --json only')
      return await list(io, config, v.destination, v.json)
    }
    if (v['audience-id'] === undefined) throw new UsageError('audiences delete needs --audience-id ID (see hashpipe audiences list)')
    return await remove(io, config, v.destination, v['audience-id'], v['with-distribution'], v.yes, v.json)
  })
}
