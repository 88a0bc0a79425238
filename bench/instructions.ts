// Instructions per identifier for `hashpipe hash`: a figure that does not move with the load of
// a shared machine the way seconds do. Counted by `perf stat -e instructions` where the kernel
// exposes the counter (most VMs do not), else by valgrind's callgrind on smaller inputs; both
// count every thread of the process, so the hash workers are in. Two workload sizes, and the
// difference divided by the difference in identifiers: Node's and the workers' start-up cancel
// out, what is left is the per-identifier cost of reading, hashing, deduping and writing.
//   node dist/bench/instructions.js [perf|callgrind]     (prints the JSON figure)
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateFile } from './generate.js'
import type { InstructionsFigure } from './bench-json.js'

type Method = 'perf' | 'callgrind'

export interface InstructionsOptions {
  cli: string
  /** Rows of the two workloads per method; callgrind runs ~50× slower, so it gets fewer. */
  rows?: Partial<Record<Method, [number, number]>>
  /** Force a method (tests, or a machine where one of them lies). */
  method?: Method
  /**
   * Fall back to callgrind when perf cannot count. Off in `npm run bench` unless asked for
   * (BENCH_INSTRUCTIONS=callgrind): it costs minutes of CPU, more than the CI size's whole run.
   */
  callgrindFallback?: boolean
  /** Override tool names (tests: a tool that is not installed). */
  tools?: { perf?: string, valgrind?: string }
}

// The difference must dwarf the run-to-run spread of start-up. Measured under callgrind
// (2026-12-02, 2,000 rows, the same binary and input): with 2 worker threads and libuv's 4
// pool threads, 5.82 G and 5.52 G instructions; with `--threads 1` and UV_THREADPOOL_SIZE=1,
// 4.96 G and 4.89 G (fewer threads that wake and poll as valgrind schedules them). So the counts
// take one worker and one libuv thread (the per-identifier work is the same: parse, hash,
// dedupe, write) and sizes ~890 k identifiers apart under callgrind. The spread still grows with
// wall time (two whole figures at nice 19 on a busy machine: 3,380 and 4,356 per identifier):
// V8 schedules some work by the clock (GC heuristics, the memory reducer), and the flags that
// would pin it (--predictable, --single-threaded) are refused in worker threads.
const kRows: Record<Method, [number, number]> = { perf: [20_000, 350_000], callgrind: [2_000, 302_000] }
const kSeed = 7

/** Why perf cannot count instructions here, or undefined when it can. */
export function perfUnavailable (perf = 'perf'): string | undefined {
  const r = spawnSync(perf, ['stat', '-x', ',', '-e', 'instructions', '--', 'true'], { encoding: 'utf8' })
  if (r.error !== undefined) return `${perf} not installed (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`
  const count = parsePerf(r.stderr)
  if (count === undefined) return `perf stat -e instructions gives no count here (${r.stderr.trim().split('\n').pop() ?? 'no output'}): no hardware counter in this VM or perf_event_paranoid forbids it`
  return undefined
}

/** `perf stat -x,` CSV: `<count>,<unit>,instructions,...`; `<not supported>` or `<not counted>` otherwise. */
export function parsePerf (stderr: string): number | undefined {
  for (const line of stderr.split('\n')) {
    const f = line.split(',')
    if (f[2]?.startsWith('instructions') === true && /^\d+$/.test(f[0] ?? '')) return Number(f[0])
  }
  return undefined
}

/** callgrind's closing summary: `==PID== Collected : N` (instructions, all threads). */
export function parseCallgrind (stderr: string): number | undefined {
  const m = /==\d+== Collected : (\d+)/.exec(stderr)
  return m === null ? undefined : Number(m[1])
}

function valgrindUnavailable (valgrind: string): string | undefined {
  const r = spawnSync(valgrind, ['--version'], { encoding: 'utf8' })
  if (r.error !== undefined) return `${valgrind} not installed (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`
  return r.status === 0 ? undefined : `${valgrind} --version failed`
}

