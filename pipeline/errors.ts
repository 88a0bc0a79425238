// The one place error codes are defined. Callers branch on `err.code`, never on `instanceof`
// across module or thread boundaries (structured clone drops prototypes).
// Each error also carries the process exit code the CLI maps it to (PRODUCT.md §3), so the
// mapping lives beside the code and not in a switch in the CLI.
//
// Messages say what happened, where (file, line, byte offset, config key) and what to do.
// They never carry an identifier, a token or a secret.

export const ExitCode = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  REJECTS_OVER_LIMIT: 3,
  REAUTHORIZE: 4,
  DESTINATION_UNAVAILABLE: 5,
  CONFIG: 78
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export type ErrorCode =
  | 'HP_ERR_USAGE'
  | 'HP_ERR_CONFIG_INVALID'
  | 'HP_ERR_INPUT_UNREADABLE'
  | 'HP_ERR_INPUT_EMPTY'
  | 'HP_ERR_INPUT_CORRUPT_GZIP'
  | 'HP_ERR_INPUT_FORMAT'
  | 'HP_ERR_INPUT_NO_COLUMNS'
  | 'HP_ERR_INPUT_CHANGED'
  | 'HP_ERR_WORKER_CRASHED'
  | 'HP_ERR_SPILL_IO'
  | 'HP_ERR_OUTPUT_IO'
  | 'HP_ERR_DISK_FULL'
  | 'HP_ERR_REJECTS_OVER_LIMIT'
  | 'HP_ERR_API_TERMINAL'
  | 'HP_ERR_API_REAUTHORIZE'
  | 'HP_ERR_API_UNAVAILABLE'
  | 'HP_ERR_API_PROTOCOL'
  | 'HP_ERR_STATE'
  | 'HP_ERR_STATE_LOCKED'
  | 'HP_ERR_SNAPSHOT_CORRUPT'
  | 'HP_ERR_REFUSED'
  | 'HP_ERR_ABORTED'
  | 'HP_ERR_METRICS_SERVER'
  | 'HP_ERR_METRICS_PUSH'

export interface HashpipeErrorOptions {
  cause?: unknown
}

export class HashpipeError extends Error {
  readonly code: ErrorCode
  readonly exitCode: ExitCodeValue

  constructor (code: ErrorCode, message: string, exitCode: ExitCodeValue = ExitCode.FAILED, options: HashpipeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.exitCode = exitCode
  }
}

/** A command line that cannot be run as given. Exit 2. */
export class UsageError extends HashpipeError {
  constructor (message: string) {
    super('HP_ERR_USAGE', message, ExitCode.USAGE)
  }
}

/** Configuration invalid: every problem with its key path. Exit 78. */
export class ConfigError extends HashpipeError {
  readonly issues: readonly string[]
  constructor (issues: readonly string[], message = `configuration invalid:\n  ${issues.join('\n  ')}`) {
    super('HP_ERR_CONFIG_INVALID', message, ExitCode.CONFIG)
    this.issues = issues
  }
}

export interface InputLocation {
  file: string
  line?: number
  byteOffset?: number
}

/** An input that cannot be read at all (as opposed to a bad record, which is a reject). */
export class InputError extends HashpipeError {
  readonly file: string
  readonly line: number | undefined
  readonly byteOffset: number | undefined
  constructor (code: ErrorCode, message: string, where: InputLocation, options: HashpipeErrorOptions = {}) {
    super(code, message, ExitCode.FAILED, options)
    this.file = where.file
    this.line = where.line
    this.byteOffset = where.byteOffset
  }
}

/** A worker thread died or threw: a bug or a resource failure, never a bad record. */
export class WorkerError extends HashpipeError {
  readonly batchSeq: number
  constructor (message: string, batchSeq: number, options: HashpipeErrorOptions = {}) {
    super('HP_ERR_WORKER_CRASHED', message, ExitCode.FAILED, options)
    this.batchSeq = batchSeq
  }
}
