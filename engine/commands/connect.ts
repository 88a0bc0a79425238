// `hashpipe connect tiktok --config FILE --name NAME`: TikTok's advertiser authorization. A
// loopback callback server receives auth_code + state (state is random and checked), the
// single-use code is exchanged for a token, the token is stored 0600 and never printed, and the
// advertisers it reaches are recorded. Destinations using the connection are then activated:
// the token must reach the advertiser with the audience-write scope (31), and where Business
// Center exposes the role, the user must be Ad Account Admin or Operator.
import { parseArgs } from 'node:util'
import { createServer, type Server } from 'node:http'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { loadConfig, type ResolvedConfig } from '../config.js'
import { StateStore } from '../state/state-store.js'
import { TikTokClient } from '../../adapters/tiktok/tiktok-client.js'
import { authorizationUrl, exchangeAuthCode, authorizedAdvertisers, advertiserRole, type TokenGrant } from '../../adapters/tiktok/oauth.js'
import { HashpipeError, InterruptedError, ExitCode, UsageError } from '../../pipeline/errors.js'
import { parsePort, parsePositiveInteger } from '../cli-values.js'
import { CONNECTION_NAME } from '../state/records.js'
import type { CommandIo } from '../command.js'

const kHelp = `usage: hashpipe connect tiktok --config FILE --name NAME [options]

Authorizes hashpipe on TikTok ad accounts and stores the connection NAME (the token goes to
state_dir/tokens/NAME.token, mode 0600, and is never printed).

  --config FILE               the config (tiktok.app_id, secret, auth_url, state_dir)
  --name NAME                 connection name, as destinations[].connection refers to it
  --access-token-file PATH    store a token obtained elsewhere instead of the browser flow (CI)
  --port N                    loopback port for the OAuth callback (default: a free one)
  --timeout SECONDS           how long to wait for the authorization (default 600)
  -h, --help
`

const kWriteScope = 31
const kRolesAllowed = ['ADMIN', 'OPERATOR']

async function waitForCode (server: Server, state: string, timeoutMs: number, signal: AbortSignal): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new HashpipeError('HP_ERR_API_REAUTHORIZE', `no authorization arrived within ${Math.round(timeoutMs / 1000)} s; run connect again and open the printed URL`, ExitCode.REAUTHORIZE)), timeoutMs)
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(new InterruptedError('interrupted before the authorization arrived; run hashpipe connect again')) }, { once: true })
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const code = url.searchParams.get('auth_code') ?? url.searchParams.get('code')
      if (url.pathname !== '/callback' || code === null) { res.writeHead(404).end(); return }
      if (url.searchParams.get('state') !== state) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('state mismatch: this authorization was not started by this hashpipe connect; ignored')
        return
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('hashpipe: authorization received. You can close this window.')
      clearTimeout(timer)
      resolve(code)
    })
  })
}

async function oauthFlow (config: ResolvedConfig, client: TikTokClient, port: number, timeoutMs: number, io: CommandIo): Promise<TokenGrant> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  try {
    const redirect = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`
    const state = randomBytes(16).toString('hex')
    const pending = waitForCode(server, state, timeoutMs, io.signal)
    io.stdout.write(`Open this URL to authorize hashpipe on your TikTok ad accounts:\n${authorizationUrl(config.tiktok.authUrl, config.tiktok.appId, state, redirect)}\n`)
    const code = await pending
    return await exchangeAuthCode(client, config.tiktok.appId, config.tiktok.secret.reveal(), code)
  } finally {
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
}

export default async function connect (argv: string[], io: CommandIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string' }, name: { type: 'string' }, 'access-token-file': { type: 'string' }, port: { type: 'string', default: '0' }, timeout: { type: 'string', default: '600' }, help: { type: 'boolean', short: 'h', default: false } },
      strict: true
    })
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe connect tiktok --help)`)
  }
  const v = parsed.values
  if (v.help) { io.stdout.write(kHelp); return ExitCode.OK }
  if (parsed.positionals[0] !== 'tiktok' || parsed.positionals.length !== 1) throw new UsageError('usage: hashpipe connect tiktok --config FILE --name NAME')
  if (v.config === undefined || v.name === undefined) throw new UsageError('--config and --name are required (see hashpipe connect tiktok --help)')
  if (!CONNECTION_NAME.test(v.name)) throw new UsageError(`--name '${v.name}' must be letters, digits, '.', '_' or '-' (it names a token file)`)
  const port = parsePort('port', v.port)
  const timeoutSeconds = parsePositiveInteger('timeout', v.timeout, 86_400)
  const config = await loadConfig(v.config, io.env)
  const client = new TikTokClient({ apiBaseUrl: config.tiktok.apiBaseUrl, rateLimit: config.tiktok.rateLimit, retryBudgetMs: 60_000 })
  const state = StateStore.open(config.stateDir)
  try {
    let grant: TokenGrant
    if (v['access-token-file'] !== undefined) {
      const file = v['access-token-file']
      const token = (await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new UsageError(`--access-token-file '${file}' cannot be read: ${err.code ?? err.message}; check the path and its permissions`)
      })).trim()
      if (token === '' || /\s/.test(token)) throw new UsageError(`--access-token-file ${v['access-token-file']} must hold one access token on one line`)
      client.setAccessToken(token)
      const advertisers = await authorizedAdvertisers(client, config.tiktok.appId, config.tiktok.secret.reveal())
      // A token made elsewhere does not tell its scopes; activation then relies on the first write.
      grant = { accessToken: token, advertiserIds: advertisers.map(a => a.advertiserId), scopes: [] }
    } else {
      grant = await oauthFlow(config, client, port, timeoutSeconds * 1000, io)
      client.setAccessToken(grant.accessToken)
    }
    state.tokens.write(v.name, grant.accessToken)
    state.catalog.putConnection({ name: v.name, advertiserIds: grant.advertiserIds, scopes: grant.scopes })
    io.stdout.write(`connection '${v.name}' stored: reaches ${grant.advertiserIds.length} ad account(s)\n`)

    let refused = 0
    for (const d of config.destinations.filter(x => x.connection === v.name)) {
      state.catalog.putDestination({ name: d.name, advertiserId: d.advertiserId, integration: d.integration, connection: d.connection, region: d.region })
      const problem = !grant.advertiserIds.includes(d.advertiserId)
        ? `the authorization does not include ad account ${d.advertiserId}; authorize it on TikTok and connect again`
        : grant.scopes.length > 0 && !grant.scopes.includes(kWriteScope)
          ? `the app lacks the 'Create and Update Custom Audiences' permission (scope ${kWriteScope}); enable it for the app and connect again`
          : undefined
      const role = problem === undefined ? await advertiserRole(client, d.advertiserId).catch(() => null) : null
      const roleProblem = role !== null && !kRolesAllowed.includes(role)
        ? `the authorizing user is ${role} on ad account ${d.advertiserId}; sending audiences needs Ad Account Admin or Ad Account Operator — ask an admin to raise your role or to connect`
        : undefined
      if (problem !== undefined || roleProblem !== undefined) {
        refused++
        io.stdout.write(`destination '${d.name}': refused: ${problem ?? roleProblem}\n`)
      } else {
        state.catalog.activateDestination(d.name, role)
        io.stdout.write(`destination '${d.name}': activated${role === null ? '' : ` (role ${role})`}\n`)
      }
    }
    return refused > 0 ? ExitCode.REAUTHORIZE : ExitCode.OK
  } finally {
    state.close()
    await client.close()
  }
}
