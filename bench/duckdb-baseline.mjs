// DuckDB baseline of issue 3 (plain ESM so the root TypeScript build needs no DuckDB types).
//   node bench/duckdb-baseline.mjs FILE [threads]     (FILE.parquet: read_parquet instead of read_csv)
// read_csv + lower/trim + regex checks + sha256 + COUNT(DISTINCT), as a data engineer would
// write it in SQL. Its phone rule (strip non-digits, 10 digits or 1 + 10) is more lenient than
// libphonenumber-js, so its unique count is a little higher than hashpipe's: it does less work.
// Prints one JSON line: identifiers (non-empty cells), unique (distinct digests), seconds.
let DuckDBInstance
try {
  ({ DuckDBInstance } = await import('@duckdb/node-api'))
} catch {
  process.stdout.write(JSON.stringify({ error: '@duckdb/node-api is not installed: run npm install in bench/' }) + '\n')
  process.exit(3)
}

const file = process.argv[2]
const threads = Number(process.argv[3] ?? 2)
if (file === undefined) throw new Error('usage: duckdb-baseline FILE [threads]')
const started = performance.now()
const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) })
const conn = await instance.connect()
const path = file.replaceAll("'", "''")
const sql = `
WITH src AS (
  SELECT * FROM ${file.endsWith('.parquet') ? `read_parquet('${path}')` : `read_csv('${path}', header = true, all_varchar = true, quote = '"', escape = '"', ignore_errors = true)`}
), ids AS (
  SELECT 'E' AS t, e <> '' AS present,
    CASE WHEN regexp_full_match(e, '[0-9a-f]{64}') THEN e
         WHEN regexp_full_match(e, '[^@\\s]+@[^@\\s.]+(\\.[^@\\s.]+)+') THEN sha256(e) END AS d
  FROM (SELECT lower(trim(coalesce(email, ''))) AS e FROM src)
  UNION ALL
  SELECT 'P', raw <> '',
    CASE WHEN length(p) = 10 AND p[1] BETWEEN '2' AND '9' THEN sha256('+1' || p)
         WHEN length(p) = 11 AND p[1] = '1' AND p[2] BETWEEN '2' AND '9' THEN sha256('+' || p) END
  FROM (SELECT trim(coalesce(phone, '')) AS raw, regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') AS p FROM src)
  UNION ALL
  SELECT 'M', m <> '',
    CASE WHEN regexp_full_match(m, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
          AND m <> '00000000-0000-0000-0000-000000000000' THEN sha256(m) END
  FROM (SELECT lower(trim(coalesce(maid, ''))) AS m FROM src)
)
SELECT count(*) FILTER (WHERE present) AS identifiers, count(DISTINCT t || d) AS "unique" FROM ids`
const reader = await conn.runAndReadAll(sql)
const [row] = reader.getRowObjects()
const seconds = (performance.now() - started) / 1000
process.stdout.write(JSON.stringify({ identifiers: Number(row.identifiers), unique: Number(row.unique), seconds }) + '\n')
