// `hashpipe hash <input...>`: the pipeline without delivery (docs/cli-contract.md). Options are validated
// here, once, into a resolved HashJobOptions; the job itself never re-validates.
import { parseArgs } from 'node:util'
import { kMaxGenerationBytes, runHashJob, type HashJobOptions } from '../hash-job.js'
import { fillHashOptions, formatSize, kCliNames, kHashBounds, kHashDefaults, type HashOptionKey } from '../hash-options.js'
import { formatSummary, rejectVerdict, type HashSummary } from '../hash-summary.js'
import { createProgress } from '../progress.js'
import { ExitCode, UsageError } from '../../pipeline/errors.js'
import { AtomicFileWriter } from '../../adapters/atomic-file.js'
import type { InputFormat } from '../../pipeline/column-plan.js'
import { formatDigests, outputHeader, type OutFormat } from '../../pipeline/digest-format.js'
import { ID_TYPES, type IdType, type PhoneHashForm, type RejectRecord } from '../../pipeline/protocol.js'
import { assertDistinctFiles, parseColumns, parseHttpUrl, parsePort, parseRatio, parseSize, csvCell } from '../cli-values.js'
import type { CommandIo } from '../command.js'
import { RUN_METRICS_OPTIONS, startRunMetrics } from './run-metrics.js'
import { commandLogger } from '../command-logger.js'
import { createIds } from '../../pipeline/ids.js'
import type { Logger } from '../logger.js'

const d = kHashDefaults
const b = kHashBounds
const kHelp = `usage: hashpipe hash <input...> [options]

Normalizes, validates, SHA-256 hashes and exactly dedupes identifiers. Inputs are CSV, TSV,
one-per-line, NDJSON, JSON array or Parquet files, gzip or not (detected), directories (their
files, sorted), quoted globs ('data/*.csv.gz', expanded by hashpipe), or '-' for stdin.

  --type TYPE                 identifier type of a one-column file without header:
                              ${ID_TYPES.join('|')}
  --columns T=NAME,...        map header names to types (email=Email,phone=Phone,maid=MAID)
  --format F                  csv|tsv|lines|ndjson|json|parquet (default: from extension, else sniffed)
  --delimiter D               csv field delimiter: , ; | or tab (default ,)
  --default-country CC        country for phone numbers without one (default ${d.normalize.defaultCountry})
  --phone-hash-form F         e164 (+<digits>) or digits (default ${d.normalize.phoneHashForm})
  --email-canonicalize M      none or gmail (drop dots and +tag for Gmail only; default ${d.normalize.emailCanonicalize})
  --strip-plus-tag            drop +tag from every address's local part
  --out FILE|-                unique identifiers (default - : stdout)
  --out-format F              csv (id_type,sha256; default) or ndjson
  --rejects FILE              rejected identifiers as CSV: file,line,byte_offset,field,reason
  --rejects-include-values    add the raw rejected value to the rejects file (contains PII)
  --no-dedupe                 keep duplicates; output in input order
  --threads N                 worker threads, ${b.threads.min} to ${b.threads.max} (default: ${d.threads}, this machine's parallelism)
  --json                      JSON summary (stdout when --out is a file, else stderr)
  --max-reject-ratio R        exit 3 when rejected/identifiers exceeds R (default 0.1)
  --max-line-bytes N          longer records are rejected as line_too_long (default ${formatSize(d.maxRecordBytes)},
                              ${b.maxRecordBytes.min} bytes to ${formatSize(b.maxRecordBytes.max)})
  --memory-budget SIZE        dedupe memory; digests spill to disk each time half of it, at most
                              ${formatSize(kMaxGenerationBytes)}, has filled (default ${formatSize(d.memoryBudgetBytes)}, ${formatSize(b.memoryBudgetBytes.min)} to this machine's memory)
  --tmp-dir DIR               where dedupe spills go (default: the OS temp dir)
  --batch-bytes SIZE          bytes per worker batch (default ${formatSize(d.batchBytes)}, ${formatSize(b.batchBytes.min)} to ${formatSize(b.batchBytes.max)})
  --progress / --no-progress  progress on stderr (default: on; a bar on a TTY, lines otherwise)
  --metrics-port P            serve Prometheus metrics on 127.0.0.1:P during the run
  --metrics-host H            bind the metrics server elsewhere (explicit: exposes it)
  --pushgateway URL           push final metrics to a Prometheus Pushgateway (batch runs)
  --log-file FILE             JSON logs to FILE at info level (HASHPIPE_LOG_LEVEL=debug adds rejects)
  -h, --help

Exit codes: 0 ok, 1 failed, 2 usage, 3 rejects over --max-reject-ratio (whole records count) or no valid
identifier at all, 130 interrupted.
`

