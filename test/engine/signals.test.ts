// SIGINT and SIGTERM end any command within 2 s, whatever it is waiting on (stdin, a FIFO with
// no writer, an endless device, a gzip bomb, a TikTok that answers slowly), with exit 130 and a
// line that says how to go on; an interrupted distribute resumes exactly. FIFOs are opened once,
// so a writer on the other end is not cut off by a check that opened and closed the pipe.
import t from 'tap'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, openSync, writeSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP } from '../../adapters/emulator/emulator-state.js'
import { runCli, cliPath } from '../helpers/cli.js'
import { configHead, connectDefault } from '../helpers/config-head.js'

const kLimitMs = 2000
// A loaded 2-core machine takes a while to start Node and load the command: signal after that.
const kStartedMs = 2500

function scratch (t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hp-signals-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

interface Spawned { child: ChildProcess, stderr: () => string, exit: Promise<[number | null, NodeJS.Signals | null]> }

function start (t: { teardown: (fn: () => void) => void }, args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cliPath, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
  const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return { child, stderr: () => stderr, exit }
}

async function interrupt (s: Spawned, signal: NodeJS.Signals, afterMs = kStartedMs): Promise<{ code: number | null, ms: number }> {
  await new Promise(resolve => setTimeout(resolve, afterMs))
  if (s.child.exitCode !== null) return { code: s.child.exitCode, ms: -1 }
  const sent = Date.now()
  s.child.kill(signal)
  const [code] = await s.exit
  return { code, ms: Date.now() - sent }
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

t.test('hash - waiting on stdin stops at the first Ctrl-C', async t => {
  const s = start(t, ['hash', '-', '--out', join(scratch(t), 'out.csv')])
  const r = await interrupt(s, 'SIGINT')
  t.equal(r.code, 130, s.stderr())
  t.ok(r.ms >= 0 && r.ms < kLimitMs, `exited ${r.ms} ms after the signal`)
  t.match(s.stderr(), /interrupted/)
  s.child.stdin!.destroy()
})

t.test('hash /dev/zero stops on SIGTERM', async t => {
  const s = start(t, ['hash', '/dev/zero', '--out', join(scratch(t), 'out.csv'), '--type', 'email'])
  const r = await interrupt(s, 'SIGTERM')
  t.equal(r.code, 130, s.stderr())
  t.ok(r.ms >= 0 && r.ms < kLimitMs, `exited ${r.ms} ms after the signal`)
})

t.test('a gzip bomb stops on SIGTERM, not at its end', async t => {
  const dir = scratch(t)
  // The classic bomb: 160 concatenated members of 64 MiB of zeros, 10 GiB once decompressed.
  const member = gzipSync(Buffer.alloc(64 << 20), { level: 1 })
  const fd = openSync(join(dir, 'bomb.gz'), 'w')
  for (let i = 0; i < 160; i++) writeSync(fd, member)
  closeSync(fd)
  const s = start(t, ['hash', join(dir, 'bomb.gz'), '--out', join(dir, 'out.csv'), '--type', 'email'])
  const r = await interrupt(s, 'SIGTERM', 3500)
  t.equal(r.code, 130, s.stderr())
  t.ok(r.ms >= 0 && r.ms < kLimitMs, `exited ${r.ms} ms after the signal`)
})

t.test('a FIFO is opened once: its writer is not cut off, and every line is hashed', async t => {
  const dir = scratch(t)
  const fifo = join(dir, 'in.fifo')
  execFileSync('mkfifo', [fifo])
  const lines = Array.from({ length: 2000 }, (_, i) => `user${i}@example.com`)
  writeFileSync(join(dir, 'emails.txt'), lines.join('\n') + '\n')
  // A separate writer process, as a shell pipeline would have: it blocks until hashpipe opens
  // the FIFO for reading, and dies of SIGPIPE if that reader goes away.
  const writer = spawn('sh', ['-c', `cat '${join(dir, 'emails.txt')}' > '${fifo}'`], { stdio: 'ignore' })
  t.teardown(() => { if (writer.exitCode === null) writer.kill('SIGKILL') })
  const writerExit = once(writer, 'exit')
  const r = await runCli(['hash', fifo, '--type', 'email', '--out', join(dir, 'out.csv'), '--json', '--no-progress'])
  t.equal(r.code, 0, r.stderr)
  const [code, signal] = await writerExit
  t.equal(signal, null, 'the writer was not killed by SIGPIPE')
  t.equal(code, 0)
  t.equal(JSON.parse(r.stdout).identifiers_total, 2000)
  t.equal(readFileSync(join(dir, 'out.csv'), 'utf8').trim().split('\n').length, 2001, 'header and 2,000 unique rows')
})

t.test('a FIFO with no writer stops on SIGTERM', async t => {
  const dir = scratch(t)
  const fifo = join(dir, 'idle.fifo')
  execFileSync('mkfifo', [fifo])
  const s = start(t, ['hash', fifo, '--out', join(dir, 'out.csv')])
  const r = await interrupt(s, 'SIGTERM')
  t.equal(r.code, 130, s.stderr())
  t.ok(r.ms >= 0 && r.ms < kLimitMs, `exited ${r.ms} ms after the signal`)
})

t.test('an interrupted distribute exits 130, says how to resume, and the rerun ends exact', async t => {
  const dir = scratch(t)
  const adv = '7123456789012345678'
  // Slow answers: the run is mid-delivery (or backing off) when the signal comes.
  const em = await startEmulator({ limits: { qps: 2000, qpm: 120000, advertiserQps: 2000 }, faults: { slowMs: 150 } })
  t.teardown(async () => { await em.close() })
  writeFileSync(join(dir, 'hashpipe.yaml'), `${configHead(em, { qps: 1000, qpm: 60000, batchSize: 20 })}destinations:
  - { name: Acme, integration: first-party, advertiser_id: "${adv}", connection: acme }
segments:
  - { name: seg, inputs: [seg.csv], destination: Acme }
`)
  const rows = ['email']
  for (let i = 0; i < 1500; i++) rows.push(`user${i}@example.com`)
  writeFileSync(join(dir, 'seg.csv'), rows.join('\n') + '\n')
  const env = { TIKTOK_APP_SECRET: DEFAULT_APP.secret }
  const config = join(dir, 'hashpipe.yaml')
  await connectDefault(dir, config)
  const s = start(t, ['distribute', '--config', config, '--threads', '1'], env)
  const r = await interrupt(s, 'SIGINT', 3000)
  t.equal(r.code, 130, s.stderr())
  t.ok(r.ms >= 0 && r.ms < kLimitMs, `exited ${r.ms} ms after the signal`)
  t.match(s.stderr(), /distribute/, 'the message names the command that resumes')
  t.notMatch(s.stderr(), /@example\.com/, 'no identifier in the message')
  await sleep(100)
  const again = await runCli(['distribute', '--config', config, '--threads', '1'], { env })
  t.equal(again.code, 0, again.stderr)
  const audience = em.state.snapshot().filter(a => a.advertiserId === adv)
  t.equal(audience.length, 1, 'one audience')
  t.equal(Object.values(audience[0]?.members ?? {}).reduce((n, ids) => n + ids.length, 0), 1500, 'every identifier delivered once')
})
