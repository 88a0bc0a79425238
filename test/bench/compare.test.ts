// The CI gate must fail on a real regression of hashpipe's in-run ratio, pass on the noise a
// shared runner makes, and refuse a file that is not a bench report with a message that says
// what to do. The CI projection must be the customBiggerIsBetter shape.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import { buildReport, ciEntries, kBenchSchemaVersion, type BenchReport, type InstructionsFigure } from '../../bench/bench-json.js'
import { compareReports, parseReport, runCompare } from '../../bench/compare.js'
import { tempDir } from '../helpers/temp-dir.js'
import { measureInstructions, parseCallgrind, parsePerf } from '../../bench/instructions.js'

const compareCli = fileURLToPath(new URL('../../bench/compare.js', import.meta.url))

/** A report as run.ts builds it: hashpipe at `hpRate` identifiers/s, DuckDB at 1 M/s, so the ratio is hpRate / 1e6. */
function report (hpRate: number, opts: { duckRate?: number, perIdentifier?: number } = {}): BenchReport {
  const ids = 30_000_000
  const duckRate = opts.duckRate ?? 1_000_000
  const instructions: InstructionsFigure | null = opts.perIdentifier === undefined
    ? null
    : { method: 'callgrind', per_identifier: opts.perIdentifier, workload: { rows: [2000, 12000], identifiers: [5923, 35551], seed: 7 }, instructions: [1, 2], note: 'synthetic' }
  return buildReport({
    facts: { date: new Date('2026-12-02T00:00:00Z'), git: { revision: 'a'.repeat(40), dirty: false }, node: 'v20.20.2', machine: { cpu_model: 'Test CPU', cores: 2, ram_bytes: 2 ** 34, arch: 'x64', platform: 'linux' }, cpuFlags: { sha_ni: true, sse2: true, avx2: true } },
    workload: { size: '100MB', bytes: 100e6, seed: 1, runs: 3, generator: 'bench/generate.ts' },
    contenders: [
      { id: 'hashpipe', name: 'hashpipe', identifiers: ids, unique: 1000, seconds: ids / hpRate, peakMiB: 900, stages: { read: 1, hash: 2 }, native: { active: true, sha_ni: true }, runs: 3 },
      { id: 'threads1', name: 'hashpipe --threads 1', identifiers: ids, unique: 1000, seconds: 1.4 * ids / hpRate, peakMiB: 800, runs: 3 },
      { id: 'duckdb', name: 'DuckDB', identifiers: ids, unique: 1010, seconds: ids / duckRate, peakMiB: 3000, runs: 3 }
    ],
    instructions,
    sha256CeilingPerSecond: 16e6
  })
}

function files (t: { teardown: (fn: () => void) => void }): { dir: string, write: (name: string, body: unknown) => string } {
  const dir = tempDir(t, 'hp-compare-')
  return { dir, write: (name, body) => { const p = join(dir, name); writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body)); return p } }
}

function sink (): { stream: Writable, text: () => string } {
  let s = ''
  return { stream: new Writable({ write (c, _e, cb) { s += String(c); cb() } }), text: () => s }
}

t.test('the report carries the figures and a schema version', async t => {
  const r = report(3e6, { perIdentifier: 30000 })
  t.equal(r.schema, 'hashpipe-bench')
  t.equal(r.schema_version, kBenchSchemaVersion)
  t.equal(r.ratios.hashpipe_vs_duckdb, 3)
  t.equal(r.ratios.threads2_vs_threads1, 1.4)
  t.equal(r.ratios.devnull_vs_duckdb, null, 'a contender that did not run gives a null ratio, not a made-up one')
  t.same(r.cpu_flags.used, { sha_ni: true, sse2: true, native: true, reason: null })
  const hp = r.contenders.find(c => c.id === 'hashpipe')!
  t.equal(hp.identifiers_per_second, 3e6)
  t.same(hp.stages, { read: 1, hash: 2 })
  t.equal(hp.peak_rss_mib, 900)
})

