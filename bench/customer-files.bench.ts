// A first load against the emulator at TikTok's Basic tier (10 QPS / 600 QPM on both sides), in
// one run: the same N-identifier input (default 2 M) delivered as a partner audience and as a
// customer-file audience, each timed from `distribute` start until the emulator has accepted the
// whole load (the CLI's exit: it returns after the last mapping or create/update answer), then
// the file path alone at BIG identifiers (default 10 M), and `hashpipe hash` on each input.
// Targets: file ≥ 25× faster than partner at N; its s/identifier at BIG within 1.3× of N; its
// time within 4× of `hash` on the same input. The emulator runs in this process: its peak RSS
// is this process's, and its upload work (MD5 check, parse, sort, merge) is timed here.
//   node dist/bench/customer-files.bench.js
//   env: N=2000000 BIG=10000000 PARTNER=1 (0 skips the partner run, ~200 s at N=2 M)
//        THREADS (distribute/hash --threads, default all cores) OUT (results file name)
//        PROF_DIR (each hashpipe process writes a V8 CPU profile there; run this one with --cpu-prof
//        to profile the emulator)
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { startEmulator } from '../adapters/emulator/emulator.js'
import { DEFAULT_APP, DEFAULT_TOKEN } from '../adapters/emulator/emulator-state.js'

const n = Number(process.env['N'] ?? 2_000_000)
const big = Number(process.env['BIG'] ?? 10_000_000)
const partner = process.env['PARTNER'] !== '0'
const threads = process.env['THREADS']
const prof = process.env['PROF_DIR'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env['PROF_DIR']}`]
const outName = process.env['OUT'] ?? `customer-files-${new Date().toISOString().slice(0, 10)}.md`
const adv = '7123456789012345678'
const cli = fileURLToPath(new URL('../engine/cli.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'hp-cf-bench-'))
const loads: number[] = []
const sampleLoad = setInterval(() => loads.push(loadavg()[0]!), 5000)

interface Run { seconds: number, peakMiB: number, code: number | null, stdout: string, stderr: string }

async function hashpipe (args: string[]): Promise<Run> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [...prof, cli, ...args], { env: { ...process.env, TIKTOK_APP_SECRET: DEFAULT_APP.secret }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  let peak = 0
  const poll = setInterval(() => {
    try { peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0)) } catch {}
  }, 50)
  const [code] = await once(child, 'close') as [number | null]
  clearInterval(poll)
  const r = { seconds: (performance.now() - t0) / 1000, peakMiB: peak / 1024, code, stdout, stderr }
  if (code !== 0) throw new Error(`hashpipe ${args.join(' ')} exited ${code}:\n${stdout}\n${stderr}`)
  return r
}

async function writeInput (path: string, count: number): Promise<void> {
  const out = createWriteStream(path)
  out.write('email\n')
  for (let i = 0; i < count; i += 50_000) {
    const rows: string[] = []
    for (let j = i; j < Math.min(count, i + 50_000); j++) rows.push(`Person.${j}@Example.com`)
    if (!out.write(rows.join('\n') + '\n')) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

/** Seconds from the run's start to each phase's log line (pino JSON lines with `time` in ms). */
function phases (log: string): Record<string, number> {
  const lines = readFileSync(log, 'utf8').trim().split('\n').map(l => JSON.parse(l) as { time: number, msg: string })
  const start = lines.find(l => l.msg === 'distribution run started')?.time ?? lines[0]!.time
  const at: Record<string, number> = {}
  for (const l of lines) at[l.msg] ??= (l.time - start) / 1000
  return at
}

const rssMiB = (field: 'VmRSS' | 'VmHWM'): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024

const em = await startEmulator({ limits: { qps: 10, qpm: 600, advertiserQps: 10 }, processingMs: 0 })
// The emulator's own work per upload and create, timed where it runs.
const files = em.state.files
const work = { upload: 0, uploads: 0, create: 0, update: 0 }
const timed = <A extends unknown[], R>(fn: (...a: A) => R, key: 'upload' | 'create' | 'update'): (...a: A) => R => (...a: A) => {
  const t0 = performance.now()
  try { return fn(...a) } finally { work[key] += (performance.now() - t0) / 1000; if (key === 'upload') work.uploads++ }
}
files.upload = timed(files.upload.bind(files), 'upload')
files.create = timed(files.create.bind(files), 'create')
files.update = timed(files.update.bind(files), 'update')

try {
  const small = join(dir, 'small.csv')
  const large = join(dir, 'large.csv')
  await writeInput(small, n)
  await writeInput(large, big)
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `state_dir: state
tiktok:
  api_base_url: ${em.apiBaseUrl}
  auth_url: ${em.authUrl}
  app_id: "${DEFAULT_APP.appId}"
  secret: \${TIKTOK_APP_SECRET}
  rate_limit: { qps: 10, qpm: 600 }
  batch_size: 1000