const kOptions = {
  type: { type: 'string' },
  columns: { type: 'string' },
  format: { type: 'string' },
  delimiter: { type: 'string' },
  'default-country': { type: 'string' },
  'phone-hash-form': { type: 'string' },
  'email-canonicalize': { type: 'string' },
  'strip-plus-tag': { type: 'boolean' },
  out: { type: 'string', default: '-' },
  'out-format': { type: 'string', default: 'csv' },
  rejects: { type: 'string' },
  'rejects-include-values': { type: 'boolean' },
  'no-dedupe': { type: 'boolean', default: false },
  threads: { type: 'string' },
  json: { type: 'boolean', default: false },
  'max-reject-ratio': { type: 'string', default: '0.1' },
  'max-line-bytes': { type: 'string' },
  'memory-budget': { type: 'string' },
  'tmp-dir': { type: 'string' },
  'batch-bytes': { type: 'string' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean', default: false },
  ...RUN_METRICS_OPTIONS,
  'log-file': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false }
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof kOptions, allowPositionals: true }>>['values']

function oneOf<T extends string> (option: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${option} must be one of ${allowed.join('|')}, not '${value}'`)
  return value as T
}

interface HashCommandOptions extends HashJobOptions {
  out: string
  outFormat: OutFormat
  rejects?: string
  json: boolean
  maxRejectRatio: number
  progress: boolean
  metricsPort?: number
  metricsHost: string
  logFile?: string
  pushgateway?: string
}

function resolve (values: Values, inputs: string[]): HashCommandOptions {
  if (inputs.length === 0) throw new UsageError('no input given; name one or more files, or - for stdin (see hashpipe hash --help)')
  if (inputs.filter(i => i === '-').length > 1) throw new UsageError('stdin (-) can be named only once')
  const ratio = parseRatio('max-reject-ratio', values['max-reject-ratio'])
  const metricsPort = values['metrics-port'] === undefined ? undefined : parsePort('metrics-port', values['metrics-port'])
  if (values.pushgateway !== undefined) parseHttpUrl('pushgateway', values.pushgateway)
  const size = (option: 'batch-bytes' | 'max-line-bytes' | 'memory-budget'): number | undefined => values[option] === undefined ? undefined : parseSize(option, values[option])
  // What the user typed, so a bound error quotes it ("got 100GiB") rather than a byte count.
  const given: Partial<Record<HashOptionKey, string>> = {}
  if (values.threads !== undefined) given.threads = `'${values.threads}'`
  if (values['batch-bytes'] !== undefined) given.batchBytes = values['batch-bytes']
  if (values['max-line-bytes'] !== undefined) given.maxRecordBytes = values['max-line-bytes']
  if (values['memory-budget'] !== undefined) given.memoryBudgetBytes = values['memory-budget']
  const job = fillHashOptions({
    inputs,
    ...(values.format !== undefined ? { format: values.format as InputFormat } : {}),
    ...(values.delimiter !== undefined ? { delimiter: values.delimiter } : {}),
    ...(values.type !== undefined ? { type: values.type as IdType } : {}),
    ...(values.columns !== undefined ? { columns: parseColumns(values.columns) } : {}),
    ...(values.threads !== undefined ? { threads: Number(values.threads) } : {}),
    ...(values['batch-bytes'] !== undefined ? { batchBytes: size('batch-bytes') } : {}),
    ...(values['max-line-bytes'] !== undefined ? { maxRecordBytes: size('max-line-bytes') } : {}),
    ...(values['memory-budget'] !== undefined ? { memoryBudgetBytes: size('memory-budget') } : {}),
    ...(values['tmp-dir'] !== undefined ? { tmpDir: values['tmp-dir'] } : {}),
    normalize: {
      ...(values['default-country'] !== undefined ? { defaultCountry: values['default-country'] } : {}),
      ...(values['phone-hash-form'] !== undefined ? { phoneHashForm: values['phone-hash-form'] as PhoneHashForm } : {}),
      ...(values['email-canonicalize'] !== undefined ? { emailCanonicalize: values['email-canonicalize'] as 'none' | 'gmail' } : {}),
      ...(values['strip-plus-tag'] !== undefined ? { stripPlusTag: values['strip-plus-tag'] } : {})
    },
    ...(values['rejects-include-values'] !== undefined ? { includeValues: values['rejects-include-values'] } : {}),
    dedupe: !values['no-dedupe']
  }, { names: kCliNames, given })
  return {
    ...job,
    inputsKey: 'the command line',
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    metricsHost: values['metrics-host'],
    ...(values['log-file'] !== undefined ? { logFile: values['log-file'] } : {}),
    ...(values.pushgateway !== undefined ? { pushgateway: values.pushgateway } : {}),
    out: values.out,
    outFormat: oneOf<OutFormat>('out-format', values['out-format'], ['csv', 'ndjson']),
    ...(values.rejects !== undefined ? { rejects: values.rejects } : {}),
    json: values.json,
    maxRejectRatio: ratio,
    progress: values['no-progress'] ? false : (values.progress ?? true)
  }
}

export default async function hash (argv: string[], io: CommandIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: kOptions, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe hash --help)`)
  }
  if (parsed.values.help) { io.stdout.write(kHelp); return ExitCode.OK }
  const opts = resolve(parsed.values, parsed.positionals)
  await assertDistinctFiles([
    { option: '--out', path: opts.out },
    ...(opts.rejects !== undefined ? [{ option: '--rejects', path: opts.rejects }] : []),
    ...(opts.logFile !== undefined ? [{ option: '--log-file', path: opts.logFile }] : [])
  ], opts.inputs.map(path => ({ option: '<input...>', path })))
  const run = await startRunMetrics(io, 'hash', { port: opts.metricsPort, host: opts.metricsHost, pushgateway: opts.pushgateway })
  const metrics = run.metrics
  if (metrics !== undefined) opts.metrics = metrics
  const timer = metrics?.startRun('hash')
  const log = commandLogger(io, 'hash', opts.logFile, createIds().runId())
  log.info({ inputs: opts.inputs.length, threads: opts.threads, dedupe: opts.dedupe }, 'hash run started')
  try {
    const code = await runHash(opts, io, log)
    timer?.end(code)
    return code
  } catch (err) {
    // Logging the failure must never replace it (a full disk may hold the log file too).
    try { log.error({ err }, 'hash run failed') } catch {}
    timer?.end((err as { exitCode?: number }).exitCode ?? ExitCode.FAILED)
    throw err
  } finally {
    await run.close()
  }
}

