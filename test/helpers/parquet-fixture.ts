// Writes a Parquet file with hyparquet-writer (a dev dependency) in a child Node process: tap's
// TypeScript loader cannot resolve the package's own `hyparquet/src/*.js` imports, plain Node
// can. Column data goes over as JSON, with bigints as {"$bigint": "…"} and byte arrays as
// {"$bytes": "<base64>"}.
import { execFileSync } from 'node:child_process'

export interface FixtureColumn {
  name: string
  data: unknown[]
  type?: string
  nullable?: boolean
  encoding?: string
}

export interface FixtureOptions { rowGroupSize?: number, codec?: string }

const kScript = `
import { readFileSync } from 'node:fs'
import { parquetWriteFile } from 'hyparquet-writer'
const spec = JSON.parse(readFileSync(0, 'utf8'), (_k, v) =>
  v !== null && typeof v === 'object' && '$bigint' in v ? BigInt(v.$bigint)
    : v !== null && typeof v === 'object' && '$bytes' in v ? new Uint8Array(Buffer.from(v.$bytes, 'base64')) : v)
parquetWriteFile({ filename: spec.filename, columnData: spec.columns, ...spec.options })
`

export function writeParquet (filename: string, columns: FixtureColumn[], options: FixtureOptions = {}): void {
  const input = JSON.stringify({ filename, columns, options }, (_k, v: unknown) =>
    typeof v === 'bigint' ? { $bigint: String(v) } : v instanceof Uint8Array ? { $bytes: Buffer.from(v).toString('base64') } : v)
  execFileSync(process.execPath, ['--input-type=module', '-e', kScript], { input, stdio: ['pipe', 'inherit', 'inherit'], cwd: process.cwd() })
}
