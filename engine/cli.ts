#!/usr/bin/env node
// `hashpipe` entry point: resolves the subcommand, runs it with the process streams and maps
// errors to the exit codes of docs/cli-contract.md. Only this file calls process.exit.
import { InterruptedError, HashpipeError, ExitCode, UsageError } from '../pipeline/errors.js'
import { scrub } from '../pipeline/scrub.js'
import { suggestKey } from './config-rules.js'
import { diskFullError, isDiskFull } from '../pipeline/disk-full.js'
import type { Command, CommandIo } from './command.js'
import { VERSION } from './version.js'

const kCommands: Record<string, { module: string, summary: string }> = {
  hash: { module: './commands/hash.js', summary: 'normalize, hash and dedupe identifier files (no delivery)' },
  emulator: { module: './commands/emulator.js', summary: 'run the built-in TikTok API emulator' },
  validate: { module: './commands/validate.js', summary: 'check a config file; exit 78 listing every problem' },
  connect: { module: './commands/connect.js', summary: 'connect a TikTok account (OAuth) and store its token' },
  distribute: { module: './commands/distribute.js', summary: 'deliver segments to their TikTok destinations' },
  status: { module: './commands/status.js', summary: 'show distributions, last runs and matched reach' },
  doctor: { module: './commands/doctor.js', summary: 'check the configuration against known TikTok pitfalls' },
  segments: { module: './commands/segments.js', summary: 'manage segments (clone)' },
  report: { module: './commands/report.js', summary: 'Data Marketplace usage report for a month (report usage)' },
  conversions: { module: './commands/conversions.js', summary: 'send offline conversions to TikTok\'s Events API' },
  audiences: { module: './commands/audiences.js', summary: 'list the TikTok audiences of the ad accounts, or delete one (list, delete)' },
  connections: { module: './commands/connections.js', summary: 'list or remove stored TikTok connections (list, remove)' },
  distributions: { module: './commands/distributions.js', summary: 'forget a distribution\'s delivered state so the next run re-sends (reset)' }
}

function usage (): string {
  const lines = Object.entries(kCommands).map(([name, c]) => `  ${name.padEnd(13)} ${c.summary}`)
  return 'usage: hashpipe <command> [options]\n       hashpipe help <command>\n       hashpipe --version\n\n' +
    `commands:\n${lines.join('\n')}\n\noptions:\n  -h, --help  this text; 'hashpipe <command> --help' (or 'hashpipe help <command>') for a command's options\n  --version   print hashpipe's version\n`
}

// Not imported from logger.ts: that would load pino before every command, even --version.
const LOG_LEVEL_ENV = 'HASHPIPE_LOG_LEVEL'

/** Set once stdout's reader has gone (EPIPE): the run ends quietly with exit 0. */
let stdoutClosed = false
/** A failed write to stdout other than EPIPE (a full disk), for the end of the run. */
let stdoutFailure: NodeJS.ErrnoException | undefined

async function main (argv: string[], controller: AbortController): Promise<number> {
  let [name, ...rest] = argv
  // Before the command module loads (a second or more on a loaded machine): a signal at any
  // point of the run, startup included, ends it with 130.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) forceExit(signal)
    controller.abort()
    // Commands stop at their next check of the signal; a read that never returns (stdin, a FIFO
    // with no writer, a device) or a long native call may not reach one. Whatever the command
    // is doing, its state is already crash-safe (atomic files, SQLite transactions: the SIGKILL
    // suites prove it), so after the grace period the process ends as a kill would.
    setTimeout(forceExit, kGraceMs, signal).unref()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  // Bare `hashpipe` is a command line missing its command: usage, like any usage error, on stderr.
  if (name === undefined) {
    process.stderr.write(usage())
    return ExitCode.USAGE
  }
  if ((name === 'help' || name === '--help' || name === '-h') && rest[0] !== undefined && !rest[0].startsWith('-')) {
    name = rest[0]
    rest = ['--help']
  } else if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage())
    return ExitCode.OK
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`hashpipe ${VERSION}\n`)
    return ExitCode.OK
  }
  const entry = kCommands[name]
  if (entry === undefined) {
    const guess = suggestKey(name, Object.keys(kCommands))
    throw new UsageError(`unknown command '${name}'${guess === undefined ? '' : `; did you mean '${guess}'?`} (hashpipe --help lists the commands)`)
  }
  let command: Command
  try {
    command = (await import(entry.module) as { default: Command }).default
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new UsageError(`'${name}' is not available in this build`)
    }
    throw err
  }
  const io: CommandIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal }
  try {
    return await command(rest, io)
  } catch (err) {
    // Anything a command throws once interrupted is a consequence of the interruption.
    if (controller.signal.aborted && !stdoutClosed && !(err instanceof HashpipeError && err.code === 'HP_ERR_ABORTED')) {
      throw new InterruptedError(interruptedMessage(name))
    }
    throw err
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

// Well under the 2 s the contract allows from signal to exit: ending the worker threads and the
// process itself takes a few hundred ms more on a loaded machine.
const kGraceMs = 1000

function interruptedMessage (command: string | undefined): string {
  return command === 'distribute'
    ? 'interrupted; what TikTok acknowledged is recorded: run the same distribute command again to resume'
    : 'interrupted; nothing was committed by the interrupted step: run the command again'
}

function forceExit (signal: NodeJS.Signals): void {
  process.stderr.write(`hashpipe: ${interruptedMessage(process.argv[2])} (${signal})\n`)
  process.exit(ExitCode.INTERRUPTED)
}

const argv = process.argv.slice(2)
const controller = new AbortController()

// The reader of stdout went away (`hashpipe status | head`, `hash --out - | head`): what it
// wanted it has, so the command stops, quietly, with exit 0. Only stdout's EPIPE: a full disk
// or any other failure of a file being written stays an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // Any other failure (stdout on a full disk): the command's own write callbacks see it and
  // name it; the run's end reports it if the command did not.
  if (err.code !== 'EPIPE') { stdoutFailure ??= err; return }
  if (stdoutClosed) return
  stdoutClosed = true
  controller.abort()
  // A write waiting for 'drain' on the closed pipe never resolves: end as soon as the command
  // has had its moment to clean up (temporary files), whatever it is doing.
  setTimeout(() => process.exit(ExitCode.OK), kGraceMs).unref()
})

