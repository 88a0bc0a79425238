// `hashpipe connections list|remove`: the TikTok connections `connect` stored (what they reach,
// when made, which destinations use them; never the token), and removing one: its token file
// first (the secret must not outlive the record), then its catalog row, in which the
// destinations connected through it lose their activation.
import { loadConfig, type ResolvedConfig } from '../config.js'
import { ExitCode, StateError, UsageError } from '../../pipeline/errors.js'
import { CONNECTION_NAME } from '../state/records.js'
import type { CommandIo } from '../command.js'
import { confirm, openState, parseManageArgs, requireConfig, withJsonError } from './manage-support.js'

const kHelp = `usage: hashpipe connections list --config FILE [--json]
       hashpipe connections remove NAME --config FILE [--yes] [--force] [--json]

list     Every connection: its name, the app id (tiktok.app_id), the ad accounts it reached when
         connected, when it was made, whether its token is stored, the token's expiry (TikTok's
         advertiser tokens have none: they last until revoked) and the config's destinations and
         conversions using it. The token itself is never shown.
remove   Removes the connection's token (state_dir/tokens/NAME.token) and its record; the
         destinations connected through it are no longer activated (hashpipe connect tiktok
         --name NAME makes it again). Refused while the config uses it, unless --force. Asks
         for confirmation at a terminal; elsewhere --yes is required. Revoking the app's access
         at TikTok is done in TikTok Business Center.

  --config FILE   the config (its state_dir, and who uses which connection)
  --yes           confirm the removal without asking
  --force         remove a connection the config's destinations still use
  --json          output as JSON (snake_case)
  -h, --help

Exit codes: 0 ok, 1 failed, 2 usage or refused, 78 config invalid.
`

function usersOf (config: ResolvedConfig, name: string): string[] {
  return [
    ...config.destinations.filter(d => d.connection === name).map(d => `destination '${d.name}'`),
    ...config.conversions.filter(c => c.connection === name).map(c => `conversions '${c.name}'`)
  ]
}

async function list (io: CommandIo, configFile: string, json: boolean): Promise<number> {
  const config = await loadConfig(configFile, io.env)
  const state = openState(config.stateDir)
  try {
    const recorded = new Map(state.catalog.connections().map(c => [c.name, c]))
    const stored = new Set(state.tokens.names())
    const configured = [...config.destinations.map(d => d.connection), ...config.conversions.map(c => c.connection)]
    const names = [...new Set([...recorded.keys(), ...stored, ...configured])].sort()
    const rows = names.map(name => {
      const c = recorded.get(name)
      return {
        name,
        app_id: config.tiktok.appId,
        connected: c !== undefined,
        advertiser_ids: c?.advertiserIds ?? [],
        scopes: c?.scopes ?? [],
        created_at: c?.createdAt ?? null,
        updated_at: c?.updatedAt ?? null,
        token_stored: stored.has(name),
        token_expires_at: null,
        used_by: usersOf(config, name).map(u => u.replace(/^(\w+) '(.*)'$/, '$1:$2'))
      }
    })
    if (json) {
      io.stdout.write(JSON.stringify({ connections: rows }) + '\n')
      return ExitCode.OK
    }
    if (rows.length === 0) io.stdout.write(`no connections; make one: hashpipe connect tiktok --config ${configFile} --name NAME\n`)
    for (const r of rows) {
      io.stdout.write(`${r.name}\n`)
      io.stdout.write(`  app id:       ${r.app_id}\n`)
      io.stdout.write(`  ad accounts:  ${r.connected ? (r.advertiser_ids.length === 0 ? 'none' : r.advertiser_ids.join(', ')) : `not connected — run: hashpipe connect tiktok --config ${configFile} --name ${r.name}`}\n`)
      if (r.created_at !== null) io.stdout.write(`  created:      ${r.created_at}${r.updated_at !== null && r.updated_at !== r.created_at ? ` (updated ${r.updated_at})` : ''}\n`)
      io.stdout.write(`  token:        ${r.token_stored ? 'stored; no expiry (TikTok advertiser tokens last until revoked)' : 'not stored'}\n`)
      const users = usersOf(config, r.name)
      io.stdout.write(`  used by:      ${users.length === 0 ? 'nothing in this config' : users.join(', ')}\n`)
    }
    return ExitCode.OK
  } finally {
    state.close()
  }
}

async function remove (io: CommandIo, configFile: string, name: string, yes: boolean, force: boolean, json: boolean): Promise<number> {
  if (!CONNECTION_NAME.test(name)) throw new UsageError(`'${name}' is not a connection name (letters, digits, '.', '_' or '-')`)
  const config = await loadConfig(configFile, io.env)
  const users = usersOf(config, name)
  if (users.length > 0 && !force) {
    throw new UsageError(`connection '${name}' is used by ${users.join(', ')} in ${configFile}; they could not run without it. Point them at another connection first, or remove it anyway: hashpipe connections remove ${name} --config ${configFile} --force --yes`)
  }
  const state = openState(config.stateDir)
  try {
    const recorded = state.catalog.connection(name)
    const hasToken = state.tokens.has(name)
    if (recorded === undefined && !hasToken) {
      const known = [...new Set([...state.catalog.connections().map(c => c.name), ...state.tokens.names()])].sort()
      throw new StateError('HP_ERR_STATE_MISSING', `no connection '${name}' is stored in ${state.dir}${known.length === 0 ? '' : `; stored: ${known.join(', ')}`}`)
    }
    await confirm(io, yes, `This will remove connection '${name}' and its stored token${users.length > 0 ? ` (still used by ${users.join(', ')})` : ''}.`, `removing connection '${name}'`)
    const tokenRemoved = state.tokens.remove(name)
    const { deactivated } = state.catalog.removeConnection(name)
    if (json) {
      io.stdout.write(JSON.stringify({ name, token_removed: tokenRemoved, record_removed: recorded !== undefined, destinations_deactivated: deactivated, used_by: users.map(u => u.replace(/^(\w+) '(.*)'$/, '$1:$2')) }) + '\n')
    } else {
      io.stdout.write(`connection '${name}' removed${tokenRemoved ? ' (token file deleted)' : ''}${deactivated > 0 ? `; ${deactivated} destination${deactivated === 1 ? '' : 's'} no longer activated` : ''}${users.length > 0 ? `; connect again before using ${users.join(', ')}: hashpipe connect tiktok --config ${configFile} --name ${name}` : ''}\n`)
    }
    return ExitCode.OK
  } finally {
    state.close()
  }
}

export default async function connections (argv: string[], io: CommandIo): Promise<number> {
  const parsed = parseManageArgs(argv, 'connections', { force: { type: 'boolean', default: false } })
  const v = parsed.values
  if (v.help) { io.stdout.write(kHelp); return ExitCode.OK }
  const [sub, name, ...extra] = parsed.positionals
  const usage = 'usage: hashpipe connections list --config FILE | hashpipe connections remove NAME --config FILE (see hashpipe connections --help)'
  if (sub !== 'list' && sub !== 'remove') throw new UsageError(usage)
  if ((sub === 'list' && name !== undefined) || (sub === 'remove' && name === undefined) || extra.length > 0) throw new UsageError(usage)
  return await withJsonError(io, v.json, async () => {
    const config = requireConfig(v.config, 'connections')
    if (sub === 'list') return await list(io, config, v.json)
    return await remove(io, config, name!, v.yes, v.force, v.json)
  })
}