t.test('the CI projection is customBiggerIsBetter: [{name, unit, value, range?, extra?}]', async t => {
  const entries = ciEntries(report(3e6, { perIdentifier: 25000 }))
  t.ok(entries.length >= 5)
  for (const e of entries) {
    t.type(e.name, 'string')
    t.type(e.unit, 'string')
    t.type(e.value, 'number')
    t.ok(Number.isFinite(e.value) && e.value > 0, `${e.name}: finite positive value`)
    if (e.extra !== undefined) t.type(e.extra, 'string')
    if (e.range !== undefined) t.type(e.range, 'string')
  }
  t.equal(new Set(entries.map(e => e.name)).size, entries.length, 'names are unique: the action keys series by name')
  t.equal(entries.find(e => e.name.startsWith('hashpipe / DuckDB'))?.value, 3)
  t.equal(entries.find(e => e.unit === 'identifiers/Minstr')?.value, 40, 'instructions per identifier inverted so bigger is better')
})

t.test('the gate fails on a 20% regression of the ratio, passes on ±5% noise', async t => {
  const base = report(3e6, { perIdentifier: 30000 })
  const regressed = compareReports(base, report(2.4e6, { perIdentifier: 30000 }), 0.10)
  t.equal(regressed.regressions.length, 1)
  t.match(regressed.regressions[0]!.metric, /DuckDB/)
  t.equal(Math.round(regressed.regressions[0]!.change! * 100), -20)
  for (const f of [0.95, 1.05]) {
    const r = compareReports(base, report(3e6 * f, { perIdentifier: 30000 * (2 - f) }), 0.10)
    t.same(r.regressions, [], `noise ${f}: no regression`)
  }
  // The same machine twice as fast (DuckDB too) is not an improvement, and twice as slow is not a regression.
  t.same(compareReports(base, report(1.5e6, { duckRate: 0.5e6, perIdentifier: 30000 })).regressions, [], 'absolute seconds do not gate')
  const moreInstructions = compareReports(base, report(3e6, { perIdentifier: 36000 }))
  t.equal(moreInstructions.regressions.length, 1, '20% more instructions per identifier fails')
  t.match(moreInstructions.regressions[0]!.metric, /instructions per identifier \(callgrind\)/)
  t.same(compareReports(report(3e6), report(3e6, { perIdentifier: 99999 })).regressions, [], 'instructions only gate when both reports counted them the same way')
})

t.test('runCompare and the compare CLI: exit 1 on regression, 0 on noise, table printed', async t => {
  const { write } = files(t)
  const base = write('base.json', report(3e6))
  const bad = write('bad.json', report(2.4e6))
  const noisy = write('noisy.json', report(2.86e6))
  const out = sink()
  t.equal(runCompare(base, bad, 0.10, out.stream, sink().stream), 1)
  t.match(out.text(), /\| hashpipe \/ DuckDB \(identifiers\/s, same run\) \| 3 \| 2\.4 \| -20\.0% \| regression \|/)
  t.match(out.text(), /gate: FAIL/)
  t.equal(runCompare(base, noisy, 0.10, sink().stream, sink().stream), 0)
  t.equal(runCompare(base, bad, 0.25, sink().stream, sink().stream), 0, 'a looser threshold lets 20% through')
  const cli = spawnSync(process.execPath, [compareCli, base, bad], { encoding: 'utf8' })
  t.equal(cli.status, 1, cli.stderr)
  t.match(cli.stdout, /gate: FAIL/)
  const ok = spawnSync(process.execPath, [compareCli, base, noisy], { encoding: 'utf8', env: { ...process.env, BENCH_MAX_REGRESSION: '0.10' } })
  t.equal(ok.status, 0, ok.stderr)
  t.match(ok.stdout, /gate: pass/)
  const badMax = spawnSync(process.execPath, [compareCli, base, noisy, '--max-regression', 'ten'], { encoding: 'utf8' })
  t.equal(badMax.status, 2)
  t.match(badMax.stderr, /--max-regression is "ten": expected a fraction between 0 and 1/)
})

