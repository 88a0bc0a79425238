// The logger a command uses: JSON lines (pino) with the run id. With --log-file, everything from
// info up goes to the file. On a terminal a person reads stderr, so there a warning is one human
// line (`hashpipe: warning: …`) and an error is left to the CLI's own `hashpipe: CODE: …` line:
// no JSON, no stack. HASHPIPE_LOG_LEVEL set explicitly asks for the JSON lines on stderr (or in
// the file) at that level, stacks of uncoded errors included.
import { Writable } from 'node:stream'
import { createLogger, forRun, LOG_LEVEL_ENV, type Logger } from './logger.js'
import type { CommandIo } from './command.js'

const kWarn = 40
const kError = 50

export function commandLogger (io: CommandIo, command: string, file: string | undefined, runId: string): Logger {
  const explicit = io.env[LOG_LEVEL_ENV] !== undefined && io.env[LOG_LEVEL_ENV] !== ''
  if (explicit && file === undefined) return forRun(createLogger({ env: io.env, stream: io.stderr }), { runId, command })
  const human = humanWarnings(io.stderr)
  const logger = createLogger({
    env: io.env,
    ...(explicit ? {} : { level: file !== undefined ? 'info' : 'warn' }),
    ...(file !== undefined ? { file, also: { level: 'warn', stream: human } } : { stream: human })
  })
  return forRun(logger, { runId, command })
}

/**
 * A stream of pino lines that prints each warning's message as one human line and drops the
 * rest: errors reach the user as the CLI's error line, info and debug belong in a log file.
 */
function humanWarnings (stderr: NodeJS.WritableStream): Writable {
  return new Writable({
    write (chunk: Buffer | string, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue
        try {
          const entry = JSON.parse(line) as { level?: number, msg?: unknown }
          if (entry.level !== undefined && entry.level >= kWarn && entry.level < kError && typeof entry.msg === 'string') {
            stderr.write(`hashpipe: warning: ${entry.msg}\n`)
          }
        } catch {}
      }
      done()
    }
  })
}
