// Crash and resume, end to end: `hashpipe distribute` against the emulator is SIGKILLed at every
// named crashpoint and at random moments, then run again. Whatever the kill point, the final
// audience equals the segment's identifier set, exactly one audience exists, and the mapping
// requests sent in total exceed the plan's batches by at most the in-flight window per kill.
// A Record Sync sequence (grow, shrink, change) with kills in the delete phase ends equal too.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP, DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'
import { runCli, cliPath as cli } from '../helpers/cli.js'

const kAdv = '7123456789012345678'
const kMapping = 'POST /open_api/v1.3/segment/mapping/'
const kBatch = 40
const kInflight = 4

// runCli is asynchronous: the emulator lives in this process and must keep answering.
const run = async (args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> => await runCli(args, { env: { ...env, TIKTOK_APP_SECRET: DEFAULT_APP.secret } })

async function expectedSet (dir: string, input: string): Promise<Set<string>> {
  const out = join(dir, 'expected.csv')
  const r = await run(['hash', input, '--out', out, '--no-progress', '--threads', '1'])
  if (r.code !== 0) throw new Error(r.stderr)
  return new Set(readFileSync(out, 'utf8').trim().split('\n').slice(1).map(l => l.replace(',', ':')))
}

async function world (t: { teardown: (fn: () => Promise<void>) => void }, integration: string): Promise<{ dir: string, input: string, members: () => Set<string>, audiences: () => number, em: Awaited<ReturnType<typeof startEmulator>> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hp-crash-'))
  const em = await startEmulator({ limits: { qps: 2000, qpm: 120000, advertiserQps: 2000 } })
  t.teardown(async () => { await em.close(); rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'hashpipe.yaml'), `state_dir: state
tiktok:
  api_base_url: ${em.apiBaseUrl}
  auth_url: ${em.authUrl}
  app_id: "${DEFAULT_APP.appId}"
  secret: \${TIKTOK_APP_SECRET}
  rate_limit: { qps: 1000, qpm: 60000 }
  batch_size: ${kBatch}
destinations:
  - { name: Acme, integration: ${integration}, advertiser_id: "${kAdv}", connection: acme }
segments:
  - { name: seg, inputs: [seg.csv], destination: Acme }
`)
  writeFileSync(join(dir, 'token'), DEFAULT_TOKEN)
  const c = await run(['connect', 'tiktok', '--config', join(dir, 'hashpipe.yaml'), '--name', 'acme', '--access-token-file', join(dir, 'token')])
  if (c.code !== 0) throw new Error(c.stdout + c.stderr)
  const audiences = (): number => em.state.snapshot().filter(a => a.advertiserId === kAdv).length
  const members = (): Set<string> => {
    const a = em.state.snapshot().find(x => x.advertiserId === kAdv)
    return new Set(Object.entries(a?.members ?? {}).flatMap(([schema, ids]) => ids.map(id => `${schema}:${id}`)))
  }
  return { dir, input: join(dir, 'seg.csv'), members, audiences, em }
}

function people (from: number, to: number): string {
  const rows = ['email,phone']
  for (let i = from; i < to; i++) rows.push(`user${i}@example.com,+1 415 ${String(200 + (i % 700)).padStart(3, '0')} ${String(1000 + i).slice(-4)}`)
  return rows.join('\n') + '\n'
}

const kPoints = ['after-prepare', 'after-plan', 'before-create-audience', 'after-create-audience', 'after-batch-recorded:3', 'after-batch-sent:5', 'after-batch-ack:7', 'before-commit', 'after-commit-rename', 'after-commit']

t.test('SIGKILL at every crashpoint, then a rerun: exact audience, one audience, bounded resends', async t => {
  for (const point of kPoints) {
    const w = await world(t, 'first-party')
    writeFileSync(w.input, people(0, 600))
    const config = join(w.dir, 'hashpipe.yaml')
    const killed = await run(['distribute', '--config', config, '--threads', '1'], { HASHPIPE_CRASHPOINT: point })
    t.equal(killed.signal, 'SIGKILL', `${point}: killed there`)
    const again = await run(['distribute', '--config', config, '--threads', '1'])
    t.equal(again.code, 0, `${point}: rerun succeeds ${again.stderr}`)
    t.same(w.members(), await expectedSet(w.dir, w.input), `${point}: audience equals the segment`)
    t.equal(w.audiences(), 1, `${point}: one audience`)
    const batches = Math.ceil(600 / kBatch) * 2
    const sent = w.em.stats.get(kMapping) ?? 0
    t.ok(sent <= batches + kInflight, `${point}: ${sent} mapping requests for ${batches} batches`)
    const third = await run(['distribute', '--config', config, '--threads', '1'])
    t.equal(w.em.stats.get(kMapping) ?? 0, sent, `${point}: an unchanged segment sends nothing more (${third.code})`)
  }
})

t.test('kills at random moments, then a rerun', async t => {
  const w = await world(t, 'first-party')
  writeFileSync(w.input, people(0, 2000))
  const config = join(w.dir, 'hashpipe.yaml')
  let seed = 7
  for (let i = 0; i < 4; i++) {
    seed = (seed * 48271) % 2147483647
    const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cli, 'distribute', '--config', config, '--threads', '1'], { env: { ...process.env, TIKTOK_APP_SECRET: DEFAULT_APP.secret }, stdio: 'ignore' })
    const exited = once(child, 'exit')
    await new Promise(resolve => setTimeout(resolve, 200 + (seed % 1200)))
    child.kill('SIGKILL')
    await exited
  }
  const last = await run(['distribute', '--config', config, '--threads', '1'])
  t.equal(last.code, 0, last.stderr)
  t.same(w.members(), await expectedSet(w.dir, w.input))
  t.equal(w.audiences(), 1)
})

t.test('record sync over inputs that grow, shrink and change, with kills in the delete phase', async t => {
  const w = await world(t, 'first-party-record-sync')
  const config = join(w.dir, 'hashpipe.yaml')
  const steps: Array<[number, number, string | undefined]> = [[0, 300, undefined], [0, 500, 'after-batch-ack:2'], [200, 500, 'after-batch-sent:4'], [250, 700, 'after-batch-recorded:6'], [250, 700, 'after-commit-rename']]
  for (const [from, to, point] of steps) {
    writeFileSync(w.input, people(from, to))
    if (point !== undefined) t.equal((await run(['distribute', '--config', config, '--threads', '1'], { HASHPIPE_CRASHPOINT: point })).signal, 'SIGKILL', `killed at ${point}`)
    const r = await run(['distribute', '--config', config, '--threads', '1', '--allow-mass-delete'])
    t.equal(r.code, 0, r.stderr)
    t.same(w.members(), await expectedSet(w.dir, w.input), `audience mirrors people ${from}..${to}`)
  }
  t.equal(w.audiences(), 1)
})