main(argv, controller).then(
  code => {
    if (stdoutFailure !== undefined && !stdoutClosed && code === ExitCode.OK) {
      const error = isDiskFull(stdoutFailure) ? diskFullError(stdoutFailure, { path: 'standard output', doing: 'cannot write output to standard output' }) : new HashpipeError('HP_ERR_OUTPUT_IO', `cannot write output to standard output: ${stdoutFailure.code ?? stdoutFailure.message}`)
      process.stderr.write(`hashpipe: ${error.code}: ${error.message}\n`)
      process.exitCode = error.exitCode
      return
    }
    process.exitCode = stdoutClosed ? ExitCode.OK : code
  },
  (err: unknown) => {
    if (stdoutClosed) {
      process.exitCode = ExitCode.OK
      process.exit()
    }
    // A full disk met where no edge named the file: still the user's problem, not a bug with a stack.
    if (!(err instanceof HashpipeError) && isDiskFull(err)) {
      const path = (err as NodeJS.ErrnoException).path
      err = diskFullError(err, path === undefined ? { path: 'the file being written', doing: 'cannot write' } : { path })
    }
    const debug = /^(debug|trace)$/i.test(process.env[LOG_LEVEL_ENV] ?? '')
    const error = err instanceof HashpipeError ? err : internalError(err)
    process.stderr.write(`hashpipe: ${error.code}: ${error.message}\n`)
    // The stack of a bug, for its report; a coded error's message is the whole story.
    if (debug && !(err instanceof HashpipeError)) process.stderr.write(`${scrub((err as Error)?.stack ?? String(err))}\n`)
    const json = jsonErrorStream(argv)
    if (json !== undefined) json.write(JSON.stringify({ error: { code: error.code, message: error.message } }) + '\n')
    process.exitCode = error.exitCode
    // An interrupted command may leave a read pending (stdin, a pipe) that would hold the
    // process open until the grace period runs out: it has stopped, so the process ends now.
    if (error.code === 'HP_ERR_ABORTED') process.exit()
  }
)

/** A failure no check named: a bug. The message, scrubbed; the stack only at debug level. */
function internalError (err: unknown): HashpipeError {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return new HashpipeError('HP_ERR_INTERNAL', `internal error (a bug in hashpipe, not in your input): ${scrub(message)}; run again with ${LOG_LEVEL_ENV}=debug for the stack trace and report it`, ExitCode.FAILED, { cause: err })
}

/**
 * Where a failed run's `{"error": …}` goes when --json was asked for: stdout, except for `hash`
 * writing its identifiers there (no --out, or --out -), whose summary, and so its error, goes
 * to stderr.
 */
function jsonErrorStream (args: string[]): NodeJS.WritableStream | undefined {
  const end = args.indexOf('--')
  const own = end === -1 ? args : args.slice(0, end)
  if (!own.includes('--json')) return undefined
  if (own[0] === 'hash') {
    const i = own.lastIndexOf('--out')
    const eq = own.findLast(a => a.startsWith('--out='))
    const out = eq !== undefined ? eq.slice(6) : i === -1 ? '-' : own[i + 1]
    if (out === '-') return process.stderr
  }
  return process.stdout
}
