// `npm run bench`: the hashing benchmark. Generates (or reuses) the workload in the OS temp dir,
// runs each contender in its own process, measures wall time and peak RSS (VmHWM, polled), and
// writes a markdown table with ratios to the naive baseline run in the same session, the
// openssl SHA-256 ceiling, and hashpipe's per-stage seconds.
//   SIZE=1GiB RUNS=3 BENCH_ONLY=hashpipe,devnull npm run bench
// BENCH_ONLY takes contender ids: hashpipe, threads1, devnull, duckdb, naive, parquet, duckdb-parquet.
// For CI (README, "Benchmarks in CI"): BENCH_JSON=FILE writes the report (bench/bench-json.ts),
// BENCH_CI_JSON=FILE the customBiggerIsBetter entries, BENCH_COMPARE=BASELINE.json gates on the
// in-run ratios (bench/compare.ts, BENCH_MAX_REGRESSION, default 0.10) and exits 1 on a
// regression; BENCH_INSTRUCTIONS=0 skips the instruction count (bench/instructions.ts).
// A new contender is one more entry in `contenders` below (id, name, run returning a Measure).
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync, statSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateFile, parseBytes } from './generate.js'
import { buildReport, ciEntries, machineFacts, type ContenderFigures } from './bench-json.js'
import { parseMaxRegression, runCompare } from './compare.js'
import { measureInstructions } from './instructions.js'
import { SequentialWriter } from '../adapters/sequential-writer.js'
import { parquetContenders } from './parquet-contender.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const size = process.env['SIZE'] ?? '1GiB'
const runs = Number(process.env['RUNS'] ?? 3)
const only = process.env['BENCH_ONLY']?.split(',')
// Checked before minutes of measuring, not after.
const maxRegression = parseMaxRegression(process.env['BENCH_MAX_REGRESSION'], 'BENCH_MAX_REGRESSION')
const comparePath = process.env['BENCH_COMPARE']
if (comparePath !== undefined && !existsSync(comparePath)) throw new Error(`BENCH_COMPARE=${comparePath}: no such file; give a report an earlier BENCH_JSON=FILE npm run bench wrote`)
const dir = join(tmpdir(), 'hashpipe-bench')
mkdirSync(dir, { recursive: true })
const input = join(dir, `workload-${size}-seed1.csv`)
if (!existsSync(input)) {
  process.stderr.write(`generating ${size} workload in ${input}\n`)
  generateFile({ path: input, bytes: parseBytes(size), seed: 1 })
}
const bytes = statSync(input).size
// Every contender should find the input in the page cache, the first one included: read it once.
{
  const fd = openSync(input, 'r')
  const block = Buffer.allocUnsafe(16 << 20)
  while (readSync(fd, block, 0, block.length, null) > 0) { /* read to the end: warms the page cache */ }
  closeSync(fd)
}

export interface Measure { seconds: number, peakMiB: number, identifiers: number, unique: number, stages?: Record<string, number>, native?: NonNullable<ContenderFigures['native']>, busy?: { share: number, cpu: number | null }, note?: string }

