// The CI gate: compares a bench report (BENCH_JSON) with a baseline report on figures measured
// against something in the same run, never on absolute seconds, which move 2× between machines of
// the same kind. Gated: hashpipe's identifiers/s over DuckDB's (bigger is better) and instructions
// per identifier (smaller is better, when both reports counted them the same way). Shown, not
// gated: the other ratios and the absolute rates.
//   node dist/bench/compare.js BASELINE.json CURRENT.json [--max-regression 0.10]
// Exit codes: 0 within the threshold, 1 a gated figure regressed beyond it, 2 unreadable input.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { kBenchSchema, kBenchSchemaVersion, type BenchReport } from './bench-json.js'

export const kDefaultMaxRegression = 0.10

export class BenchReportError extends Error {
  override name = 'BenchReportError'
}

/** Parses and checks a report; every failure says which file, which field, and what makes a good one. */
export function parseReport (text: string, where: string): BenchReport {
  const fix = 'write one with BENCH_JSON=FILE npm run bench'
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw new BenchReportError(`${where}: not JSON (${(err as Error).message}); ${fix}`)
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BenchReportError(`${where}: not a bench report (expected a JSON object, got ${Array.isArray(v) ? 'an array: a BENCH_CI_JSON file is not a baseline' : typeof v}); ${fix}`)
  const o = v as Record<string, unknown>
  if (o['schema'] !== kBenchSchema) throw new BenchReportError(`${where}: not a bench report (schema is ${JSON.stringify(o['schema'])}, expected "${kBenchSchema}"); ${fix}`)
  if (o['schema_version'] !== kBenchSchemaVersion) throw new BenchReportError(`${where}: bench report schema_version ${JSON.stringify(o['schema_version'])}, this compare reads ${kBenchSchemaVersion}; rerun the baseline with this checkout's bench`)
  const ratios = o['ratios']
  if (typeof ratios !== 'object' || ratios === null) throw new BenchReportError(`${where}: field "ratios" missing or not an object; ${fix}`)
  for (const [k, r] of Object.entries(ratios)) {
    if (r !== null && (typeof r !== 'number' || !Number.isFinite(r) || r <= 0)) throw new BenchReportError(`${where}: ratios.${k} is ${JSON.stringify(r)}, expected a positive number or null; ${fix}`)
  }
  if (!Array.isArray(o['contenders'])) throw new BenchReportError(`${where}: field "contenders" missing or not an array; ${fix}`)
  for (const [i, c] of (o['contenders'] as unknown[]).entries()) {
    const cc = c as Record<string, unknown> | null
    if (typeof cc !== 'object' || cc === null || typeof cc['id'] !== 'string' || typeof cc['identifiers_per_second'] !== 'number') throw new BenchReportError(`${where}: contenders[${i}] lacks a string "id" or a number "identifiers_per_second"; ${fix}`)
  }
  const ins = o['instructions']
  if (ins !== null && ins !== undefined && (typeof ins !== 'object' || (ins as Record<string, unknown>)['per_identifier'] === undefined)) throw new BenchReportError(`${where}: field "instructions" is neither null nor an object with "per_identifier"; ${fix}`)
  return v as BenchReport
}

export interface CompareRow {
  metric: string
  baseline: number | null
  current: number | null
  /** current/baseline − 1; for smaller-is-better figures, baseline/current − 1: negative is worse. */
  change: number | null
  gated: boolean
  verdict: 'ok' | 'regression' | 'improved' | 'missing' | 'info'
}

export interface CompareResult { rows: CompareRow[], regressions: CompareRow[], maxRegression: number, problems: string[] }

