// Structured JSON logs (pino) on stderr or in a file. Identifiers must never reach the logger:
// callers log row numbers, byte offsets and reason codes (docs/operational-rules.md). What is here is
// the backstop for when one does: secret-named fields are censored by path, errors are reduced
// to an allowlist of fields, and message text is scrubbed of email, E.164, MAID and digest shapes.
import { pino } from 'pino'
import type { Logger as PinoLogger } from 'pino'
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ConfigError, UsageError } from '../pipeline/errors.js'
import { scrub } from '../pipeline/scrub.js'
import { asDiskFull, isDiskFull } from '../pipeline/disk-full.js'

export type Logger = PinoLogger
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export const LOG_LEVEL_ENV = 'HASHPIPE_LOG_LEVEL'

export interface LoggerOptions {
  /** Wins over HASHPIPE_LOG_LEVEL; default 'info'. */
  level?: string
  env?: NodeJS.ProcessEnv
  /** Append JSON lines to this file (created with its directory) instead of `stream`. */
  file?: string
  /** Default process.stderr: stdout carries data and summaries, never logs. */
  stream?: NodeJS.WritableStream
  /** With `file`: a second destination for the lines from its level up (a terminal's warnings). */
  also?: { level: LogLevel, stream: NodeJS.WritableStream }
}

const kSecretKeys = [
  'token', 'access_token', 'accessToken', 'refresh_token', 'refreshToken', 'auth_code', 'authCode',
  'secret', 'app_secret', 'appSecret', 'client_secret', 'password', 'authorization', 'Authorization',
  'cookie', '"access-token"', '"Access-Token"'
]
const kKey = (k: string): string => k.startsWith('"') ? `[${k}]` : `.${k}`

/** Paths pino censors (as `***`) at the top level and up to three levels down. */
export const REDACT_PATHS: readonly string[] = kSecretKeys.flatMap(k => [
  k.startsWith('"') ? `[${k}]` : k,
  `*${kKey(k)}`,
  `*.*${kKey(k)}`,
  `*.*.*${kKey(k)}`
])

function scrubObject (v: unknown, depth: number): unknown {
  if (typeof v === 'string') return scrub(v)
  if (depth > 3 || v === null || typeof v !== 'object' || v instanceof Error) return v
  if (Array.isArray(v)) return v.map(x => scrubObject(x, depth + 1))
  if (Object.getPrototypeOf(v) !== Object.prototype) return v
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) out[k] = scrubObject(x, depth + 1)
  return out
}

// Fields of our error classes (errors.ts) and of undici / system errors that help an operator
// and cannot hold record data. Anything else on an error object (a response body, a request
// payload) is dropped.
const kErrorFields = [
  'code', 'exitCode', 'file', 'line', 'byteOffset', 'batchSeq', 'threadId', 'statusCode', 'httpStatus',
  'apiCode', 'requestId', 'request_id', 'endpoint', 'retryable', 'retryAfterMs', 'errno', 'syscall', 'issues'
]

export function serializeError (err: unknown, depth = 0, under?: 'expected'): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err, message: '[non-error value withheld]' }
  const out: Record<string, unknown> = { type: err.name, message: scrub(err.message) }
  const e = err as unknown as Record<string, unknown>
  for (const k of kErrorFields) {
    const v = e[k]
    if (typeof v === 'number' || typeof v === 'boolean') out[k] = v
    else if (typeof v === 'string') out[k] = scrub(v)
    else if (k === 'issues' && Array.isArray(v)) out[k] = v.filter(i => typeof i === 'string').map(i => scrub(i as string))
  }
  // An HP_ERR_ error is an expected failure that its message explains, and a coded error under
  // one (ENOSPC, SQLITE_FULL) is what it explains: their stacks only bury the message. Unexpected
  // errors (bugs, uncoded) keep their stacks.
  const coded = typeof e['code'] === 'string'
  const expected = coded && (e['code'] as string).startsWith('HP_ERR_')
  if (typeof err.stack === 'string' && !expected && !(coded && under === 'expected')) out['stack'] = scrub(err.stack)
  if (err.cause !== undefined && depth < 3) out['cause'] = serializeError(err.cause, depth + 1, expected ? 'expected' : undefined)
  return out
}

