#!/usr/bin/env node
// `hashpipe` entry point: resolves the subcommand, runs it with the process streams and maps
// errors to the exit codes of docs/cli-contract.md. Only this file calls process.exit.
import { InterruptedError, HashpipeError, ExitCode } from '../pipeline/errors.js'
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
  return `usage: hashpipe <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'hashpipe <command> --help' for a command's options.\n`
}

async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  // Before the command module loads (a second or more on a loaded machine): a signal at any
  // point of the run, startup included, ends it with 130.
  const controller = new AbortController()
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
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage())
    return name === undefined ? ExitCode.USAGE : ExitCode.OK
  }
  if (name === '--version') {
    process.stdout.write(`hashpipe ${VERSION}\n`)
    return ExitCode.OK
  }
  const entry = kCommands[name]
  if (entry === undefined) {
    process.stderr.write(`hashpipe: unknown command '${name}'\n\n${usage()}`)
    return ExitCode.USAGE
  }
  let command: Command
  try {
    command = (await import(entry.module) as { default: Command }).default
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      process.stderr.write(`hashpipe: '${name}' is not available in this build\n`)
      return ExitCode.USAGE
    }
    throw err
  }
  const io: CommandIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal }
  try {
    return await command(rest, io)
  } catch (err) {
    // Anything a command throws once interrupted is a consequence of the interruption.
    if (controller.signal.aborted && !(err instanceof HashpipeError && err.code === 'HP_ERR_ABORTED')) {
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

main(process.argv.slice(2)).then(
  code => { process.exitCode = code },
  (err: unknown) => {
    // A full disk met where no edge named the file: still the user's problem, not a bug with a stack.
    if (!(err instanceof HashpipeError) && isDiskFull(err)) {
      const path = (err as NodeJS.ErrnoException).path
      err = diskFullError(err, path === undefined ? { path: 'the file being written', doing: 'cannot write' } : { path })
    }
    if (err instanceof HashpipeError) {
      process.stderr.write(`hashpipe: ${err.code}: ${err.message}\n`)
      process.exitCode = err.exitCode
    } else {
      process.stderr.write(`hashpipe: internal error: ${(err as Error)?.stack ?? String(err)}\n`)
      process.exitCode = ExitCode.FAILED
    }
    // An interrupted command may leave a read pending (stdin, a pipe) that would hold the
    // process open until the grace period runs out: it has stopped, so the process ends now.
    if (err instanceof HashpipeError && err.code === 'HP_ERR_ABORTED') process.exit()
  }
)
