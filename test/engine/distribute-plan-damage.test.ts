// A plan damaged on disk is never sent: after a stop, one byte flipped in the middle of a plan
// file makes the resumed run discard the plan and plan again from the snapshot (with a warning
// naming the file) before any batch of it leaves, and the audience ends equal to the segment with
// no garbage digest in it. A plan that rots during delivery is caught by its chunk checksums and
// re-planned the same way. The CLI test reproduces the chaos-suite case against the emulator.
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { parseConfig } from '../../engine/config.js'
import { StateStore } from '../../engine/state/state-store.js'
import { createLogger } from '../../engine/logger.js'
import { runDistribution, type DistributeOptions } from '../../engine/distribute/run-distribution.js'
import { HashpipeError, ExitCode } from '../../pipeline/errors.js'
import type { AudienceApi } from '../../engine/distribute/audience-api.js'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP } from '../../adapters/emulator/emulator-state.js'
import { runCli } from '../helpers/cli.js'
import { configHead, connectDefault } from '../helpers/config-head.js'

const kAdv = '7123456789012345678'
const kPeople = 34000
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const emails = (n: number): string[] => Array.from({ length: n }, (_, i) => `person${i}@example.com`)
const expected = new Set(emails(kPeople).map(e => `EMAIL_SHA256:${sha(e)}`))

class MemoryTikTok implements AudienceApi {
  members = new Set<string>()
  calls = 0
  sentOutsideSegment = 0
  failAtCall = -1
  onCall: (n: number) => void = () => {}
  async createAudience (): Promise<string> { return '1800000000000000000' }
  async deleteAudience (): Promise<void> {}
  async findAudiences (): Promise<string[]> { return [] }
  async mapping (_adv: string, _id: string, action: 'add' | 'delete', idSchema: string, digests: string[]): Promise<{ poisoned: number[] }> {
    const n = ++this.calls
    this.onCall(n)
    if (n === this.failAtCall) throw new HashpipeError('HP_ERR_API_UNAVAILABLE', 'TikTok unavailable (test)', ExitCode.DESTINATION_UNAVAILABLE)
    for (const d of digests) {
      if (!expected.has(`${idSchema}:${d}`)) this.sentOutsideSegment++
      if (action === 'add') this.members.add(`${idSchema}:${d}`)
    }
    return { poisoned: [] }
  }

  async coverNum (): Promise<number> { return 0 }
}

