// The Parquet contenders of `npm run bench`: the same workload written as Parquet by DuckDB
// (bench/csv-to-parquet.mjs, once per size, beside the CSV), read by hashpipe (row groups →
// the same worker pool as CSV) and by DuckDB's read_parquet with the baseline's query. Their
// identifiers/s sit in the table beside the CSV runs.
import { existsSync, rmSync, statSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

export interface ParquetBench<M> {
  root: string
  dir: string
  /** The CSV workload; the Parquet file is written beside it. */
  csv: string
  measure: (args: string[], parse: (stdout: string) => { identifiers: number, unique: number, stages?: Record<string, number>, note?: string }) => Promise<M>
  /** Installs bench/'s DuckDB when missing. */
  installBaselines: () => void
}

export interface Contender<M> { id: string, name: string, run: () => Promise<M> }

export function parquetContenders<M> (b: ParquetBench<M>): Array<Contender<M>> {
  const parquet = b.csv.replace(/\.csv$/, '.parquet')
  const ensure = (): void => {
    if (existsSync(parquet) && statSync(parquet).mtimeMs >= statSync(b.csv).mtimeMs) return
    b.installBaselines()
    process.stderr.write(`writing the workload as Parquet (DuckDB): ${parquet}\n`)
    const r = spawnSync(process.execPath, [join(b.root, 'bench/csv-to-parquet.mjs'), b.csv, parquet], { stdio: 'inherit' })
    if (r.status !== 0) throw new Error('bench/csv-to-parquet.mjs failed: the Parquet contenders cannot run')
  }
  const mib = (): string => existsSync(parquet) ? `${(statSync(parquet).size / (1 << 20)).toFixed(0)} MiB` : '?'
  return [
    {
      id: 'parquet',
      name: 'hashpipe, Parquet input',
      run: async () => {
        ensure()
        // A new file each run, like the CSV runs (bench/run.ts, freshOut).
        rmSync(join(b.dir, 'out-parquet.csv'), { force: true })
        return await b.measure([join(b.root, 'dist/engine/cli.js'), 'hash', parquet, '--out', join(b.dir, 'out-parquet.csv'), '--no-progress', '--json', '--max-reject-ratio', '1'],
          out => { const s = JSON.parse(out); return { identifiers: s.identifiers_total, unique: s.unique_total, stages: s.stages, note: `the workload as Parquet (${mib()}, snappy, written by DuckDB)` } })
      }
    },
    {
      id: 'duckdb-parquet',
      name: 'DuckDB read_parquet, 2 threads',
      run: async () => {
        ensure()
        return await b.measure([join(b.root, 'bench/duckdb-baseline.mjs'), parquet, String(cpus().length)],
          out => { const s = JSON.parse(out); return { identifiers: s.identifiers, unique: s.unique, note: 'the baseline query over read_parquet of the same Parquet file' } })
      }
    }
  ]
}