async function measure (args: string[], parse: (stdout: string) => Omit<Measure, 'peakMiB' | 'seconds'> & { seconds?: number }): Promise<Measure> {
  const t0 = performance.now()
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  let peak = 0
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  const poll = setInterval(() => {
    try { const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8')); if (m !== null) peak = Math.max(peak, Number(m[1])) } catch {}
  }, 25)
  await new Promise(resolve => child.once('close', resolve))
  clearInterval(poll)
  const seconds = (performance.now() - t0) / 1000
  return { ...parse(out), seconds, peakMiB: peak / 1024 }
}

/**
 * path, with the previous run's file there removed first, before the clock starts: renaming
 * the new output over a 2.5 GB old one frees the old one's blocks inside rename(), ~0.8 s on
 * this project's VM that belongs to no contender's work.
 */
function freshOut (path: string): string {
  rmSync(path, { force: true })
  return path
}

/** What `hash --json` reports that the bench keeps. */
function hashSummary (out: string): Omit<Measure, 'peakMiB' | 'seconds'> {
  const s = JSON.parse(out)
  return { identifiers: s.identifiers_total, unique: s.unique_total, stages: s.stages, native: s.native, busy: { share: s.main_thread_busy_share, cpu: s.main_thread_cpu_seconds ?? null } }
}

const contenders: Array<{ id: string, name: string, run: () => Promise<Measure> }> = [
  {
    id: 'hashpipe',
    name: 'hashpipe',
    run: async () => await measure([join(root, 'dist/engine/cli.js'), 'hash', input, '--out', freshOut(join(dir, 'out.csv')), '--no-progress', '--json', '--max-reject-ratio', '1'],
      hashSummary)
  },
  {
    id: 'threads1',
    name: 'hashpipe --threads 1',
    run: async () => await measure([join(root, 'dist/engine/cli.js'), 'hash', input, '--out', freshOut(join(dir, 'out1.csv')), '--threads', '1', '--no-progress', '--json', '--max-reject-ratio', '1'],
      hashSummary)
  },
  {
    id: 'devnull',
    name: 'hashpipe, unique set to /dev/null',
    run: async () => await measure([join(root, 'dist/engine/cli.js'), 'hash', input, '--out', '/dev/null', '--no-progress', '--json', '--max-reject-ratio', '1'],
      out => ({ ...hashSummary(out), note: 'same run without the output file\'s disk writes' }))
  },
  {
    id: 'duckdb',
    name: 'DuckDB (@duckdb/node-api), 2 threads',
    run: async () => {
      installBaselines()
      return await measure([join(root, 'bench/duckdb-baseline.mjs'), input, String(cpus().length)],
        out => { const s = JSON.parse(out); return { identifiers: s.identifiers, unique: s.unique, note: 'read_csv + lower/trim + regex phone + sha256 + COUNT(DISTINCT); its phone rule is laxer' } })
    }
  },
  {
    id: 'naive',
    name: 'naive (readline + createHash + Set)',
    run: async () => await measure([join(root, 'dist/bench/naive-baseline.js'), input],
      out => { const s = JSON.parse(out); return { identifiers: s.identifiers, unique: s.unique, ...(s.died !== undefined ? { note: `died: ${s.died}` } : {}) } })
  }
]

contenders.push(...parquetContenders({ root, dir, csv: input, measure, installBaselines }))

/** bench/'s own dependencies (DuckDB), from its lockfile, on first use. */
function installBaselines (): void {
  if (existsSync(join(root, 'bench/node_modules/@duckdb/node-api'))) return
  process.stderr.write('installing bench baselines (npm ci in bench/)\n')
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: join(root, 'bench'), stdio: 'inherit' })
  if (r.status !== 0) throw new Error('npm ci in bench/ failed: the DuckDB baseline cannot run')
}

/** SHA-256 of 32-byte inputs per second, all cores (openssl speed): the hashing ceiling. */
function ceiling (): { text: string, rate: number | undefined } {
  const r = spawnSync('openssl', ['speed', '-seconds', '2', '-bytes', '32', 'sha256'], { encoding: 'utf8' })
  const m = /sha256\s+([\d.]+)k/.exec(r.stdout ?? '')
  if (m === null) return { text: 'openssl not available', rate: undefined }
  const perCore = Number(m[1]) * 1000 / 32
  return { text: `${(perCore / 1e6).toFixed(2)} M/s per core × ${cpus().length} cores = ${(perCore * cpus().length / 1e6).toFixed(1)} M/s`, rate: perCore * cpus().length }
}

/**
 * The disk floor of the file-writing runs: new bytes, as many as hashpipe's output, written to a
 * new file in the same directory the way hashpipe writes it (SequentialWriter: 4 MiB blocks, four
 * in flight, O_DIRECT where the filesystem takes it), then fsync; and the same through the page
 * cache, for comparison.
 */
async function writeFloor (total: number, directIo: boolean): Promise<{ seconds: number, bytes: number, direct: boolean }> {
  const path = join(dir, 'write-floor.bin')
  const block = Buffer.alloc(1 << 20, 0x61)
  const t0 = performance.now()
  const w = await SequentialWriter.create(path, { directIo })
  for (let at = 0; at < total; at += block.length) await w.write(block.subarray(0, Math.min(block.length, total - at)))
  await w.finish()
  await w.sync()
  const seconds = (performance.now() - t0) / 1000
  await w.close()
  rmSync(path, { force: true })
  return { seconds, bytes: total, direct: w.direct }
}