export function resolveLevel (level: string | undefined, env: NodeJS.ProcessEnv): LogLevel {
  const fromEnv = env[LOG_LEVEL_ENV]
  const v = (level ?? (fromEnv === undefined || fromEnv === '' ? 'info' : fromEnv)).toLowerCase()
  if ((LOG_LEVELS as readonly string[]).includes(v)) return v as LogLevel
  const where = level === undefined ? LOG_LEVEL_ENV : 'log level'
  throw new ConfigError([`${where}: must be one of ${LOG_LEVELS.join(', ')}`])
}

export function createLogger (options: LoggerOptions = {}): Logger {
  const level = resolveLevel(options.level, options.env ?? process.env)
  const also = options.also
  const file = options.file !== undefined ? logFile(options.file) : undefined
  const destination = file !== undefined && also !== undefined && level !== 'silent'
    ? pino.multistream([{ level, stream: file }, { level: also.level, stream: also.stream }])
    : file ?? options.stream ?? process.stderr
  // The logger passes on what either destination takes; each destination filters to its own.
  const lowest = also !== undefined && file !== undefined && level !== 'silent' && pino.levels.values[also.level]! < pino.levels.values[level]! ? also.level : level
  return pino({
    name: 'hashpipe',
    level: lowest,
    redact: { paths: [...REDACT_PATHS], censor: '***' },
    serializers: { err: serializeError, error: serializeError },
    formatters: { log: obj => scrubObject(obj, 0) as Record<string, unknown> },
    hooks: {
      // Scrubs string arguments (the message and its printf args) before pino formats them.
      logMethod (args, method) {
        // pino would take the message from err.message unscrubbed: give it a scrubbed one.
        const first: unknown = args[0]
        if (first instanceof Error) {
          args[0] = { err: first } as never
          if (args.length === 1) args.push(first.message as never)
        }
        for (let i = 0; i < args.length; i++) {
          const a: unknown = args[i]
          if (typeof a === 'string') args[i] = scrub(a) as never
        }
        method.apply(this, args)
      }
    }
  }, destination)
}

/** The log file, written synchronously; a full disk under it is HP_ERR_DISK_FULL naming it. */
function logFile (file: string): ReturnType<typeof pino.destination> {
  openLogFile(file)
  const destination = pino.destination({ dest: file, sync: true })
  const write = destination.write.bind(destination)
  destination.write = (data: string): boolean => {
    try {
      return write(data)
    } catch (err) {
      throw asDiskFull(err, { path: file, doing: `cannot write the log file ${file}`, elsewhere: 'point --log-file elsewhere' })
    }
  }
  return destination
}

/**
 * Creates the log file's directories and opens it once, so a path that cannot hold a log file is
 * one usage error naming it before the run starts. The directories one by one: Node 20's
 * recursive mkdirSync spins forever where mkdir keeps failing with ENOENT (under /proc).
 */
function openLogFile (file: string): void {
  const missing: string[] = []
  for (let dir = dirname(resolve(file)); !existsSync(dir) && dirname(dir) !== dir; dir = dirname(dir)) missing.unshift(dir)
  try {
    for (const dir of missing) mkdirSync(dir)
    closeSync(openSync(file, 'a'))
  } catch (err) {
    if (isDiskFull(err)) throw asDiskFull(err, { path: file, doing: `cannot create the log file ${file}`, elsewhere: 'point --log-file elsewhere' })
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new UsageError(`--log-file '${file}' cannot be created: ${code}; name a file in a writable directory`)
  }
}

export interface RunBindings { runId: string, command: string }
export interface BatchBindings { batchId: string, seq?: number }

/** A child logger for one command run: every line carries `run_id` and `command`. */
export function forRun (logger: Logger, { runId, command }: RunBindings): Logger {
  return logger.child({ run_id: runId, command })
}

/** A child logger for one batch: adds `batch_id` (and the batch sequence number). */
export function forBatch (logger: Logger, { batchId, seq }: BatchBindings): Logger {
  return logger.child(seq === undefined ? { batch_id: batchId } : { batch_id: batchId, batch_seq: seq })
}