function setup (t: { teardown: (fn: () => void) => void }): { dir: string, load: () => ReturnType<typeof parseConfig> } {
  const dir = mkdtempSync(join(tmpdir(), 'hp-plandmg-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'seg.csv'), 'email\n' + emails(kPeople).join('\n') + '\n')
  const yaml = `state_dir: state
tiktok: { api_base_url: "http://127.0.0.1:1/open_api/v1.3", app_id: "123", secret: s3cret-value, batch_size: 1000 }
destinations: [{ name: Acme, integration: first-party, advertiser_id: "${kAdv}", connection: acme }]
segments: [{ name: loyal, inputs: [seg.csv], destination: Acme }]
`
  writeFileSync(join(dir, 'hashpipe.yaml'), yaml)
  return { dir, load: () => parseConfig(yaml, { path: join(dir, 'hashpipe.yaml'), env: {} }) }
}

function addsFile (stateDir: string): string {
  const spool = join(stateDir, 'spool')
  const d = readdirSync(spool).find(n => n.startsWith('d'))!
  const run = readdirSync(join(spool, d)).find(n => n.startsWith('run-'))!
  return join(spool, d, run, 'adds', 'EMAIL_SHA256.bin')
}

function flip (path: string, digestIndex: number): void {
  const bytes = readFileSync(path)
  bytes[digestIndex * 32 + 11] = bytes[digestIndex * 32 + 11]! ^ 0x40
  writeFileSync(path, bytes)
}

let ids = 0
async function distribute (load: () => ReturnType<typeof parseConfig>, api: MemoryTikTok, warnings: Array<{ msg: string, calls: number }>): ReturnType<typeof runDistribution> {
  const config = load()
  const state = StateStore.open(config.stateDir)
  const sink = new Writable({
    write (chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(l => l !== '')) warnings.push({ msg: (JSON.parse(line) as { msg: string }).msg, calls: api.calls })
      done()
    }
  })
  const options: DistributeOptions = { dryRun: false, restart: false, allowMassDelete: false, maxDeleteShare: 0.5, threads: 1, inflight: 2, stdin: new PassThrough(), log: createLogger({ stream: sink, level: 'warn' }) }
  try {
    return await runDistribution(config, state, api, config.segments[0]!, config.destinations[0]!, options, () => `run${++ids}`)
  } finally {
    state.close()
  }
}

t.test('a plan damaged after a stop is planned again before any of it is sent', async t => {
  for (const at of [kPeople / 2, 33500]) {
    const { dir, load } = setup(t)
    const api = new MemoryTikTok()
    api.failAtCall = 1
    const warnings: Array<{ msg: string, calls: number }> = []
    await t.rejects(distribute(load, api, warnings), { code: 'HP_ERR_API_UNAVAILABLE' }, 'stopped in delivery, the plan written')
    const file = addsFile(join(dir, 'state'))
    flip(file, at)
    const before = api.calls
    const r = await distribute(load, api, warnings)
    const warning = warnings.find(w => w.msg.includes(file))
    t.ok(warning !== undefined, `digest ${at}: a warning names ${file}`)
    t.match(warning?.msg, /is damaged: does not match its checksum.*planning again from the snapshot/)
    t.equal(warning?.calls, before, `digest ${at}: no mapping request between the resume and the re-plan`)
    t.equal(api.sentOutsideSegment, 0, `digest ${at}: no digest outside the segment was ever sent`)
    t.same(api.members, expected, `digest ${at}: the audience equals the segment`)
    t.equal(r.delivered.add, kPeople)
  }
})

t.test('a plan that rots during delivery is refused chunk by chunk and planned again', async t => {
  const { dir, load } = setup(t)
  const api = new MemoryTikTok()
  // After the plan was verified and the first batches went out, a byte flips in a later chunk.
  api.onCall = n => { if (n === 3) flip(addsFile(join(dir, 'state')), 33000) }
  const warnings: Array<{ msg: string, calls: number }> = []
  const r = await distribute(load, api, warnings)
  t.ok(warnings.some(w => /EMAIL_SHA256\.bin is damaged/.test(w.msg)), 'the damaged file is named')
  t.equal(api.sentOutsideSegment, 0, 'nothing from the damaged chunk was sent')
  t.same(api.members, expected)
  t.equal(r.delivered.add, kPeople)
  t.ok(api.calls <= kPeople / 1000 + 2, `acked batches are not sent again (${api.calls} requests for ${kPeople / 1000} batches)`)
})

t.test('CLI: killed after planning, one byte flipped at digest 20,000 — the resume sends none of it', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-plandmg-cli-'))
  const em = await startEmulator({ limits: { qps: 2000, qpm: 120000, advertiserQps: 2000 } })
  t.teardown(async () => { await em.close(); rmSync(dir, { recursive: true, force: true }) })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `${configHead(em, { qps: 1000, qpm: 60000, batchSize: 1000 })}destinations:
  - { name: Acme, integration: first-party, advertiser_id: "${kAdv}", connection: acme }
segments:
  - { name: seg, inputs: [seg.csv], destination: Acme }
`)
  writeFileSync(join(dir, 'seg.csv'), 'email\n' + emails(kPeople).join('\n') + '\n')
  const run = async (args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> => await runCli(args, { env: { ...env, TIKTOK_APP_SECRET: DEFAULT_APP.secret } })
  await connectDefault(dir, config)

  const killed = await run(['distribute', '--config', config, '--threads', '1'], { HASHPIPE_CRASHPOINT: 'after-plan' })
  t.equal(killed.signal, 'SIGKILL')
  const file = addsFile(join(dir, 'state'))
  flip(file, 20000)
  const resumed = await run(['distribute', '--config', config, '--threads', '1'])
  t.equal(resumed.code, 0, resumed.stderr)
  t.match(resumed.stderr, file, 'the warning names the damaged plan file')
  const audience = em.state.snapshot().filter(a => a.advertiserId === kAdv)
  t.equal(audience.length, 1)
  const members = new Set(Object.entries(audience[0]?.members ?? {}).flatMap(([schema, list]) => list.map(id => `${schema}:${id}`)))
  t.same(members, expected, 'the audience equals the snapshot: no garbage digest in it')
  t.equal(em.stats.get('POST /open_api/v1.3/segment/mapping/'), Math.ceil(kPeople / 1000), 'each batch sent once')
})
