// One failing distribution must not stop the others: three segments to three ad accounts, the
// middle one failing (an Analyst's account; a revoked token), through the CLI against the
// emulator. The first and third are delivered whole, the failure is kept on its distribution
// (status shows it), the exit code is the most severe outcome and --json lists all three.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP, DEFAULT_TOKEN, kAllScopes } from '../../adapters/emulator/emulator-state.js'
import { mostSevereExitCode } from '../../engine/commands/distribute.js'
import { ExitCode } from '../../pipeline/errors.js'
import { runCli } from '../helpers/cli.js'
import { configHead } from '../helpers/config-head.js'

const kAdmin = '7123456789012345678'
const kAnalyst = '7123456789012345679'
const kThird = '7123456789012345680'
const kOther = '7123456789012345681'
const kRows = 2000
const kBetaToken = 'beta-token-0123456789'

const run = async (args: string[]): ReturnType<typeof runCli> => await runCli(args, { env: { TIKTOK_APP_SECRET: DEFAULT_APP.secret } })

function people (prefix: string): string {
  const rows = ['email']
  for (let i = 0; i < kRows; i++) rows.push(`${prefix}${i}@example.com`)
  return rows.join('\n') + '\n'
}

async function world (t: { teardown: (fn: () => Promise<void>) => void }, destinations: string): Promise<{ dir: string, config: string, em: Awaited<ReturnType<typeof startEmulator>>, members: (advertiserId: string) => number, audiences: () => number }> {
  const dir = mkdtempSync(join(tmpdir(), 'hp-indep-'))
  const em = await startEmulator({
    limits: { qps: 5000, qpm: 300000, advertiserQps: 5000 },
    seed: {
      advertisers: [
        { advertiserId: kAdmin, name: 'Admin', role: 'ADMIN' },
        { advertiserId: kAnalyst, name: 'Analyst', role: 'ANALYST' },
        { advertiserId: kThird, name: 'Third', role: 'ADMIN' },
        { advertiserId: kOther, name: 'Other', role: 'ADMIN' }
      ],
      tokens: [
        { token: DEFAULT_TOKEN, appId: DEFAULT_APP.appId, advertiserIds: [kAdmin, kAnalyst, kThird], scopes: kAllScopes },
        { token: kBetaToken, appId: DEFAULT_APP.appId, advertiserIds: [kOther], scopes: kAllScopes }
      ]
    }
  })
  t.teardown(async () => { await em.close(); rmSync(dir, { recursive: true, force: true }) })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `${configHead(em, { qps: 2000, qpm: 120000, batchSize: 500 })}${destinations}
segments:
  - { name: first, inputs: [first.csv], destination: One }
  - { name: middle, inputs: [middle.csv], destination: Two }
  - { name: third, inputs: [third.csv], destination: Three }
`)
  for (const s of ['first', 'middle', 'third']) writeFileSync(join(dir, `${s}.csv`), people(s))
  writeFileSync(join(dir, 'acme.token'), DEFAULT_TOKEN)
  writeFileSync(join(dir, 'beta.token'), kBetaToken)
  const members = (advertiserId: string): number => em.state.snapshot().filter(a => a.advertiserId === advertiserId)
    .reduce((n, a) => n + Object.values(a.members).reduce((m, ids) => m + ids.length, 0), 0)
  return { dir, config, em, members, audiences: () => em.state.snapshot().length }
}

interface JsonOutcome { segment: string, destination: string, status: string, result?: { delivered: { add: number }, audience_id: string, advertiser_id: string }, error?: { code: string, message: string } }

