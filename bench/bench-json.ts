// The machine-readable bench report (BENCH_JSON) and its customBiggerIsBetter projection
// (BENCH_CI_JSON). Pure functions over measured figures: bench/run.ts measures, this shapes,
// bench/compare.ts reads it back. A field that changes meaning bumps kBenchSchemaVersion.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { arch, cpus, platform, totalmem } from 'node:os'

export const kBenchSchema = 'hashpipe-bench'
export const kBenchSchemaVersion = 1

/** One contender's median run. `stages` only for hashpipe runs (`hash --json`). */
export interface ContenderFigures {
  id: string
  name: string
  identifiers: number
  unique: number
  seconds: number
  peakMiB: number
  stages?: Record<string, number>
  /** `hash --json`'s native status: which hashing path ran. */
  native?: { active: boolean, sha_ni?: boolean, reason?: string } | undefined
  /** The main thread's busy share of wall time (event-loop utilization) and its CPU seconds. */
  busy?: { share: number, cpu: number | null } | undefined
  note?: string
  runs: number
}

export interface InstructionsFigure {
  method: 'perf' | 'callgrind' | null
  /** Marginal instructions per identifier, all threads, between the two workload sizes. */
  per_identifier: number | null
  workload: { rows: number[], identifiers: number[], seed: number } | null
  instructions: number[] | null
  /** Why there is no figure (no perf counter, no valgrind), or how it was measured. */
  note: string
}

export interface ContenderReport {
  id: string
  name: string
  identifiers: number
  unique: number
  seconds: number
  identifiers_per_second: number
  mb_per_second: number
  peak_rss_mib: number
  stages: Record<string, number> | null
  native: ContenderFigures['native'] | null
  main_thread_busy_share: number | null
  main_thread_cpu_seconds: number | null
  note: string | null
  runs: number
}

export interface BenchReport {
  schema: typeof kBenchSchema
  schema_version: number
  date: string
  git: { revision: string | null, dirty: boolean | null }
  node: string
  machine: { cpu_model: string, cores: number, ram_bytes: number, arch: string, platform: string }
  /** `available`: what the CPU offers (/proc/cpuinfo); `used`: what the measured hashpipe run took. */
  cpu_flags: { available: { sha_ni: boolean | null, sse2: boolean | null, avx2: boolean | null }, used: { sha_ni: boolean | null, sse2: boolean | null, native: boolean | null, reason: string | null } }
  workload: { size: string, bytes: number, seed: number, runs: number, generator: string }
  contenders: ContenderReport[]
  /** Identifiers/s of one contender over another, both from this run; null when one did not run. */
  ratios: { hashpipe_vs_duckdb: number | null, devnull_vs_duckdb: number | null, threads2_vs_threads1: number | null, hashpipe_vs_naive: number | null }
  instructions: InstructionsFigure | null
  sha256_ceiling_per_second: number | null
}

export interface MachineFacts {
  date: Date
  git: BenchReport['git']
  node: string
  machine: BenchReport['machine']
  cpuFlags: BenchReport['cpu_flags']['available']
}

/** What this process can see of the machine and the checkout it runs from. */
export function machineFacts (root: string): MachineFacts {
  const git = (args: string[]): string | null => {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' })
    return r.status === 0 ? r.stdout.trim() : null
  }
  const revision = git(['rev-parse', 'HEAD'])
  const status = revision === null ? null : git(['status', '--porcelain', '--untracked-files=no'])
  let flags: string[] | null = null
  try {
    const m = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m !== null) flags = m[1]!.split(/\s+/)
  } catch {}
  const has = (f: string): boolean | null => flags === null ? null : flags.includes(f)
  return {
    date: new Date(),
    git: { revision, dirty: status === null ? null : status !== '' },
    node: process.version,
    machine: { cpu_model: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, ram_bytes: totalmem(), arch: arch(), platform: platform() },
    cpuFlags: { sha_ni: has('sha_ni'), sse2: arch() === 'x64' ? true : has('sse2'), avx2: has('avx2') }
  }
}

const round = (v: number, digits = 4): number => Number(v.toFixed(digits))

