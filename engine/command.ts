// The contract every subcommand module in engine/commands/ follows. The CLI entry (cli.ts)
// resolves the module by name, hands it argv and the process streams, and maps a thrown
// HashpipeError to its exit code. Commands never call process.exit themselves, so tests can
// run them in-process.
import type { Readable, Writable } from 'node:stream'

export interface CommandIo {
  stdin: Readable
  stdout: Writable & { isTTY?: boolean }
  stderr: Writable & { isTTY?: boolean }
  env: NodeJS.ProcessEnv
  /** Aborted on SIGINT/SIGTERM: commands stop cleanly and keep what is resumable. */
  signal: AbortSignal
}

/** A subcommand: returns the process exit code (see ExitCode in errors.ts). */
export type Command = (argv: string[], io: CommandIo) => Promise<number>
