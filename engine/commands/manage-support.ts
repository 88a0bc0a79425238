// What the management commands (audiences, connections, distributions) share: their command
// line, the confirmation a destructive step asks for, the state opened with the holder of a busy
// lock named, the distribution name form, and the TikTok client they use.
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { HashpipeError, StateError, UsageError } from '../../pipeline/errors.js'
import { StateStore } from '../state/state-store.js'
import { LOCK_FILE } from '../state/state-lock.js'
import { TikTokClient } from '../../adapters/tiktok/tiktok-client.js'
import type { ResolvedConfig } from '../config.js'
import type { CommandIo } from '../command.js'

/** Long enough to ride out a short TikTok outage, short enough for an interactive command. */
const kRetryBudgetMs = 30_000

/**
 * A destructive step goes ahead with --yes, or when a person at a terminal types "yes"; a run
 * with no terminal (cron, CI, a pipe) is refused with the flag named, never left waiting.
 */
export async function confirm (io: CommandIo, yes: boolean, question: string, action: string): Promise<void> {
  if (yes) return
  const stdin = io.stdin as CommandIo['stdin'] & { isTTY?: boolean }
  if (stdin.isTTY !== true || io.stderr.isTTY !== true) {
    throw new UsageError(`${action} needs confirmation and this run has no terminal to ask on; add --yes to confirm`)
  }
  const rl = createInterface({ input: stdin, output: io.stderr })
  try {
    const answer = await new Promise<string>(resolve => rl.question(`${question} Type yes to confirm: `, resolve))
    if (answer.trim().toLowerCase() !== 'yes') throw new UsageError(`not confirmed; nothing was changed (${action} goes ahead on "yes", or with --yes)`)
  } finally {
    rl.close()
  }
}

/** StateStore.open; when another process holds the lock, the refusal also names its command line. */
export function openState (stateDir: string): StateStore {
  try {
    return StateStore.open(stateDir)
  } catch (err) {
    if (!(err instanceof HashpipeError) || err.code !== 'HP_ERR_STATE_LOCKED') throw err
    const command = holderCommand(resolve(stateDir))
    throw new StateError('HP_ERR_STATE_LOCKED', command === undefined ? err.message : `${err.message} (it runs: ${command})`, { cause: err })
  }
}

/** The command line of the lock's holder, from /proc (Linux); undefined where it can't be read. */
function holderCommand (stateDir: string): string | undefined {
  try {
    const pid = Number(readFileSync(join(stateDir, LOCK_FILE), 'utf8').split('\n')[0])
    if (!Number.isInteger(pid) || pid <= 0) return undefined
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(a => a !== '')
    // node …/engine/cli.js distribute …  →  hashpipe distribute …
    const cli = argv.findIndex(a => /(?:^|\/)(?:cli\.js|hashpipe)$/.test(a))
    const words = cli >= 0 ? ['hashpipe', ...argv.slice(cli + 1)] : argv
    return words.length === 0 ? undefined : words.join(' ')
  } catch {
    return undefined
  }
}

/** A distribution is named SEGMENT:DESTINATION; SEGMENT→DESTINATION is accepted too. */
export const DISTRIBUTION_SEPARATORS = [':', '→'] as const

export function distributionName (segment: string, destination: string): string {
  return `${segment}:${destination}`
}

/**
 * The (segment, destination) pairs NAME can mean among the known ones: a segment or destination
 * name may itself hold a ':', so every split point is tried against what exists.
 */
export function parseDistributionName (name: string, known: ReadonlyArray<{ segment: string, destination: string }>): { segment: string, destination: string } {
  const matches = known.filter(k => DISTRIBUTION_SEPARATORS.some(sep => `${k.segment}${sep}${k.destination}` === name))
  if (matches.length === 1) return matches[0]!
  const list = known.map(k => distributionName(k.segment, k.destination))
  if (matches.length > 1) throw new UsageError(`'${name}' names ${matches.length} distributions (${matches.map(m => distributionName(m.segment, m.destination)).join(', ')})`)
  if (!DISTRIBUTION_SEPARATORS.some(sep => name.includes(sep))) {
    throw new UsageError(`'${name}' is not a distribution name; write SEGMENT:DESTINATION${list.length === 0 ? '' : ` (recorded: ${list.join(', ')})`}`)
  }
  throw new StateError('HP_ERR_STATE_MISSING', `no distribution '${name}' is recorded in this state directory${list.length === 0 ? ' (none is: run hashpipe distribute first)' : `; recorded: ${list.join(', ')}`}`)
}

export function tiktokClient (config: ResolvedConfig, accessToken: string): TikTokClient {
  return new TikTokClient({ apiBaseUrl: config.tiktok.apiBaseUrl, accessToken, rateLimit: config.tiktok.rateLimit, retryBudgetMs: kRetryBudgetMs })
}

/** The options every management command takes, besides its own. */
const kCommonOptions = {
  config: { type: 'string' },
  yes: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} as const

type Options = NonNullable<ParseArgsConfig['options']>
type ManageArgs<O extends Options> = ReturnType<typeof parseArgs<{ args: string[], allowPositionals: true, strict: true, options: typeof kCommonOptions & O }>>

/** Parses a management command's line (positionals allowed, unknown options refused); a parse error names the --help to read. */
export function parseManageArgs<O extends Options> (argv: string[], command: string, options: O): ManageArgs<O> {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: { ...kCommonOptions, ...options }, strict: true })
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe ${command} --help)`)
  }
}

/** The --config every management command needs (it names the state directory). */
export function requireConfig (config: string | undefined, command: string): string {
  if (config === undefined) throw new UsageError(`--config FILE is required (see hashpipe ${command} --help)`)
  return config
}

/** With --json, a failure also goes to stdout as {"error": {code, message}}; the CLI prints the error line and exit code. */
export async function withJsonError<T> (io: CommandIo, json: boolean, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (json && err instanceof HashpipeError) io.stdout.write(JSON.stringify({ error: { code: err.code, message: err.message } }) + '\n')
    throw err
  }
}
