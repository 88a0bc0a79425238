// Shared by the distribute-crash*.test.ts files: a temp dir with a config against an in-process
// emulator and a connection, the people a segment holds, and the expected audience computed by
// `hashpipe hash` once per distinct input. The crash tests are split over several files so each
// stays well under tap's timeout on a busy 2-core machine; this is what they have in common.
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP, DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'
import { runCli } from './cli.js'

export const kAdv = '7123456789012345678'
export const kMapping = 'POST /open_api/v1.3/segment/mapping/'
export const kBatch = 40
export const kInflight = 4
export const kAppSecret = DEFAULT_APP.secret

// runCli is asynchronous: the emulator lives in this process and must keep answering.
export const run = async (args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> => await runCli(args, { env: { ...env, TIKTOK_APP_SECRET: DEFAULT_APP.secret } })

const expectedByContent = new Map<string, Set<string>>()

/** The `id_schema:sha256` set `hashpipe hash` makes of the input as it is now (memoized by content). */
export async function expectedSet (dir: string, input: string): Promise<Set<string>> {
  const content = readFileSync(input, 'utf8')
  const known = expectedByContent.get(content)
  if (known !== undefined) return known
  const out = join(dir, 'expected.csv')
  const r = await run(['hash', input, '--out', out, '--no-progress', '--threads', '1'])
  if (r.code !== 0) throw new Error(r.stderr)
  const set = new Set(readFileSync(out, 'utf8').trim().split('\n').slice(1).map(l => l.replace(',', ':')))
  expectedByContent.set(content, set)
  return set
}

export interface World {
  dir: string
  config: string
  input: string
  members: () => Set<string>
  audiences: () => number
  em: Awaited<ReturnType<typeof startEmulator>>
}

export async function world (t: { teardown: (fn: () => Promise<void>) => void }, integration: string): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'hp-crash-'))
  const em = await startEmulator({ limits: { qps: 2000, qpm: 120000, advertiserQps: 2000 } })
  t.teardown(async () => { await em.close(); rmSync(dir, { recursive: true, force: true }) })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `state_dir: state
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
  const c = await run(['connect', 'tiktok', '--config', config, '--name', 'acme', '--access-token-file', join(dir, 'token')])
  if (c.code !== 0) throw new Error(c.stdout + c.stderr)
  const audiences = (): number => em.state.snapshot().filter(a => a.advertiserId === kAdv).length
  const members = (): Set<string> => {
    const a = em.state.snapshot().find(x => x.advertiserId === kAdv)
    return new Set(Object.entries(a?.members ?? {}).flatMap(([schema, ids]) => ids.map(id => `${schema}:${id}`)))
  }
  return { dir, config, input: join(dir, 'seg.csv'), members, audiences, em }
}

/** A CSV of people from..to-1, each with an email and a US phone. */
export function people (from: number, to: number): string {
  const rows = ['email,phone']
  for (let i = from; i < to; i++) rows.push(`user${i}@example.com,+1 415 ${String(200 + (i % 700)).padStart(3, '0')} ${String(1000 + i).slice(-4)}`)
  return rows.join('\n') + '\n'
}

/** The assertions killAtEachPoint makes, on whichever tap test it is given. */
export interface Asserts {
  teardown: (fn: () => Promise<void>) => void
  equal: (found: unknown, wanted: unknown, message: string) => boolean
  same: (found: unknown, wanted: unknown, message: string) => boolean
  ok: (value: unknown, message: string) => boolean
}

/** Every named crashpoint of `distribute`, in the order a run reaches them. */
export const kPoints = ['after-prepare', 'after-plan', 'before-create-audience', 'after-create-audience', 'after-batch-recorded:3', 'after-batch-sent:5', 'after-batch-ack:7', 'before-commit', 'after-commit-rename', 'after-commit']

/**
 * SIGKILL at each point, then a rerun: exact audience, one audience, resends bounded by the
 * in-flight window, and a third run of the unchanged segment sends nothing.
 */
export async function killAtEachPoint (t: Asserts, points: readonly string[]): Promise<void> {
  for (const point of points) {
    const w = await world(t, 'first-party')
    writeFileSync(w.input, people(0, 600))
    const killed = await run(['distribute', '--config', w.config, '--threads', '1'], { HASHPIPE_CRASHPOINT: point })
    t.equal(killed.signal, 'SIGKILL', `${point}: killed there`)
    const again = await run(['distribute', '--config', w.config, '--threads', '1'])
    t.equal(again.code, 0, `${point}: rerun succeeds ${again.stderr}`)
    t.same(w.members(), await expectedSet(w.dir, w.input), `${point}: audience equals the segment`)
    t.equal(w.audiences(), 1, `${point}: one audience`)
    const batches = Math.ceil(600 / kBatch) * 2
    const sent = w.em.stats.get(kMapping) ?? 0
    t.ok(sent <= batches + kInflight, `${point}: ${sent} mapping requests for ${batches} batches`)
    const third = await run(['distribute', '--config', w.config, '--threads', '1'])
    t.equal(w.em.stats.get(kMapping) ?? 0, sent, `${point}: an unchanged segment sends nothing more (${third.code})`)
  }
}
