// The distribution engine against an in-memory TikTok: what the audience ends up holding, how
// often each batch is sent, and that an audience is created once — across failures mid-delivery,
// resumes, Record Sync deletions, the mass-delete guard, changed inputs and dry runs.
// (Killing the process at named crashpoints is covered end to end against the emulator.)
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { parseConfig } from '../../engine/config.js'
import { StateStore } from '../../engine/state/state-store.js'
import { runDistribution, type DistributeOptions } from '../../engine/distribute/run-distribution.js'
import { HashpipeError, ExitCode } from '../../pipeline/errors.js'
import type { AudienceApi } from '../../engine/distribute/audience-api.js'

const kAdvertiser = '7123456789012345678'

class MemoryTikTok implements AudienceApi {
  audiences = new Map<string, { name: string, members: Set<string> }>()
  creates = 0
  batches: string[] = []
  failAtCall = -1
  calls = 0
  async createAudience (_adv: string, name: string): Promise<string> {
    this.creates++
    const id = String(1800000000000000000n + BigInt(this.audiences.size))
    this.audiences.set(id, { name, members: new Set() })
    return id
  }

  async deleteAudience (_adv: string, audienceId: string): Promise<void> {
    this.audiences.delete(audienceId)
  }

  async findAudiences (_adv: string, name: string): Promise<string[]> {
    return [...this.audiences].filter(([, a]) => a.name === name).map(([id]) => id)
  }

  async mapping (_adv: string, audienceId: string, action: 'add' | 'delete', idSchema: string, digests: string[]): Promise<{ poisoned: number[] }> {
    if (++this.calls === this.failAtCall) throw new HashpipeError('HP_ERR_API_UNAVAILABLE', 'TikTok unavailable (test)', ExitCode.DESTINATION_UNAVAILABLE)
    const a = this.audiences.get(audienceId)!
    this.batches.push(`${action}:${idSchema}:${digests[0]}`)
    for (const d of digests) {
      if (action === 'add') a.members.add(`${idSchema}:${d}`)
      else a.members.delete(`${idSchema}:${d}`)
    }
    return { poisoned: [] }
  }