destinations:
  - { name: Partner, integration: first-party, advertiser_id: "${adv}", connection: acme }
  - { name: File, integration: first-party, advertiser_id: "${adv}", connection: acme, audience_type: customer_file }
  - { name: FileBig, integration: first-party, advertiser_id: "${adv}", connection: acme, audience_type: customer_file }
segments:
  - { name: partner-small, inputs: [${small}], destination: Partner }
  - { name: file-small, inputs: [${small}], destination: File }
  - { name: file-large, inputs: [${large}], destination: FileBig }
`)
  writeFileSync(join(dir, 'token'), DEFAULT_TOKEN)
  await hashpipe(['connect', 'tiktok', '--config', config, '--name', 'acme', '--access-token-file', join(dir, 'token')])
  const t = threads === undefined ? [] : ['--threads', threads]
  const distribute = async (segment: string): Promise<Run & { phases: Record<string, number> }> => {
    const log = join(dir, `${segment}.log`)
    const r = await hashpipe(['distribute', '--config', config, '--segment', segment, '--log-file', log, ...t])
    return { ...r, phases: phases(log) }
  }
  const hash = async (input: string): Promise<Run> => {
    const out = join(dir, 'hash-out.csv')
    const r = await hashpipe(['hash', input, '--out', out, '--no-progress', ...t])
    rmSync(out, { force: true })
    return r
  }
  const members = (name: string): number => {
    const a = [...files.audiences.values()].find(x => x.name.includes(name))
    return a === undefined ? 0 : [...a.members.values()].reduce((s, d) => s + d.size, 0)
  }
  const before = { ...work }
  const hashSmall = await hash(small)
  const fileSmall = await distribute('file-small')
  const workSmall = { upload: work.upload - before.upload, uploads: work.uploads - before.uploads, create: work.create - before.create, update: work.update - before.update }
  const fileSmallMembers = members('file-small')
  const partnerSmall = partner ? await distribute('partner-small') : undefined
  const partnerMembers = partner ? [...em.state.audiences.values()].filter(a => a.name.includes('partner-small')).reduce((s, a) => s + [...a.members.values()].reduce((x, ids) => x + ids.size, 0), 0) : 0
  const hashLarge = await hash(large)
  const mid = { ...work }
  const fileLarge = await distribute('file-large')
  const workLarge = { upload: work.upload - mid.upload, uploads: work.uploads - mid.uploads, create: work.create - mid.create, update: work.update - mid.update }
  const fileLargeMembers = members('file-large')
  const emRss = rssMiB('VmRSS')
  const emPeak = rssMiB('VmHWM')
  clearInterval(sampleLoad)

  const perSmall = fileSmall.seconds / n
  const perLarge = fileLarge.seconds / big
  const ratio = partnerSmall === undefined ? undefined : partnerSmall.seconds / fileSmall.seconds
  const verdict = (ok: boolean): string => ok ? 'met' : 'missed'
  const m = (x: number): string => x.toLocaleString('en-US')
  const row = (label: string, ids: number, r: Run & { phases?: Record<string, number> }, held: number | string): string => {
    const p = r.phases ?? {}
    const s = (k: string): string => p[k] === undefined ? '' : p[k].toFixed(1)
    return `| ${label} | ${m(ids)} | ${r.seconds.toFixed(1)} | ${(1e6 * r.seconds / ids).toFixed(2)} | ${s('snapshot prepared')} | ${s('upload files written')} | ${s('customer-file audience created')} | ${r.peakMiB.toFixed(0)} | ${typeof held === 'number' ? m(held) : held} |`
  }
  const loadText = loads.length === 0 ? loadavg()[0]!.toFixed(2) : `${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} (mean ${(loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(2)})`
  const table = `# Customer-file delivery benchmark — ${new Date().toISOString().slice(0, 10)}

Machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, Node ${process.version}; 1-minute load average during the run ${loadText}.
\`node dist/bench/customer-files.bench.js\` (N=${n}, BIG=${big}${threads === undefined ? '' : `, THREADS=${threads}`}). Emulator and client at the Basic tier: 10 QPS / 600 QPM (10 QPS per advertiser), 1,000 rows per /segment/mapping/ request, files up to 250,000,000 bytes, processing window 0. Inputs: one email per row, all distinct. Seconds are each CLI process's wall time, start-up included; the phase columns are seconds from the run's start to its log line.

| run | identifiers | seconds | µs / identifier | snapshot prepared | files written | audience created | peak RSS MiB | audience holds |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${partnerSmall === undefined ? '' : row('partner, distribute', n, partnerSmall, partnerMembers) + '\n'}${row('customer_file, distribute', n, fileSmall, fileSmallMembers)}
${row('hashpipe hash', n, hashSmall, '—')}
${row('customer_file, distribute', big, fileLarge, fileLargeMembers)}
${row('hashpipe hash', big, hashLarge, '—')}

Emulator work (in this process): ${n.toLocaleString('en-US')} → ${workSmall.uploads} upload(s) ${workSmall.upload.toFixed(1)} s (MD5 check, parse, sort), create ${workSmall.create.toFixed(1)} s; ${big.toLocaleString('en-US')} → ${workLarge.uploads} upload(s) ${workLarge.upload.toFixed(1)} s, create ${workLarge.create.toFixed(1)} s, update ${workLarge.update.toFixed(1)} s. Emulator process RSS after the ${big.toLocaleString('en-US')} load ${emRss.toFixed(0)} MiB (peak ${emPeak.toFixed(0)} MiB), holding ${m(fileSmallMembers + fileLargeMembers + partnerMembers)} members and every uploaded file's digests.

| target | measured | verdict |
|---|---:|---|
| customer_file ≥ 25× faster than partner at ${m(n)} | ${ratio === undefined ? 'not run (PARTNER=0)' : `${ratio.toFixed(1)}×`} | ${ratio === undefined ? '—' : verdict(ratio >= 25)} |
| s/identifier at ${m(big)} within 1.3× of ${m(n)} | ${(perLarge / perSmall).toFixed(2)}× | ${verdict(perLarge / perSmall <= 1.3)} |
| customer_file within 4× of \`hash\`, ${m(n)} | ${(fileSmall.seconds / hashSmall.seconds).toFixed(2)}× | ${verdict(fileSmall.seconds / hashSmall.seconds <= 4)} |
| customer_file within 4× of \`hash\`, ${m(big)} | ${(fileLarge.seconds / hashLarge.seconds).toFixed(2)}× | ${verdict(fileLarge.seconds / hashLarge.seconds <= 4)} |
| every identifier in the audience | ${m(fileSmallMembers)} / ${m(n)}, ${m(fileLargeMembers)} / ${m(big)}${partner ? `, partner ${m(partnerMembers)} / ${m(n)}` : ''} | ${verdict(fileSmallMembers === n && fileLargeMembers === big && (!partner || partnerMembers === n))} |
`
  const detail = (label: string, r: { seconds: number, phases: Record<string, number> }): string => `- ${label}: ${Object.entries(r.phases).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}; exit ${r.seconds.toFixed(1)} s`
  const phaseText = `\nPhases (seconds from the run's start to each log line):\n\n${[partnerSmall === undefined ? undefined : detail(`partner, ${m(n)}`, partnerSmall), detail(`customer_file, ${m(n)}`, fileSmall), detail(`customer_file, ${m(big)}`, fileLarge)].filter(x => x !== undefined).join('\n')}\n`
  process.stdout.write(table + phaseText)
  const results = fileURLToPath(new URL('../../bench/results/', import.meta.url))
  if (!existsSync(results)) mkdirSync(results, { recursive: true })
  writeFileSync(join(results, outName), table + phaseText)
} finally {
  clearInterval(sampleLoad)
  await em.close()
  rmSync(dir, { recursive: true, force: true })
}
