// The logger a command uses: JSON lines (pino) with the run id. With --log-file, everything from
// info up goes to the file; without, only warnings and errors reach stderr, where the human
// output also goes. HASHPIPE_LOG_LEVEL overrides the level either way.
import { createLogger, forRun, LOG_LEVEL_ENV, type Logger } from './logger.js'
import type { CommandIo } from './command.js'

export function commandLogger (io: CommandIo, command: string, file: string | undefined, runId: string): Logger {
  const explicit = io.env[LOG_LEVEL_ENV] !== undefined && io.env[LOG_LEVEL_ENV] !== ''
  const logger = createLogger({
    env: io.env,
    ...(explicit ? {} : { level: file !== undefined ? 'info' : 'warn' }),
    ...(file !== undefined ? { file } : { stream: io.stderr })
  })
  return forRun(logger, { runId, command })
}