function count (method: Method, tool: string, cli: string, input: string, dir: string): { instructions: number, identifiers: number } {
  const hash = [cli, 'hash', input, '--out', join(dir, 'out.csv'), '--no-progress', '--json', '--max-reject-ratio', '1', '--threads', '1']
  const args = method === 'perf'
    ? ['stat', '-x', ',', '-e', 'instructions', '--', process.execPath, ...hash]
    // V8 writes machine code at run time: all-non-file makes valgrind notice it.
    : ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${join(dir, 'callgrind.out')}`, process.execPath, ...hash]
  const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, UV_THREADPOOL_SIZE: '1' } })
  if (r.status !== 0) throw new Error(`${method} run of hashpipe hash exited ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  const instructions = method === 'perf' ? parsePerf(r.stderr) : parseCallgrind(r.stderr)
  if (instructions === undefined) throw new Error(`${method} printed no instruction count`)
  const summary = JSON.parse(r.stdout) as { identifiers_total: number }
  return { instructions, identifiers: summary.identifiers_total }
}

/**
 * The figure, or a null figure with the reason: a machine without perf counters and without
 * valgrind (a fresh CI runner) still gets a report, and the bench does not fail for it.
 */
export function measureInstructions (options: InstructionsOptions): InstructionsFigure {
  const perf = options.tools?.perf ?? 'perf'
  const valgrind = options.tools?.valgrind ?? 'valgrind'
  const notes: string[] = []
  let method: Method | undefined = options.method
  if (method === undefined) {
    const noPerf = perfUnavailable(perf)
    if (noPerf === undefined) method = 'perf'
    else {
      notes.push(noPerf)
      const noValgrind = valgrindUnavailable(valgrind)
      if (noValgrind !== undefined) notes.push(noValgrind)
      else if (options.callgrindFallback === false) notes.push('callgrind not run: BENCH_INSTRUCTIONS=callgrind counts with valgrind (minutes of CPU)')
      else method = 'callgrind'
    }
  }
  if (method === undefined) return { method: null, per_identifier: null, workload: null, instructions: null, note: notes.join('; ') }
  const rows = options.rows?.[method] ?? kRows[method]
  const dir = mkdtempSync(join(tmpdir(), 'hp-instr-'))
  try {
    const runs = rows.map((n, i) => {
      const input = join(dir, `w${i}.csv`)
      generateFile({ path: input, rows: n, seed: kSeed })
      return count(method, method === 'perf' ? perf : valgrind, options.cli, input, dir)
    })
    const [a, b] = runs as [{ instructions: number, identifiers: number }, { instructions: number, identifiers: number }]
    const perIdentifier = (b.instructions - a.instructions) / (b.identifiers - a.identifiers)
    if (!(perIdentifier > 0)) {
      notes.push(`no figure: ${rows[1]} rows counted ${b.instructions} instructions, ${rows[0]} rows ${a.instructions}; start-up noise exceeds the difference, count larger inputs`)
      return { method, per_identifier: null, workload: { rows: [...rows], identifiers: runs.map(r => r.identifiers), seed: kSeed }, instructions: runs.map(r => r.instructions), note: notes.join('; ') }
    }
    notes.push(`${method === 'perf' ? 'perf stat -e instructions' : 'valgrind --tool=callgrind'}, all threads, --threads 1, UV_THREADPOOL_SIZE=1; (instructions at ${rows[1]} rows − at ${rows[0]} rows) / (identifiers difference), bench/generate.ts seed ${kSeed}`)
    return { method, per_identifier: Math.round(perIdentifier), workload: { rows: [...rows], identifiers: runs.map(r => r.identifiers), seed: kSeed }, instructions: runs.map(r => r.instructions), note: notes.join('; ') }
  } catch (err) {
    notes.push(`counting failed: ${(err as Error).message}`)
    return { method, per_identifier: null, workload: null, instructions: null, note: notes.join('; ') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cli = fileURLToPath(new URL('../engine/cli.js', import.meta.url))
  const forced = process.argv[2]
  if (forced !== undefined && forced !== 'perf' && forced !== 'callgrind') throw new Error(`usage: instructions.js [perf|callgrind], not ${forced}`)
  process.stdout.write(JSON.stringify(measureInstructions({ cli, ...(forced !== undefined ? { method: forced } : {}) })) + '\n')
}
