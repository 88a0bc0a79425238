// The one place error codes are defined. Callers branch on `err.code`, never on `instanceof`
// across module or thread boundaries (structured clone drops prototypes).
// Each error also carries the process exit code the CLI maps it to (docs/cli-contract.md), so
// the mapping lives beside the code and not in a switch in the CLI.
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
  CONFIG: 78,
  INTERRUPTED: 130
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

// Every code, with the exit code it maps to unless the thrower says otherwise (undici's style:
// one table, one class where a code carries more than a message). README.md's error-code table
// lists exactly these codes; test/pipeline/error-codes.test.ts holds the two to each other and
// to the throw sites.
export const kDefaultExitCodes = {
  HP_ERR_USAGE: ExitCode.USAGE,
  HP_ERR_CONFIG_INVALID: ExitCode.CONFIG,
  HP_ERR_INPUT_UNREADABLE: ExitCode.FAILED,
  HP_ERR_INPUT_CORRUPT_GZIP: ExitCode.FAILED,
  HP_ERR_INPUT_CORRUPT_PARQUET: ExitCode.FAILED,
  // Exit 3 as for a file that gives only rejects: the run read no valid identifier.
  HP_ERR_INPUT_ENCODING: ExitCode.REJECTS_OVER_LIMIT,
  HP_ERR_INPUT_FORMAT: ExitCode.FAILED,
  HP_ERR_INPUT_NO_COLUMNS: ExitCode.FAILED,
  HP_ERR_INPUT_CHANGED: ExitCode.FAILED,
  HP_ERR_NO_IDENTIFIERS: ExitCode.REJECTS_OVER_LIMIT,
  HP_ERR_WORKER_CRASHED: ExitCode.FAILED,
  HP_ERR_SPILL_IO: ExitCode.FAILED,
  HP_ERR_OUTPUT_IO: ExitCode.FAILED,
  HP_ERR_DISK_FULL: ExitCode.FAILED,
  HP_ERR_API_TERMINAL: ExitCode.FAILED,
  HP_ERR_API_REAUTHORIZE: ExitCode.REAUTHORIZE,
  HP_ERR_API_UNAVAILABLE: ExitCode.DESTINATION_UNAVAILABLE,
  HP_ERR_RATE_LIMIT_UNAVAILABLE: ExitCode.DESTINATION_UNAVAILABLE,
  HP_ERR_API_PROTOCOL: ExitCode.FAILED,
  HP_ERR_STATE_IO: ExitCode.FAILED,
  HP_ERR_STATE_VERSION: ExitCode.FAILED,
  HP_ERR_STATE_INSECURE: ExitCode.FAILED,
  HP_ERR_STATE_CONFLICT: ExitCode.FAILED,
  HP_ERR_STATE_MISSING: ExitCode.FAILED,
  HP_ERR_STATE_INVALID: ExitCode.FAILED,
  HP_ERR_STATE_LOCKED: ExitCode.FAILED,
  HP_ERR_STATE_CORRUPT: ExitCode.FAILED,
  HP_ERR_SNAPSHOT_CORRUPT: ExitCode.FAILED,
  HP_ERR_REFUSED: ExitCode.FAILED,
  HP_ERR_ABORTED: ExitCode.INTERRUPTED,
  HP_ERR_METRICS_SERVER: ExitCode.FAILED,
  HP_ERR_METRICS_PUSH: ExitCode.FAILED,
  // A failure no check named (a bug): the CLI wraps it so even a bug prints one coded line.
  HP_ERR_INTERNAL: ExitCode.FAILED
} as const satisfies Record<string, ExitCodeValue>

export type ErrorCode = keyof typeof kDefaultExitCodes

export interface HashpipeErrorOptions {
  cause?: unknown
}

export class HashpipeError extends Error {
  readonly code: ErrorCode
  readonly exitCode: ExitCodeValue

  constructor (code: ErrorCode, message: string, exitCode: ExitCodeValue = kDefaultExitCodes[code], options: HashpipeErrorOptions = {}) {
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
    super(code, message, kDefaultExitCodes[code], options)
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

/** The state directory can't be used or changed as asked; the code says which action helps. */
export type StateErrorCode = Extract<ErrorCode, `HP_ERR_STATE_${string}`>

export class StateError extends HashpipeError {
  constructor (code: StateErrorCode, message: string, options: HashpipeErrorOptions = {}) {
    super(code, message, kDefaultExitCodes[code], options)
  }
}

/** SIGINT or SIGTERM stopped the command; what was durable stays, and a rerun resumes. Exit 130. */
export class InterruptedError extends HashpipeError {
  constructor (message: string) {
    super('HP_ERR_ABORTED', message, ExitCode.INTERRUPTED)
  }
}
