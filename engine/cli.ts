#!/usr/bin/env node
// `hashpipe` entry point: resolves the subcommand, runs it with the process streams and maps
// errors to the exit codes of docs/cli-contract.md. Only this file calls process.exit.
import { HashpipeError, ExitCode } from '../pipeline/errors.js'
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
  conversions: { module: './commands/conversions.js', summary: 'send offline conversions to TikTok\'s Events API' }
}

function usage (): string {
  const lines = Object.entries(kCommands).map(([name, c]) => `  ${name.padEnd(11)} ${c.summary}`)
  return `usage: hashpipe <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'hashpipe <command> --help' for a command's options.\n`
}

async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
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
  const controller = new AbortController()
  const onSignal = (): void => { controller.abort() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const io: CommandIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal }
  try {
    return await command(rest, io)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

main(process.argv.slice(2)).then(
  code => { process.exitCode = code },
  (err: unknown) => {
    if (err instanceof HashpipeError) {
      process.stderr.write(`hashpipe: ${err.message}\n`)
      process.exitCode = err.exitCode
    } else {
      process.stderr.write(`hashpipe: internal error: ${(err as Error)?.stack ?? String(err)}\n`)
      process.exitCode = ExitCode.FAILED
    }
  }
)
