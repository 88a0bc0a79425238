// Per-message cost of SHA-256 over identifier-shaped strings into a packed digest buffer:
// today's worker path (crypto.hash + write) against createHash and the native batch call,
// the latter including the cost of staging the strings into one input buffer.
//
//   node dist/bench/hash-many.bench.js [--messages 200000] [--out bench/results/hash-many.md]
//
// Single thread, in-process, synthetic data (no identifiers are printed). Each cell is the
// median of 7 timed passes after 2 warm-up passes.
import { createHash, hash, randomUUID } from 'node:crypto'
import { cpus, totalmem } from 'node:os'
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { hashBackend, hashManyJs, nativeHashMany, describeNativeStatus } from '../pipeline/native-hash.js'

const { values } = parseArgs({ options: { messages: { type: 'string', default: '200000' }, out: { type: 'string' } } })
const N = Number(values.messages)

const shapes: Record<string, (i: number) => string> = {
  'email (~25 B)': i => `${['john', 'mary.k', 'a.smith', 'li'][i & 3]}${i}@${['gmail.com', 'example.org', 'yahoo.com'][i % 3]}`,
  'phone E.164 (12 B)': i => `+1${String(2000000000 + ((i * 7919) % 7999999999)).slice(0, 10)}`,
  'uuid (36 B)': () => randomUUID()
}

interface Method { name: string, run: (msgs: string[], out: Buffer) => void }

// Reused across passes like a worker's per-batch buffers.
let staging = Buffer.alloc(0)
let offsets = new Uint32Array(0)

/** Writes the strings back to back (ASCII: one byte per char) and records the N + 1 offsets. */
function stageWithWrite (msgs: string[]): void {
  let pos = 0
  for (let i = 0; i < msgs.length; i++) {
    pos += staging.write(msgs[i]!, pos, 'latin1')
    offsets[i + 1] = pos
  }
}

/** Same, but copies char codes in JS: no native call per string. */
function stageWithLoop (msgs: string[]): void {
  let pos = 0
  for (let i = 0; i < msgs.length; i++) {
    const s = msgs[i]!
    for (let j = 0; j < s.length; j++) staging[pos++] = s.charCodeAt(j)
    offsets[i + 1] = pos
  }
}

const methods: Method[] = [
  { name: '(a) crypto.hash(binary) + write', run: (msgs, out) => { for (let i = 0; i < msgs.length; i++) out.write(hash('sha256', msgs[i]!, 'binary'), i * 32, 32, 'latin1') } },
  { name: '(b) createHash().update().digest()', run: (msgs, out) => { for (let i = 0; i < msgs.length; i++) out.set(createHash('sha256').update(msgs[i]!).digest(), i * 32) } },
  { name: '(c) stage (buf.write latin1) + hashMany', run: (msgs, out) => { stageWithWrite(msgs); hashManyNow(msgs.length, out) } },
  { name: '(c2) stage (charCode loop) + hashMany', run: (msgs, out) => { stageWithLoop(msgs); hashManyNow(msgs.length, out) } },
  { name: '    staging alone (charCode loop)', run: msgs => { stageWithLoop(msgs) } },
  { name: '    hashMany alone (pre-staged)', run: (msgs, out) => { hashManyNow(msgs.length, out) } },
  { name: '(d) stage + hashManyJs (fallback)', run: (msgs, out) => { stageWithLoop(msgs); hashManyJs(staging, offsets, msgs.length, out) } }
]

function hashManyNow (count: number, out: Buffer): void {
  (nativeHashMany ?? hashManyJs)(staging, offsets, count, out)
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]!
}

function measure (m: Method, msgs: string[], out: Buffer): number {
  const times: number[] = []
  for (let pass = 0; pass < 9; pass++) {
    const t0 = process.hrtime.bigint()
    m.run(msgs, out)
    const ns = Number(process.hrtime.bigint() - t0)
    if (pass >= 2) times.push(ns / msgs.length)
  }
  return median(times)
}

const rows: string[] = []
const header = '| shape | method | M msgs/s | ns/msg | vs (a) |'
rows.push(header, '|---|---|---:|---:|---:|')
for (const [shape, make] of Object.entries(shapes)) {
  const msgs = Array.from({ length: N }, (_, i) => make(i))
  const bytes = msgs.reduce((n, s) => n + s.length, 0)
  staging = Buffer.alloc(bytes)
  offsets = new Uint32Array(N + 1)
  const out = Buffer.alloc(N * 32)
  // Every method must produce the same digests before it is timed.
  const expected = Buffer.concat(msgs.map(s => hash('sha256', s, 'buffer')))
  let base = 0
  for (const m of methods) {
    out.fill(0)
    m.run(msgs, out)
    if (!m.name.startsWith('    ') && !out.equals(expected)) throw new Error(`${m.name} produced wrong digests`)
    const ns = measure(m, msgs, out)
    if (base === 0) base = ns
    const row = `| ${shape} | ${m.name.trim()} | ${(1e3 / ns).toFixed(2)} | ${ns.toFixed(1)} | ${(base / ns).toFixed(2)}× |`
    rows.push(row)
    console.log(row)
  }
}

function cpuFlags (): string {
  try {
    return /\bsha_ni\b/.test(readFileSync('/proc/cpuinfo', 'utf8')) ? 'sha_ni' : 'no sha_ni'
  } catch { return 'unknown' }
}

const report = [
  '# Batch hashing: per-message cost',
  '',
  `- date: ${new Date().toISOString()}`,
  `- machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores (${cpuFlags()}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
  `- node: ${process.version}, OpenSSL ${process.versions.openssl}`,
  `- hash backend: ${hashBackend} (${describeNativeStatus()})`,
  `- ${N} messages per shape, single thread; median of 7 timed passes after 2 warm-ups`,
  `- command: \`node dist/bench/hash-many.bench.js --messages ${N}\``,
  '',
  'Every method is checked against node:crypto before it is timed. "(c)" and "(c2)" include',
  'writing the strings into the staging buffer and the offsets; "alone" rows split (c2) in two.',
  '',
  ...rows,
  ''
].join('\n')
if (values.out !== undefined) writeFileSync(values.out, report)
else console.log('\n' + report)
