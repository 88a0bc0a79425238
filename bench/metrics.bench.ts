// /metrics scrape cost: the same `hashpipe hash` run with and without autocannon scraping
// /metrics at a high rate (default 50 requests/s, 4 connections; Prometheus scrapes every 15 s).
// Target: throughput drops by less than 5%.
//   SIZE=100MB RATE=50 node dist/bench/metrics.bench.js
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { generateFile, parseBytes } from './generate.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const size = process.env['SIZE'] ?? '100MB'
const rate = Number(process.env['RATE'] ?? 50)
const dir = join(tmpdir(), 'hashpipe-bench')
mkdirSync(dir, { recursive: true })
const input = join(dir, `workload-${size}-seed1.csv`)
if (!existsSync(input)) generateFile({ path: input, bytes: parseBytes(size), seed: 1 })

async function hash (scrape: boolean): Promise<{ idsPerSecond: number, scrapes: number, p99: number }> {
  const port = 19000 + Math.floor(Math.random() * 1000)
  const child = spawn(process.execPath, [join(root, 'dist/engine/cli.js'), 'hash', input, '--out', join(dir, 'm.csv'), '--no-progress', '--json', '--max-reject-ratio', '1', '--metrics-port', String(port)], { stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  const closed = new Promise(resolve => child.once('close', resolve))
  let scrapes = 0
  let p99 = 0
  if (scrape) {
    await new Promise(resolve => setTimeout(resolve, 500))
    const instance = autocannon({ url: `http://127.0.0.1:${port}/metrics`, connections: 4, overallRate: rate, duration: 600 })
    void closed.then(() => instance.stop())
    const result = await instance
    scrapes = result.requests.total
    p99 = result.latency.p99
  }
  await closed
  return { idsPerSecond: JSON.parse(out).identifiers_per_second, scrapes, p99 }
}

const base = await hash(false)
const scraped = await hash(true)
const base2 = await hash(false)
const baseline = (base.idsPerSecond + base2.idsPerSecond) / 2
const drop = 100 * (1 - scraped.idsPerSecond / baseline)
const table = `# /metrics scrape cost — ${new Date().toISOString().slice(0, 10)}

Machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, Node ${process.version}. \`hashpipe hash\` on the ${size} bench workload; autocannon scrapes /metrics at ${rate} req/s over 4 connections during the run (the baseline is the mean of a run before and after).

| baseline identifiers/s | with scraping | change | scrapes | scrape p99 |
|---:|---:|---:|---:|---:|
| ${Math.round(baseline).toLocaleString('en-US')} | ${scraped.idsPerSecond.toLocaleString('en-US')} | ${drop >= 0 ? '-' : '+'}${Math.abs(drop).toFixed(1)}% | ${scraped.scrapes} | ${scraped.p99} ms |
`
process.stdout.write(table)
writeFileSync(join(root, 'bench/results/metrics-scrape.md'), table)
