// The bench workload as Parquet, written by DuckDB (plain ESM, like duckdb-baseline.mjs):
//   node bench/csv-to-parquet.mjs IN.csv OUT.parquet
// Every column as a string (all_varchar), snappy-compressed, DuckDB's default row groups
// (122,880 rows): what a warehouse export of the same file looks like.
const { DuckDBInstance } = await import('@duckdb/node-api')
const [input, output] = process.argv.slice(2)
if (input === undefined || output === undefined) throw new Error('usage: csv-to-parquet IN.csv OUT.parquet')
const q = s => s.replaceAll("'", "''")
const instance = await DuckDBInstance.create(':memory:')
const conn = await instance.connect()
await conn.run(`COPY (SELECT * FROM read_csv('${q(input)}', header = true, all_varchar = true, quote = '"', escape = '"', ignore_errors = true))
  TO '${q(output)}' (FORMAT parquet, COMPRESSION snappy)`)