t.test('the middle distribution goes to an Analyst\'s ad account: the first and third are delivered, exit 4', async t => {
  const w = await world(t, `destinations:
  - { name: One, integration: first-party, advertiser_id: "${kAdmin}", connection: acme }
  - { name: Two, integration: first-party, advertiser_id: "${kAnalyst}", connection: acme }
  - { name: Three, integration: first-party, advertiser_id: "${kThird}", connection: acme }`)
  const connected = await run(['connect', 'tiktok', '--config', w.config, '--name', 'acme', '--access-token-file', join(w.dir, 'acme.token')])
  t.equal(connected.code, ExitCode.REAUTHORIZE, 'connect refuses the Analyst destination')

  const r = await run(['distribute', '--config', w.config, '--threads', '1', '--json'])
  t.equal(r.code, ExitCode.REAUTHORIZE, `exit 4, the most severe outcome: ${r.stderr}`)
  const out = JSON.parse(r.stdout) as { distributions: JsonOutcome[] }
  t.same(out.distributions.map(d => [d.segment, d.destination, d.status]), [['first', 'One', 'ok'], ['middle', 'Two', 'failed'], ['third', 'Three', 'ok']], 'every distribution is listed, in order')
  t.equal(out.distributions[0]!.result!.delivered.add, kRows)
  t.equal(out.distributions[2]!.result!.delivered.add, kRows)
  t.match(out.distributions[0]!.result, { advertiser_id: kAdmin, audience_id: /^\d{19}$/ }, 'snake_case result fields')
  t.match(out.distributions[1]!.error, { code: 'HP_ERR_API_REAUTHORIZE', message: /destination 'Two' is not activated; run: hashpipe connect tiktok/ })
  t.equal(w.members(kAdmin), kRows, 'first: all delivered')
  t.equal(w.members(kThird), kRows, 'third: all delivered')
  t.equal(w.em.state.snapshot().filter(a => a.advertiserId === kAnalyst).length, 0, 'nothing created for the Analyst\'s account')
  t.match(r.stderr, /1 of 3 distributions failed; hashpipe status --config/)

  const status = await run(['status', '--config', w.config, '--json'])
  const byName = new Map((JSON.parse(status.stdout) as { distributions: Array<{ segment: string, last_error: { code: string, message: string, at: string } | null }> }).distributions.map(d => [d.segment, d]))
  t.match(byName.get('middle')!.last_error, { code: 'HP_ERR_API_REAUTHORIZE', message: /not activated/, at: /^\d{4}-\d\d-\d\dT/ }, 'the error is kept on its distribution')
  t.equal(byName.get('first')!.last_error, null)
  const human = await run(['status', '--config', w.config])
  t.match(human.stdout, /middle → Two[\s\S]*last error: {4}HP_ERR_API_REAUTHORIZE \(at \d{4}-[^)]+\): destination 'Two' is not activated/)

  const text = await run(['distribute', '--config', w.config, '--threads', '1'])
  t.equal(text.code, ExitCode.REAUTHORIZE)
  t.match(text.stdout, /first → One \(advertiser \d+\)\n {2}audience \d+: 0 added[\s\S]*middle → Two \(advertiser \d+\)\n {2}FAILED HP_ERR_API_REAUTHORIZE: destination 'Two' is not activated[\s\S]*third → Three/, 'a line per distribution, the failed one included')
})

t.test('the middle distribution\'s token was revoked at TikTok: the others are delivered, exit 4', async t => {
  const w = await world(t, `destinations:
  - { name: One, integration: first-party-record-sync, advertiser_id: "${kAdmin}", connection: acme }
  - { name: Two, integration: first-party, advertiser_id: "${kOther}", connection: beta }
  - { name: Three, integration: first-party, advertiser_id: "${kThird}", connection: acme }`)
  t.equal((await run(['connect', 'tiktok', '--config', w.config, '--name', 'acme', '--access-token-file', join(w.dir, 'acme.token')])).code, 0)
  t.equal((await run(['connect', 'tiktok', '--config', w.config, '--name', 'beta', '--access-token-file', join(w.dir, 'beta.token')])).code, 0)
  w.em.state.tokens.get(kBetaToken)!.revoked = true

  const r = await run(['distribute', '--config', w.config, '--threads', '1', '--json'])
  t.equal(r.code, ExitCode.REAUTHORIZE, r.stderr)
  const out = JSON.parse(r.stdout) as { distributions: JsonOutcome[] }
  t.same(out.distributions.map(d => d.status), ['ok', 'failed', 'ok'])
  t.equal(out.distributions[1]!.error!.code, 'HP_ERR_API_REAUTHORIZE')
  t.equal(w.members(kAdmin), kRows)
  t.equal(w.members(kThird), kRows)
  t.equal(w.members(kOther), 0)
  t.notMatch(r.stdout + r.stderr, kBetaToken, 'the token is never printed')
})

t.test('the exit code is the most severe outcome: 78 > 4 > 5 > 3 > 2 > 1 > 0', async t => {
  t.equal(mostSevereExitCode([]), 0)
  t.equal(mostSevereExitCode([0, 0]), 0)
  t.equal(mostSevereExitCode([0, 1, 0]), 1)
  t.equal(mostSevereExitCode([1, 2]), 2)
  t.equal(mostSevereExitCode([1, 3, 2]), 3)
  t.equal(mostSevereExitCode([3, 5, 1]), 5)
  t.equal(mostSevereExitCode([5, 4, 3]), 4)
  t.equal(mostSevereExitCode([4, 78, 5]), 78)
  t.equal(mostSevereExitCode([0, 99]), 1, 'a code outside the order counts as a failure')
})
