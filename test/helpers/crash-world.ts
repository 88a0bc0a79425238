// Shared by the distribute-crash*.test.ts files: a temp dir with a config against an in-process
// emulator, one connection made once, and one segment per scenario (each segment is its own
// distribution with its own audience, so scenarios in one file do not see each other). The
// crash tests are split over several files so each stays well under tap's timeout on a busy
// 2-core machine; the expensive part is starting hashpipe processes, so a file makes few.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP } from '../../adapters/emulator/emulator-state.js'
import { createNormalizers } from '../../pipeline/normalize.js'
import { runCli } from './cli.js'
import { configHead, connectDefault } from './config-head.js'

export const kAdv = '7123456789012345678'
export const kMapping = 'POST /open_api/v1.3/segment/mapping/'
export const kBatch = 40
export const kInflight = 4
export const kAppSecret = DEFAULT_APP.secret

// runCli is asynchronous: the emulator lives in this process and must keep answering.
export const run = async (args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> => await runCli(args, { env: { ...env, TIKTOK_APP_SECRET: DEFAULT_APP.secret } })

const kNormalize = createNormalizers({ defaultCountry: 'US', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: false })
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

/** The `id_schema:sha256` set a people() file must end up as in the audience. */
export function expectedSet (csv: string): Set<string> {
  const out = new Set<string>()
  for (const line of csv.trim().split('\n').slice(1)) {
    const [email, phone] = line.split(',') as [string, string]
    const e = kNormalize.email(email)
    const p = kNormalize.phone(phone)
    if (typeof e === 'string') out.add(`EMAIL_SHA256:${sha(e)}`)
    if (typeof p === 'string') out.add(`PHONE_SHA256:${sha(p)}`)
  }
  return out
}

export interface World {
  dir: string
  config: string
  /** The input file of a segment. */
  input: (segment: string) => string
  /** Members of the segment's audience, as `id_schema:sha256`. */
  members: (segment: string) => Set<string>
  /** How many audiences carry the segment's name. */
  audiences: (segment: string) => number
  /** Mapping requests the emulator has answered so far, all segments together. */
  mappingRequests: () => number
  /** `hashpipe distribute` for one segment, optionally killed at a crashpoint. */
  distribute: (segment: string, options?: { crashpoint?: string, extra?: string[] }) => ReturnType<typeof runCli>
}

export async function world (t: { teardown: (fn: () => Promise<void>) => void }, integration: string, segments: readonly string[]): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'hp-crash-'))
  const em = await startEmulator({ limits: { qps: 2000, qpm: 120000, advertiserQps: 2000 } })
  t.teardown(async () => { await em.close(); rmSync(dir, { recursive: true, force: true }) })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `${configHead(em, { qps: 1000, qpm: 60000, batchSize: kBatch })}destinations:
  - { name: Acme, integration: ${integration}, advertiser_id: "${kAdv}", connection: acme }
segments:
${segments.map(s => `  - { name: ${s}, inputs: [${s}.csv], destination: Acme }`).join('\n')}
`)
  for (const s of segments) writeFileSync(join(dir, `${s}.csv`), people(0, 0))
  await connectDefault(dir, config)
  const named = (segment: string): ReturnType<typeof em.state.snapshot> => em.state.snapshot().filter(a => a.advertiserId === kAdv && a.name === segment)
  return {
    dir,
    config,
    input: segment => join(dir, `${segment}.csv`),
    members: segment => new Set(Object.entries(named(segment)[0]?.members ?? {}).flatMap(([schema, ids]) => ids.map(id => `${schema}:${id}`))),
    audiences: segment => named(segment).length,
    mappingRequests: () => em.stats.get(kMapping) ?? 0,
    distribute: async (segment, options = {}) => await run(
      ['distribute', '--config', config, '--segment', segment, '--threads', '1', ...(options.extra ?? [])],
      options.crashpoint === undefined ? {} : { HASHPIPE_CRASHPOINT: options.crashpoint })
  }
}

/** A CSV of people from..to-1, each with an email and a US phone. */
export function people (from: number, to: number): string {
  const rows = ['email,phone']
  for (let i = from; i < to; i++) rows.push(`user${i}@example.com,+1 415 ${String(200 + (i % 700)).padStart(3, '0')} ${String(1000 + i).slice(-4)}`)
  return rows.join('\n') + '\n'
}

/** Every named crashpoint of `distribute`, in the order a run reaches them. */
export const kPoints = ['after-prepare', 'after-plan', 'before-create-audience', 'after-create-audience', 'after-batch-recorded:3', 'after-batch-sent:5', 'after-batch-ack:7', 'before-commit', 'after-commit-rename', 'after-commit'] as const

/** The assertions killAtEachPoint makes, on whichever tap test it is given. */
export interface Asserts {
  teardown: (fn: () => Promise<void>) => void
  equal: (found: unknown, wanted: unknown, message: string) => boolean
  same: (found: unknown, wanted: unknown, message: string) => boolean
  ok: (value: unknown, message: string) => boolean
}

/**
 * For each point, a segment of its own: SIGKILL there, then a rerun: exact audience, one
 * audience, resends bounded by the in-flight window, and a third run of the unchanged segment
 * sends nothing.
 */
export async function killAtEachPoint (t: Asserts, points: readonly string[]): Promise<void> {
  const segmentOf = (point: string): string => `seg-${point.replace(/:/g, '-')}`
  const w = await world(t, 'first-party', points.map(segmentOf))
  const content = people(0, 600)
  const expected = expectedSet(content)
  const batches = Math.ceil(600 / kBatch) * 2
  for (const point of points) {
    const segment = segmentOf(point)
    writeFileSync(w.input(segment), content)
    const before = w.mappingRequests()
    const killed = await w.distribute(segment, { crashpoint: point })
    t.equal(killed.signal, 'SIGKILL', `${point}: killed there`)
    const again = await w.distribute(segment)
    t.equal(again.code, 0, `${point}: rerun succeeds ${again.stderr}`)
    t.same(w.members(segment), expected, `${point}: audience equals the segment`)
    t.equal(w.audiences(segment), 1, `${point}: one audience`)
    const sent = w.mappingRequests() - before
    t.ok(sent >= batches && sent <= batches + kInflight, `${point}: ${sent} mapping requests for ${batches} batches`)
    const third = await w.distribute(segment)
    t.equal(w.mappingRequests() - before, sent, `${point}: an unchanged segment sends nothing more (${third.code})`)
  }
}
