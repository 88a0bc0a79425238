// An audience is created only after TikTok is asked for one of that distribution's name (every
// page of /dmp/custom_audience/list/), so a lost state.db never leads to a second audience; two
// of that name are refused rather than guessed between.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP } from '../../adapters/emulator/emulator-state.js'
import { DB_FILE } from '../../engine/state/state-store.js'
import { runCli } from '../helpers/cli.js'
import { configHead, connectDefault } from '../helpers/config-head.js'

const kAdv = '7123456789012345678'
const kList = 'GET /open_api/v1.3/dmp/custom_audience/list/'
const kCreate = 'POST /open_api/v1.3/segment/audience/'

const run = async (args: string[]): ReturnType<typeof runCli> => await runCli(args, { env: { TIKTOK_APP_SECRET: DEFAULT_APP.secret } })

async function world (t: { teardown: (fn: () => Promise<void>) => void }): Promise<{ dir: string, config: string, db: string, em: Awaited<ReturnType<typeof startEmulator>>, connect: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hp-lookup-'))
  const em = await startEmulator({ limits: { qps: 5000, qpm: 300000, advertiserQps: 5000 } })
  t.teardown(async () => { await em.close(); rmSync(dir, { recursive: true, force: true }) })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `${configHead(em, { qps: 2000, qpm: 120000, batchSize: 500 })}destinations:
  - { name: Acme, integration: first-party-record-sync, advertiser_id: "${kAdv}", connection: acme }
segments:
  - { name: loyal, inputs: [loyal.csv], destination: Acme }
`)
  const rows = ['email']
  for (let i = 0; i < 1500; i++) rows.push(`member${i}@example.com`)
  writeFileSync(join(dir, 'loyal.csv'), rows.join('\n') + '\n')
  const connect = async (): Promise<void> => { await connectDefault(dir, config) }
  await connect()
  return { dir, config, db: join(dir, 'state', DB_FILE), em, connect }
}

const members = (em: Awaited<ReturnType<typeof startEmulator>>): number => em.state.snapshot().reduce((n, a) => n + Object.values(a.members).reduce((m, ids) => m + ids.length, 0), 0)

t.test('state.db deleted after a delivery: the next run finds the audience by name (paged list), exactly one audience', async t => {
  const w = await world(t)
  t.equal((await run(['distribute', '--config', w.config, '--threads', '1'])).code, 0)
  const id = w.em.state.snapshot()[0]!.audienceId
  // More audiences than one list page holds (100), so finding it takes the second page.
  for (let i = 0; i < 150; i++) w.em.state.createAudience(kAdv, `other-${i}`)
  rmSync(w.db)
  await w.connect()
  w.em.stats.clear()
  const r = await run(['distribute', '--config', w.config, '--threads', '1', '--json'])
  t.equal(r.code, 0, r.stderr)
  t.equal(JSON.parse(r.stdout).distributions[0].result.audience_id, id)
  t.equal(w.em.stats.get(kCreate) ?? 0, 0, 'no create request')
  t.equal(w.em.stats.get(kList), 2, 'two list pages read')
  t.equal(w.em.state.snapshot().filter(a => a.name === 'loyal').length, 1, 'exactly one audience of that name')
})

t.test('a same-named audience twice on TikTok: refused, nothing sent to either', async t => {
  const w = await world(t)
  w.em.state.createAudience(kAdv, 'loyal')
  w.em.state.createAudience(kAdv, 'loyal')
  const r = await run(['distribute', '--config', w.config, '--threads', '1', '--json'])
  t.equal(r.code, 1)
  t.match(JSON.parse(r.stdout).distributions[0].error, { code: 'HP_ERR_REFUSED', message: /holds 2 audiences named 'loyal'/ })
  t.equal(members(w.em), 0)
})