  async coverNum (_adv: string, audienceId: string): Promise<number> {
    const n = this.audiences.get(audienceId)!.members.size
    return n < 1000 ? 0 : Math.floor(n * 0.6)
  }
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

function emails (from: number, to: number): string[] {
  const out: string[] = []
  for (let i = from; i < to; i++) out.push(`person${i}@example.com`)
  return out
}

function setup (t: { teardown: (fn: () => void) => void }, integration: string): { dir: string, input: string, load: () => ReturnType<typeof parseConfig> } {
  const dir = mkdtempSync(join(tmpdir(), 'hp-dist-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const input = join(dir, 'seg.csv')
  const yaml = `
state_dir: state
tiktok:
  api_base_url: http://127.0.0.1:1/open_api/v1.3
  app_id: "123"
  secret: s3cret-value
  batch_size: 50
destinations:
  - name: Acme
    integration: ${integration}
    advertiser_id: "${kAdvertiser}"
    connection: acme
segments:
  - name: loyal
    inputs: [seg.csv]
    destination: Acme
`
  writeFileSync(join(dir, 'hashpipe.yaml'), yaml)
  return { dir, input, load: () => parseConfig(yaml, { path: join(dir, 'hashpipe.yaml'), env: {} }) }
}

function writeInput (path: string, list: string[]): void {
  writeFileSync(path, 'email\n' + list.join('\n') + '\n')
}

const options = (over: Partial<DistributeOptions> = {}): DistributeOptions => ({
  dryRun: false, restart: false, allowMassDelete: false, maxDeleteShare: 0.5, threads: 1, inflight: 2, stdin: new PassThrough(), ...over
})

let runCounter = 0
const newRunId = (): string => `run${++runCounter}`

async function distribute (load: () => ReturnType<typeof parseConfig>, api: MemoryTikTok, over: Partial<DistributeOptions> = {}): ReturnType<typeof runDistribution> {
  const config = load()
  const state = StateStore.open(config.stateDir)
  try {
    return await runDistribution(config, state, api, config.segments[0]!, config.destinations[0]!, options(over), newRunId)
  } finally {
    state.close()
  }
}

const members = (api: MemoryTikTok): Set<string> => [...api.audiences.values()][0]?.members ?? new Set()
const expected = (list: string[]): Set<string> => new Set(list.map(e => `EMAIL_SHA256:${sha(e)}`))

t.test('a failure mid-delivery resumes: only the in-flight batch is sent again, one audience', async t => {
  const { input, load } = setup(t, 'first-party')
  const list = emails(0, 1000)
  writeInput(input, list)
  const api = new MemoryTikTok()
  api.failAtCall = 7
  await t.rejects(distribute(load, api), { code: 'HP_ERR_API_UNAVAILABLE' })
  t.equal(api.creates, 1)
  const sentBefore = api.batches.length
  api.failAtCall = -1
  const r = await distribute(load, api)
  t.equal(r.resumed, true)
  t.equal(api.creates, 1, 'the audience is created once')
  t.same(members(api), expected(list))
  const distinct = new Set(api.batches)
  t.equal(distinct.size, 20, '1000 identifiers in batches of 50')
  t.ok(api.batches.length - distinct.size <= 2, `at most the in-flight batches are resent (sent ${api.batches.length}, ${sentBefore} before the failure)`)
  t.equal(r.delivered.add, 1000)

  const sentTotal = api.batches.length
  const again = await distribute(load, api)
  t.equal(again.resumed, false)
  t.same(again.plan.add, {}, 'nothing left to add')
  t.equal(api.batches.length, sentTotal, 'an unchanged segment sends no batch')
})

t.test('record sync deletes what left the segment; other integrations never delete', async t => {
  for (const integration of ['first-party-record-sync', 'first-party']) {
    const { input, load } = setup(t, integration)
    const api = new MemoryTikTok()
    writeInput(input, emails(0, 600))
    await distribute(load, api)
    writeInput(input, emails(300, 800))
    const r = await distribute(load, api)
    if (integration === 'first-party-record-sync') {
      t.same(members(api), expected(emails(300, 800)), 'audience mirrors the latest input')
      t.same(r.plan, { add: { EMAIL_SHA256: 200 }, delete: { EMAIL_SHA256: 300 } })
    } else {
      t.same(members(api), expected(emails(0, 800)), 'first-party only adds')
      t.same(r.plan.delete, {})
    }
  }
})

t.test('the mass-delete guard refuses to wipe an audience unless allowed', async t => {
  const { input, load } = setup(t, 'first-party-record-sync')
  const api = new MemoryTikTok()
  writeInput(input, emails(0, 400))
  await distribute(load, api)
  writeInput(input, emails(0, 10))
  await t.rejects(distribute(load, api), { code: 'HP_ERR_REFUSED' })
  t.equal(members(api).size, 400, 'nothing deleted')
  await distribute(load, api, { allowMassDelete: true })
  t.same(members(api), expected(emails(0, 10)))
})

t.test('an input changed after a failure is refused unless --restart', async t => {
  const { input, load } = setup(t, 'first-party')
  const api = new MemoryTikTok()
  writeInput(input, emails(0, 500))
  api.failAtCall = 3
  await t.rejects(distribute(load, api), { code: 'HP_ERR_API_UNAVAILABLE' })
  api.failAtCall = -1
  writeInput(input, emails(0, 501))
  utimesSync(input, new Date(), new Date(Date.now() + 5000))
  await t.rejects(distribute(load, api), { code: 'HP_ERR_INPUT_CHANGED' })
  const r = await distribute(load, api, { restart: true })
  t.equal(r.resumed, false)
  t.same(members(api), expected(emails(0, 501)))
  t.equal(api.creates, 1, 'restart keeps the audience')
})

t.test('a dry run makes no TikTok call and prints the plan', async t => {
  const { input, load } = setup(t, 'first-party')
  const api = new MemoryTikTok()
  writeInput(input, emails(0, 120))
  const r = await distribute(load, api, { dryRun: true })
  t.same(r.plan.add, { EMAIL_SHA256: 120 })
  t.equal(api.creates + api.calls, 0)
  const real = await distribute(load, api)
  t.equal(real.delivered.add, 120, 'the dry run left nothing behind that changes the real run')
})
