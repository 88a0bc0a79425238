// connect (the real OAuth flow against the emulator's consent page), activation refusals,
// status and doctor, through the CLI. The token must never reach stdout or stderr.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync, statSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP } from '../../adapters/emulator/emulator-state.js'
import { runCli } from '../helpers/cli.js'
import { configHead } from '../helpers/config-head.js'

const run = async (args: string[], onStdout?: (text: string) => void): ReturnType<typeof runCli> =>
  await runCli(args, { env: { TIKTOK_APP_SECRET: DEFAULT_APP.secret }, ...(onStdout !== undefined ? { onStdout } : {}) })

t.test('OAuth connect, activation, analyst refusal, distribute, status and doctor', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-connect-'))
  const em = await startEmulator({ limits: { qps: 1000, qpm: 60000, advertiserQps: 1000 } })
  t.teardown(async () => { await em.close(); rmSync(dir, { recursive: true, force: true }) })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(join(dir, 'seg.csv'), 'email\na@example.com\nb@example.com\n')
  writeFileSync(config, `${configHead(em, { qps: 500, qpm: 30000, batchSize: null })}destinations:
  - { name: Admin, integration: first-party, advertiser_id: "7123456789012345678", connection: acme }
  - { name: Analyst, integration: first-party, advertiser_id: "7123456789012345679", connection: acme }
segments:
  - { name: seg, inputs: [seg.csv], destination: Admin }
  - { name: seg2, inputs: [seg.csv], destination: Analyst }
`)
  const connected = await run(['connect', 'tiktok', '--config', config, '--name', 'acme', '--timeout', '20'], text => {
    const url = /http:\/\/\S+\/portal\/auth\S+/.exec(text)?.[0]
    if (url !== undefined) void fetch(url).then(r => r.text())
  })
  t.equal(connected.code, 4, 'exit 4: one destination refused')
  t.match(connected.stdout, /destination 'Admin': activated \(role ADMIN\)/)
  t.match(connected.stdout, /destination 'Analyst': refused: .*ANALYST.*Admin or Ad Account Operator/)
  const tokenFile = join(dir, 'state', 'tokens', 'acme.token')
  t.equal(statSync(tokenFile).mode & 0o777, 0o600)
  const token = readFileSync(tokenFile, 'utf8').trim()
  t.notMatch(connected.stdout + connected.stderr, token, 'the token is never printed')

  const analyst = await run(['distribute', '--config', config, '--segment', 'seg2'])
  t.equal(analyst.code, 4)
  t.match(analyst.stderr, /destination 'Analyst' is not activated; run: hashpipe connect tiktok/)
  const ok = await run(['distribute', '--config', config, '--segment', 'seg', '--json'])
  t.equal(ok.code, 0, ok.stderr)
  t.equal(JSON.parse(ok.stdout).distributions[0].result.delivered.add, 2)

  const status = await run(['status', '--config', config, '--json'])
  const seg = JSON.parse(status.stdout).distributions.find((d: { segment: string }) => d.segment === 'seg')
  t.same(seg.delivered, { EMAIL_SHA256: 2 })
  t.match(seg.audience_id, /^\d{19}$/)
  t.equal(seg.runs[0].outcome, 'succeeded')
  t.equal(seg.matched_reach, 0, 'cover_num is 0 below 1000 members')

  const doctor = await run(['doctor', '--config', config])
  t.equal(doctor.code, 1, 'the analyst destination fails a check')
  t.match(doctor.stdout, /ok {3}connection valid: acme/)
  t.match(doctor.stdout, /FAIL permission level: Analyst/)
  t.match(doctor.stdout, /ok {3}segment name and audience id aligned: seg/)
  t.notMatch(doctor.stdout + doctor.stderr + status.stdout, token)
})