async function runHash (opts: HashCommandOptions, io: CommandIo, log: Logger): Promise<number> {
  const out = await AtomicFileWriter.create(opts.out, io.stdout)
  const rejects = opts.rejects === undefined ? undefined : await AtomicFileWriter.create(opts.rejects, io.stdout, opts.includeValues ? 0o600 : 0o644)
  const progress = opts.progress ? createProgress(io.stderr) : undefined
  const warnings: string[] = []
  let summary: HashSummary
  try {
    await out.write(outputHeader(opts.outFormat))
    await rejects?.write(opts.includeValues ? 'file,line,byte_offset,field,reason,value\n' : 'file,line,byte_offset,field,reason\n')
    summary = await runHashJob({ ...opts, rowFormat: opts.outFormat }, {
      digests: async (digests, count, schemas, rows) => { await out.write(rows !== undefined ? Buffer.from(rows.buffer, rows.byteOffset, rows.length) : formatDigests(opts.outFormat, digests, count, schemas)) },
      ...(rejects !== undefined
        ? {
            reject: async (file: string, r: RejectRecord) => {
              log.debug({ file, line: r.line, byte_offset: r.byteOffset, field: r.field, reason: r.reason }, 'rejected')
              const row = [csvCell(file), r.line, r.byteOffset < 0 ? '' : r.byteOffset, csvCell(r.field), r.reason]
              if (opts.includeValues) row.push(csvCell(r.value ?? ''))
              await rejects.write(row.join(',') + '\n')
            }
          }
        : {}),
      ...(progress !== undefined ? { progress: progress.update } : {}),
      warn: (message: string) => { warnings.push(message) }
    }, io.stdin, io.signal)
    progress?.stop()
    await out.commit()
    await rejects?.commit()
  } catch (err) {
    progress?.stop()
    await out.abort()
    await rejects?.abort()
    throw err
  }
  summary.warnings = warnings
  // The logger prints each as a human line on stderr too (command-logger.ts).
  for (const w of warnings) log.warn(w)
  const { inputs: _inputs, warnings: _w, ...counts } = summary
  log.info({ summary: counts }, 'hash run finished')
  const summaryStream = opts.out === '-' ? io.stderr : io.stdout
  summaryStream.write(opts.json ? JSON.stringify(summary) + '\n' : formatSummary(summary))
  const verdict = rejectVerdict(summary, opts.maxRejectRatio)
  if (verdict !== undefined) {
    io.stderr.write(`hashpipe: ${verdict}\n`)
    return ExitCode.REJECTS_OVER_LIMIT
  }
  return ExitCode.OK
}
