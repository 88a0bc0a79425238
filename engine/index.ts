// The programmatic API, the package's `exports` entry: `import { hash, distribute } from 'hashpipe'`.
// hash() runs the pipeline the `hash` command runs, with the same defaults and bounds
// (hash-options.ts) and errors naming `options.<key>`; distribute() runs the `distribute`
// command itself, so a library call and a command line behave alike (state, resume, guards).
import { Writable, type Readable } from 'node:stream'
import { runHashJob } from './hash-job.js'
import { checkHashNumber, fillHashOptions, type HashOptions } from './hash-options.js'
import type { HashSummary } from './hash-summary.js'
import distributeCommand from './commands/distribute.js'
import { AtomicFileWriter } from '../adapters/atomic-file.js'
import { formatDigests, outputHeader, type OutFormat } from '../pipeline/digest-format.js'
import { UsageError } from '../pipeline/errors.js'
import type { RejectRecord } from '../pipeline/protocol.js'

export { HashpipeError, UsageError, ConfigError, ExitCode, type ErrorCode, type ExitCodeValue } from '../pipeline/errors.js'
export { kHashDefaults, kHashBounds, type HashOptions, type FilledHashOptions } from './hash-options.js'
export { ID_SCHEMAS, ID_TYPES, REJECT_REASONS, type IdSchema, type IdType, type NormalizeOptions, type RejectReason, type RejectRecord } from '../pipeline/protocol.js'
export type { InputFormat } from '../pipeline/column-plan.js'
export type { OutFormat } from '../pipeline/digest-format.js'
export type { HashSummary } from './hash-summary.js'

/** A batch of digests: `count` SHA-256 digests of 32 bytes, and each one's ID_SCHEMAS index. */
export interface DigestBatch {
  digests: Uint8Array
  count: number
  schemas: Uint8Array
}

export interface HashRunOptions extends HashOptions {
  /** Write the unique identifiers here, as `hashpipe hash --out` does ('-' for stdout); the file appears only if the run succeeds. */
  out?: string
  /** Format of `out` (default csv: `id_type,sha256`). */
  outFormat?: OutFormat
  /**
   * Called with every batch of digests (unique and sorted per id schema, or all in input order
   * with dedupe off), and awaited. The arrays are reused or freed (zero-length) once it returns:
   * copy what you keep.
   */
  onDigests?: (batch: DigestBatch) => void | Promise<void>
  /** Called with every rejected identifier or record; `line` is 1-based. Awaited. */
  onReject?: (file: string, reject: RejectRecord) => void | Promise<void>
  /** Read for the input '-' (default process.stdin). */
  stdin?: Readable
  signal?: AbortSignal
}

/** Hashes and dedupes the inputs; resolves with the run's summary (counts only). */
export async function hash (options: HashRunOptions): Promise<HashSummary> {
  const job = fillHashOptions(options)
  const outFormat = options.outFormat ?? 'csv'
  if (outFormat !== 'csv' && outFormat !== 'ndjson') throw new UsageError(`options.outFormat must be one of csv|ndjson; got '${String(outFormat)}'`)
  const onDigests = options.onDigests
  const out = options.out === undefined ? undefined : await AtomicFileWriter.create(options.out, process.stdout)
  const warnings: string[] = []
  try {
    await out?.write(outputHeader(outFormat))
    // Rows come preformatted from the pool only when nobody wants the digests themselves.
    const rowsOnly = out !== undefined && onDigests === undefined
    const summary = await runHashJob({ ...job, ...(rowsOnly ? { rowFormat: outFormat } : {}) }, {
      digests: async (digests, count, schemas, rows) => {
        if (out !== undefined) await out.write(rows !== undefined ? Buffer.from(rows.buffer, rows.byteOffset, rows.length) : formatDigests(outFormat, digests, count, schemas))
        if (onDigests !== undefined) await onDigests({ digests: digests.subarray(0, count * 32), count, schemas: typeof schemas === 'number' ? new Uint8Array(count).fill(schemas) : schemas.subarray(0, count) })
      },
      ...(options.onReject !== undefined ? { reject: async (file: string, r: RejectRecord) => { await options.onReject!(file, r) } } : {}),
      warn: (message: string) => { warnings.push(message) }
    }, options.stdin ?? process.stdin, options.signal)
    await out?.commit()
    summary.warnings = warnings
    return summary
  } catch (err) {
    await out?.abort()
    throw err
  }
}

