// Record Sync planning at scale: a snapshot of N identifiers diffed against a changed snapshot
// of N (10% removed, 10% added), both on disk, streamed. Reports time and peak RSS.
//   N=100000000 node dist/bench/snapshot-diff.bench.js     (needs ~6.4 GB of temp disk at 100 M)
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SnapshotWriter, Snapshot } from '../adapters/snapshot.js'
import { diffSorted } from '../pipeline/sorted-diff.js'

const n = Number(process.env['N'] ?? 100_000_000)
const dir = mkdtempSync(join(process.env['TMPDIR'] ?? tmpdir(), 'hp-diff-bench-'))
let peak = 0
const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 50)

// Sorted digests without sorting: a counter in the first 8 bytes (big-endian) keeps the order,
// the rest is filler. Of the ids below 1.1·N, old has those ≢ 0 (mod 11) and new those ≢ 1:
// N each, 10% of each side not in the other.
async function write (path: string, keep: (i: number) => boolean): Promise<void> {
  const w = await SnapshotWriter.create(path)
  const chunk = 65536
  const buf = new Uint8Array(chunk * 32)
  const view = new DataView(buf.buffer)
  let fill = 0
  for (let i = 0; i < n * 1.1; i++) {
    if (!keep(i)) continue
    view.setUint32(fill * 32, Math.floor(i / 2 ** 32))
    view.setUint32(fill * 32 + 4, i >>> 0)
    view.setUint32(fill * 32 + 8, 0x9e3779b9 ^ i)
    if (++fill === chunk) { await w.write(0, buf, fill); fill = 0 }
  }
  if (fill > 0) await w.write(0, buf.subarray(0, fill * 32), fill)
  await w.commit()
}

const t0 = performance.now()
await write(join(dir, 'old'), i => i % 11 !== 0)
await write(join(dir, 'new'), i => i % 11 !== 1)
const t1 = performance.now()
const [a, b] = [await Snapshot.open(join(dir, 'new')), await Snapshot.open(join(dir, 'old'))]
const r = await diffSorted(a.records('EMAIL_SHA256'), b.records('EMAIL_SHA256'), { added: async () => {}, removed: async () => {} })
const t2 = performance.now()
clearInterval(sample)
rmSync(dir, { recursive: true, force: true })
const table = `# Snapshot diff benchmark — ${new Date().toISOString().slice(0, 10)}

Machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, Node ${process.version}. Two snapshots of about ${(n / 1e6).toFixed(0)} M identifiers on disk, diffed by streaming merge with checksum verification.

| old | new | adds | removes | write both | diff | diff rate | peak RSS |
|---:|---:|---:|---:|---:|---:|---:|---:|
| ${b.count('EMAIL_SHA256').toLocaleString('en-US')} | ${a.count('EMAIL_SHA256').toLocaleString('en-US')} | ${r.added.toLocaleString('en-US')} | ${r.removed.toLocaleString('en-US')} | ${((t1 - t0) / 1000).toFixed(1)} s | ${((t2 - t1) / 1000).toFixed(1)} s | ${((a.count('EMAIL_SHA256') + b.count('EMAIL_SHA256')) / ((t2 - t1) / 1000) / 1e6).toFixed(1)} M records/s | ${(peak / 2 ** 20).toFixed(0)} MiB |
`
process.stdout.write(table)
const results = fileURLToPath(new URL('../../bench/results/', import.meta.url))
mkdirSync(results, { recursive: true })
writeFileSync(`${results}snapshot-diff-${(n / 1e6).toFixed(0)}M.md`, table)