const results: Array<{ id: string, name: string, m: Measure, runs: number }> = []
for (const c of contenders) {
  if (only !== undefined && !only.includes(c.id)) continue
  const samples: Measure[] = []
  // The naive baseline runs once: it takes minutes and dies at the Set limit on the 1 GiB file anyway.
  const n = c.name.startsWith('naive') ? 1 : runs
  for (let i = 0; i < n; i++) { process.stderr.write(`${c.name}: run ${i + 1}/${n}\n`); samples.push(await c.run()) }
  samples.sort((a, b) => a.seconds - b.seconds)
  results.push({ id: c.id, name: c.name, m: samples[Math.floor(samples.length / 2)]!, runs: n })
}
const outPath = join(dir, 'out.csv')
const floors = existsSync(outPath) ? [await writeFloor(statSync(outPath).size, true), await writeFloor(statSync(outPath).size, false)] : []
const naive = results.find(r => r.id === 'naive')
const duck = results.find(r => r.id === 'duckdb')
const rate = (m: Measure): number => m.identifiers / m.seconds
const ratio = (m: Measure, base: { m: Measure } | undefined): string => base === undefined ? '-' : (rate(m) / rate(base.m)).toFixed(2)
const sha = ceiling()
const lines = [
  `# hashpipe hash benchmark — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}.`,
  `Workload: bench/generate.ts, ${(bytes / 2 ** 20).toFixed(0)} MiB CSV (seed 1), page cache warm; median of ${runs} (naive: 1 run). SHA-256 ceiling (openssl speed, 32-byte inputs): ${sha.text}.`,
  '',
  '| method | identifiers/s | MB/s | seconds | peak RSS | × naive | × DuckDB | of SHA-256 ceiling | unique | note |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ...results.map(({ name, m }) => `| ${name} | ${(rate(m) / 1e6).toFixed(2)} M | ${(bytes / 1e6 / m.seconds).toFixed(1)} | ${m.seconds.toFixed(1)} | ${m.peakMiB.toFixed(0)} MiB | ${ratio(m, naive)} | ${ratio(m, duck)} | ${sha.rate === undefined ? '-' : `${(100 * rate(m) / sha.rate).toFixed(1)}%`} | ${m.unique.toLocaleString('en-US')} | ${m.note ?? ''} |`),
  '',
  ...(floors.length > 0
    ? [`Write floor: ${(floors[0]!.bytes / 1e9).toFixed(2)} GB of new data (the size of hashpipe's output) written to a new file in the same directory as hashpipe writes it (adapters/sequential-writer.ts: 4 MiB blocks, four in flight), then fsync: ${floors.map(f => `${f.seconds.toFixed(1)} s ${f.direct ? 'with O_DIRECT' : 'through the page cache'} (${(f.bytes / 1e6 / f.seconds).toFixed(0)} MB/s)`).join('; ')}. The file-writing runs cannot finish faster than their compute plus the part of this that does not overlap it; DuckDB's query writes nothing.`, '']
    : []),
  'hashpipe per-stage seconds (read/split/transfer/dedupe/write: main-thread busy or waiting; spill: wall time of the background spills; parse/hash: summed over workers):',
  '',
  ...results.filter(r => r.m.stages !== undefined).map(r => `- ${r.name}: ${Object.entries(r.m.stages!).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}${r.m.busy !== undefined ? `; main thread busy ${(100 * r.m.busy.share).toFixed(0)}% of wall time${r.m.busy.cpu !== null ? ` (${r.m.busy.cpu.toFixed(2)} s CPU)` : ''}` : ''}`),
  ''
]
const table = lines.join('\n')
process.stdout.write(table)
mkdirSync(join(root, 'bench/results'), { recursive: true })
writeFileSync(join(root, `bench/results/hash-${new Date().toISOString().slice(0, 10)}-${size}.md`), table)
// hash-latest.md is the reference workload's (issue 3's 1 GiB file); other sizes keep only their dated file.
if (size === '1GiB') writeFileSync(join(root, 'bench/results/hash-latest.md'), table)

const jsonPath = process.env['BENCH_JSON']
const ciPath = process.env['BENCH_CI_JSON']
if (jsonPath !== undefined || ciPath !== undefined || comparePath !== undefined) {
  // BENCH_INSTRUCTIONS: unset or auto (perf where it counts), perf, callgrind, or 0 (skip).
  const mode = process.env['BENCH_INSTRUCTIONS'] ?? 'auto'
  if (!['auto', 'perf', 'callgrind', '0'].includes(mode)) throw new Error(`BENCH_INSTRUCTIONS=${mode}: expected auto, perf, callgrind or 0`)
  const instructions = mode === '0'
    ? { method: null, per_identifier: null, workload: null, instructions: null, note: 'skipped: BENCH_INSTRUCTIONS=0' }
    : (process.stderr.write('counting instructions per identifier\n'), measureInstructions({ cli: join(root, 'dist/engine/cli.js'), callgrindFallback: false, ...(mode === 'perf' || mode === 'callgrind' ? { method: mode } : {}) }))
  const report = buildReport({
    facts: machineFacts(root),
    workload: { size, bytes, seed: 1, runs, generator: 'bench/generate.ts' },
    contenders: results.map(r => ({ id: r.id, name: r.name, runs: r.runs, ...r.m })),
    instructions,
    sha256CeilingPerSecond: sha.rate ?? null
  })
  if (jsonPath !== undefined) writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n')
  if (ciPath !== undefined) writeFileSync(ciPath, JSON.stringify(ciEntries(report), null, 2) + '\n')
  if (comparePath !== undefined) {
    process.stdout.write(`\nBENCH_COMPARE=${comparePath}:\n\n`)
    process.exitCode = runCompare(comparePath, report, maxRegression)
  }
}