export function buildReport (input: {
  facts: MachineFacts
  workload: BenchReport['workload']
  contenders: ContenderFigures[]
  instructions: InstructionsFigure | null
  sha256CeilingPerSecond: number | null
}): BenchReport {
  const { facts, workload } = input
  const contenders: ContenderReport[] = input.contenders.map(c => ({
    id: c.id,
    name: c.name,
    identifiers: c.identifiers,
    unique: c.unique,
    seconds: round(c.seconds, 3),
    identifiers_per_second: Math.round(c.identifiers / c.seconds),
    mb_per_second: round(workload.bytes / 1e6 / c.seconds, 2),
    peak_rss_mib: round(c.peakMiB, 1),
    stages: c.stages ?? null,
    native: c.native ?? null,
    main_thread_busy_share: c.busy === undefined ? null : round(c.busy.share, 3),
    main_thread_cpu_seconds: c.busy?.cpu == null ? null : round(c.busy.cpu, 2),
    note: c.note ?? null,
    runs: c.runs
  }))
  const rate = (id: string): number | undefined => contenders.find(c => c.id === id)?.identifiers_per_second
  const ratio = (a: string, b: string): number | null => {
    const x = rate(a)
    const y = rate(b)
    return x === undefined || y === undefined || y === 0 ? null : round(x / y)
  }
  // The hashpipe run the flags describe: the default run, else any hashpipe run that reported.
  const hp = contenders.find(c => c.id === 'hashpipe' && c.native !== null) ?? contenders.find(c => c.native !== null)
  const native = hp?.native ?? null
  return {
    schema: kBenchSchema,
    schema_version: kBenchSchemaVersion,
    date: facts.date.toISOString(),
    git: facts.git,
    node: facts.node,
    machine: facts.machine,
    cpu_flags: {
      available: facts.cpuFlags,
      used: native === null
        ? { sha_ni: null, sse2: null, native: null, reason: 'no hashpipe run in this bench' }
        // The addon's ASCII normalizer is built with SSE2 wherever the compiler targets it (all x64);
        // the pure-Node path uses neither.
        : { sha_ni: native.active && native.sha_ni === true, sse2: native.active && facts.machine.arch === 'x64', native: native.active, reason: native.active ? null : native.reason ?? null }
    },
    workload,
    contenders,
    ratios: {
      hashpipe_vs_duckdb: ratio('hashpipe', 'duckdb'),
      devnull_vs_duckdb: ratio('devnull', 'duckdb'),
      threads2_vs_threads1: ratio('hashpipe', 'threads1'),
      hashpipe_vs_naive: ratio('hashpipe', 'naive')
    },
    instructions: input.instructions,
    sha256_ceiling_per_second: input.sha256CeilingPerSecond === null ? null : Math.round(input.sha256CeilingPerSecond)
  }
}

/** One entry of github-action-benchmark's custom tools: value required, range/extra optional strings. */
export interface CiEntry { name: string, unit: string, value: number, range?: string, extra?: string }

/**
 * The report as customBiggerIsBetter entries: every contender's identifiers/s, the in-run ratios
 * (the figures that hold across machines of a kind), and identifiers per million instructions
 * (instructions per identifier inverted, so that bigger is better like the rest).
 */
export function ciEntries (r: BenchReport): CiEntry[] {
  const context = `${r.workload.size} workload, ${r.machine.cores} × ${r.machine.cpu_model}, Node ${r.node}, ${r.git.revision?.slice(0, 12) ?? 'no git'}`
  const entries: CiEntry[] = r.contenders.map(c => ({
    name: `${c.name}: identifiers/s`,
    unit: 'identifiers/s',
    value: c.identifiers_per_second,
    extra: `${c.seconds} s, peak RSS ${c.peak_rss_mib} MiB, ${c.unique} unique, median of ${c.runs}\n${context}`
  }))
  const ratios: Array<[keyof BenchReport['ratios'], string]> = [
    ['hashpipe_vs_duckdb', 'hashpipe / DuckDB (same run)'],
    ['devnull_vs_duckdb', 'hashpipe to /dev/null / DuckDB (same run)'],
    ['threads2_vs_threads1', 'hashpipe default threads / --threads 1 (same run)'],
    ['hashpipe_vs_naive', 'hashpipe / naive (same run)']
  ]
  for (const [key, name] of ratios) {
    const v = r.ratios[key]
    if (v !== null) entries.push({ name, unit: 'ratio', value: v, extra: context })
  }
  const ins = r.instructions
  if (ins !== null && ins.per_identifier !== null && ins.per_identifier > 0) {
    entries.push({ name: `hashpipe hash: identifiers per million instructions (${ins.method ?? '?'})`, unit: 'identifiers/Minstr', value: round(1e6 / ins.per_identifier, 3), extra: `${Math.round(ins.per_identifier)} instructions per identifier, all threads; ${ins.note}` })
  }
  return entries
}