export interface DistributeRunOptions {
  /** The config file (YAML or JSON). */
  config: string
  /** Only these segments / only distributions to these destinations (default: all). */
  segments?: string[]
  destinations?: string[]
  /** Plan only: no TikTok write call. */
  dryRun?: boolean
  /** Discard an interrupted run and start over from the inputs. */
  restart?: boolean
  allowMassDelete?: boolean
  /** Record Sync's delete guard, above 0 and at most 1 (default 0.5). */
  maxDeleteShare?: number
  threads?: number
  /** Environment for ${VAR} in the config (default process.env). */
  env?: NodeJS.ProcessEnv
  /** Warnings and errors as log lines (default process.stderr). */
  stderr?: Writable
  /** JSON logs (pino) to this file at info level. */
  logFile?: string
  signal?: AbortSignal
}

/** One distribution of a run, as `distribute --json` prints it (snake_case keys). */
export interface DistributionOutcome {
  segment: string
  destination: string
  status: 'ok' | 'failed'
  /** When ok: advertiser_id, run_id, resumed, dry_run, audience_id, snapshot, plan, delivered, … */
  result?: Record<string, unknown>
  /** When failed: the error's stable code and its message. */
  error?: { code: string, message: string }
}

/**
 * Runs the config's distributions (prepare, plan, deliver, commit; an interrupted one resumes)
 * and resolves with one outcome each: a failing distribution does not stop the others, and its
 * outcome carries the error. Fails with a HashpipeError (whose exitCode is the command's) only
 * when nothing could run: a bad config, state that cannot be opened, a full disk.
 */
export async function distribute (options: DistributeRunOptions): Promise<DistributionOutcome[]> {
  if (typeof options?.config !== 'string' || options.config === '') throw new UsageError(`options.config must be the path of a config file; got ${String(options?.config)}`)
  if (options.threads !== undefined) checkHashNumber('threads', options.threads)
  const share = options.maxDeleteShare
  if (share !== undefined && !(typeof share === 'number' && share > 0 && share <= 1)) throw new UsageError(`options.maxDeleteShare must be a number above 0 and at most 1; got ${String(share)}`)
  const argv = [
    `--config=${options.config}`,
    ...(options.segments ?? []).map(s => `--segment=${s}`),
    ...(options.destinations ?? []).map(d => `--destination=${d}`),
    ...(options.dryRun === true ? ['--dry-run'] : []),
    ...(options.restart === true ? ['--restart'] : []),
    ...(options.allowMassDelete === true ? ['--allow-mass-delete'] : []),
    ...(share !== undefined ? [`--max-delete-share=${share}`] : []),
    ...(options.threads !== undefined ? [`--threads=${options.threads}`] : []),
    ...(options.logFile !== undefined ? [`--log-file=${options.logFile}`] : []),
    '--json'
  ]
  let json = ''
  const stdout = new Writable({ write (chunk: Buffer, _encoding, done) { json += chunk.toString(); done() } })
  await distributeCommand(argv, {
    stdin: process.stdin,
    stdout,
    stderr: options.stderr ?? process.stderr,
    env: options.env ?? process.env,
    signal: options.signal ?? new AbortController().signal
  })
  // With nothing to distribute the command prints no JSON.
  return json === '' ? [] : (JSON.parse(json) as { distributions: DistributionOutcome[] }).distributions
}