t.test('a malformed baseline is refused with what and what to do', async t => {
  const { write, dir } = files(t)
  const current = write('current.json', report(3e6))
  const cases: Array<[string, string | unknown, RegExp]> = [
    ['garbage.json', '{"schema": "hashpipe-bench",', /garbage\.json: not JSON .*BENCH_JSON=FILE npm run bench/],
    ['ci.json', ciEntries(report(3e6)), /ci\.json: not a bench report \(expected a JSON object, got an array: a BENCH_CI_JSON file is not a baseline\)/],
    ['other.json', { name: 'x' }, /other\.json: not a bench report \(schema is undefined, expected "hashpipe-bench"\)/],
    ['future.json', { ...report(3e6), schema_version: 99 }, /future\.json: bench report schema_version 99, this compare reads 1/],
    ['noratios.json', { ...report(3e6), ratios: undefined }, /noratios\.json: field "ratios" missing/],
    ['badratio.json', { ...report(3e6), ratios: { ...report(3e6).ratios, hashpipe_vs_duckdb: 'fast' } }, /badratio\.json: ratios\.hashpipe_vs_duckdb is "fast", expected a positive number or null/],
    ['nocontenders.json', { ...report(3e6), contenders: [{ id: 'hashpipe' }] }, /nocontenders\.json: contenders\[0\] lacks/]
  ]
  for (const [name, body, re] of cases) {
    const p = write(name, body)
    t.throws(() => parseReport(typeof body === 'string' ? body : JSON.stringify(body), p), re, name)
    const err = sink()
    t.equal(runCompare(p, current, 0.10, sink().stream, err.stream), 2, `${name}: exit 2`)
    t.match(err.text(), /^bench compare: /)
  }
  const cli = spawnSync(process.execPath, [compareCli, join(dir, 'missing.json'), current], { encoding: 'utf8' })
  t.equal(cli.status, 2)
  t.match(cli.stderr, /missing\.json: cannot read \(ENOENT\); give a file an earlier BENCH_JSON=FILE npm run bench wrote/)
  const otherSize = write('1gib.json', { ...report(3e6), workload: { ...report(3e6).workload, size: '1GiB', bytes: 2 ** 30 } })
  const sizeErr = sink()
  t.equal(runCompare(otherSize, current, 0.10, sink().stream, sizeErr.stream), 2, 'another workload size is refused')
  t.match(sizeErr.text(), /baseline workload is 1GiB \(1073741824 bytes\), current is 100MB \(100000000 bytes\): compare reports of the same SIZE/)
  const baselineWithoutDuck = write('noduck.json', { ...report(3e6), ratios: { ...report(3e6).ratios, hashpipe_vs_duckdb: null } })
  const out = sink()
  t.equal(runCompare(baselineWithoutDuck, current, 0.10, out.stream, sink().stream), 1, 'a baseline without the DuckDB ratio cannot pass the gate')
  t.match(out.text(), /hashpipe \/ DuckDB missing from the baseline report: run the bench with both contenders/)
})

t.test('instruction counting: parsers, and a machine without the tools gets a null figure with a reason', async t => {
  t.equal(parsePerf('123456789,,instructions,1000,100.00,,\n'), 123456789)
  t.equal(parsePerf('<not supported>,,instructions,0,100.00,,\n'), undefined)
  t.equal(parseCallgrind('==25229== Events    : Ir\n==25229== Collected : 5897053548\n'), 5897053548)
  const none = measureInstructions({ cli: '/nonexistent/cli.js', tools: { perf: 'hp-no-such-perf', valgrind: 'hp-no-such-valgrind' } })
  t.equal(none.method, null)
  t.equal(none.per_identifier, null)
  t.match(none.note, /hp-no-such-perf not installed \(ENOENT\); hp-no-such-valgrind not installed \(ENOENT\)/)
})