export function compareReports (baseline: BenchReport, current: BenchReport, maxRegression = kDefaultMaxRegression): CompareResult {
  // Ratios depend on the size (start-up weighs more on a small file): only like compares with like.
  if (baseline.workload?.bytes !== current.workload?.bytes) throw new BenchReportError(`baseline workload is ${baseline.workload?.size ?? '?'} (${baseline.workload?.bytes ?? '?'} bytes), current is ${current.workload?.size ?? '?'} (${current.workload?.bytes ?? '?'} bytes): compare reports of the same SIZE`)
  const rows: CompareRow[] = []
  const problems: string[] = []
  const add = (metric: string, b: number | null | undefined, c: number | null | undefined, gated: boolean, biggerIsBetter = true): void => {
    const bb = b ?? null
    const cc = c ?? null
    if (bb === null || cc === null) { rows.push({ metric, baseline: bb, current: cc, change: null, gated, verdict: gated ? 'missing' : 'info' }); return }
    const change = biggerIsBetter ? cc / bb - 1 : bb / cc - 1
    const verdict = !gated ? 'info' : change < -maxRegression ? 'regression' : change > maxRegression ? 'improved' : 'ok'
    rows.push({ metric, baseline: bb, current: cc, change, gated, verdict })
  }
  add('hashpipe / DuckDB (identifiers/s, same run)', baseline.ratios.hashpipe_vs_duckdb, current.ratios.hashpipe_vs_duckdb, true)
  if (baseline.ratios.hashpipe_vs_duckdb === null || current.ratios.hashpipe_vs_duckdb === null) {
    problems.push(`hashpipe / DuckDB missing from the ${baseline.ratios.hashpipe_vs_duckdb === null ? 'baseline' : 'current'} report: run the bench with both contenders (BENCH_ONLY unset, or containing hashpipe,duckdb)`)
  }
  const bi = baseline.instructions
  const ci = current.instructions
  const sameCount = bi?.method != null && bi.method === ci?.method && JSON.stringify(bi.workload?.rows) === JSON.stringify(ci.workload?.rows)
  const insLabel = sameCount ? ` (${bi.method})` : bi?.per_identifier == null && ci?.per_identifier == null ? ' (not counted)' : ' (not comparable: method or workload differs)'
  add(`instructions per identifier${insLabel}`, bi?.per_identifier, ci?.per_identifier, sameCount && bi.per_identifier !== null && ci.per_identifier !== null, false)
  add('hashpipe to /dev/null / DuckDB', baseline.ratios.devnull_vs_duckdb, current.ratios.devnull_vs_duckdb, false)
  add('default threads / --threads 1', baseline.ratios.threads2_vs_threads1, current.ratios.threads2_vs_threads1, false)
  for (const c of current.contenders) {
    const b = baseline.contenders.find(x => x.id === c.id)
    add(`${c.name}: identifiers/s (absolute, machine-dependent)`, b?.identifiers_per_second, c.identifiers_per_second, false)
    add(`${c.name}: peak RSS MiB`, b?.peak_rss_mib, c.peak_rss_mib, false, false)
  }
  return { rows, regressions: rows.filter(r => r.verdict === 'regression' || (r.verdict === 'missing' && r.gated)), maxRegression, problems }
}

export function formatComparison (r: CompareResult): string {
  const f = (v: number | null): string => v === null ? '-' : v >= 1000 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toFixed(3)))
  const lines = [
    `| figure | baseline | current | change | gate (max −${(100 * r.maxRegression).toFixed(0)}%) |`,
    '|---|---:|---:|---:|---|',
    ...r.rows.map(x => `| ${x.metric} | ${f(x.baseline)} | ${f(x.current)} | ${x.change === null ? '-' : `${x.change >= 0 ? '+' : ''}${(100 * x.change).toFixed(1)}%`} | ${x.gated || x.verdict === 'missing' ? x.verdict : 'not gated'} |`),
    '',
    ...r.problems,
    r.regressions.length === 0
      ? `gate: pass (no gated figure worse by more than ${(100 * r.maxRegression).toFixed(0)}%)`
      : `gate: FAIL: ${r.regressions.map(x => x.change === null ? `${x.metric} missing` : `${x.metric} ${(100 * x.change).toFixed(1)}%`).join('; ')}`,
    ''
  ]
  return lines.join('\n')
}

export function parseMaxRegression (s: string | undefined, where: string): number {
  if (s === undefined || s === '') return kDefaultMaxRegression
  const v = Number(s)
  if (!Number.isFinite(v) || v <= 0 || v >= 1) throw new BenchReportError(`${where} is ${JSON.stringify(s)}: expected a fraction between 0 and 1, e.g. 0.10 for 10%`)
  return v
}

/** Reads, compares, prints; returns the exit code (0 pass, 1 regression, 2 unreadable input). */
export function runCompare (baselinePath: string, current: BenchReport | string, maxRegression: number, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): number {
  try {
    const read = (p: string): BenchReport => {
      let text: string
      try { text = readFileSync(p, 'utf8') } catch (e) { throw new BenchReportError(`${p}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a file an earlier BENCH_JSON=FILE npm run bench wrote`) }
      return parseReport(text, p)
    }
    const result = compareReports(read(baselinePath), typeof current === 'string' ? read(current) : current, maxRegression)
    out.write(formatComparison(result))
    return result.regressions.length === 0 ? 0 : 1
  } catch (e) {
    if (!(e instanceof BenchReportError)) throw e
    err.write(`bench compare: ${e.message}\n`)
    return 2
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const at = args.indexOf('--max-regression')
  let max: number
  try {
    max = parseMaxRegression(at >= 0 ? args[at + 1] : process.env['BENCH_MAX_REGRESSION'], at >= 0 ? '--max-regression' : 'BENCH_MAX_REGRESSION')
  } catch (e) {
    process.stderr.write(`bench compare: ${(e as Error).message}\n`)
    process.exit(2)
  }
  const files = at >= 0 ? args.filter((_, i) => i !== at && i !== at + 1) : args
  if (files.length !== 2) {
    process.stderr.write('usage: node dist/bench/compare.js BASELINE.json CURRENT.json [--max-regression 0.10]\n')
    process.exit(2)
  }
  process.exitCode = runCompare(files[0]!, files[1]!, max)
}
