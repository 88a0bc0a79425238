// Leak test (docs/operational-rules.md F, G): canary emails, phones and MAIDs go through every path —
// valid and rejected, hashed and pre-hashed, a poison row TikTok refuses, a token revoked
// mid-run, debug logging, progress lines and /metrics — with a canary access token and app
// secret. Neither their plain, normalized nor hashed forms may appear in any log line,
// stdout/stderr, progress output or metrics exposition.
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { runCli } from '../helpers/cli.js'
import { configHead } from '../helpers/config-head.js'
import hashCommand from '../../engine/commands/hash.js'
import { findCanaries, CANARY_EMAILS, CANARY_PHONES, CANARY_MAIDS, CANARY_SECRETS } from '../helpers/canary.js'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { kAllScopes } from '../../adapters/emulator/emulator-state.js'

const token = CANARY_SECRETS[0]!.plain
const secret = CANARY_SECRETS[1]!.plain
const appId = '7000000000000000009'
const kAdv = '7123456789012345678'

t.test('no canary leaks from hash or distribute, on success or failure', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-canary-'))
  const poison = createHash('sha256').update(CANARY_EMAILS[0]!.normalized[0]!).digest('hex')
  const em = await startEmulator({
    seed: { apps: [{ appId, secret }], advertisers: [{ advertiserId: kAdv, name: 'A', role: 'ADMIN' }], tokens: [{ token, appId, advertiserIds: [kAdv], scopes: kAllScopes }] },
    limits: { qps: 1000, qpm: 60000, advertiserQps: 1000 },
    faults: { poisonId: poison }
  })
  t.teardown(async () => { await em.close(); rmSync(dir, { recursive: true, force: true }) })

  const rows = ['email,phone,maid']
  for (const [i, e] of CANARY_EMAILS.entries()) rows.push(`${e.plain},${CANARY_PHONES[i]!.plain},${CANARY_MAIDS[i]!.plain}`)
  rows.push(`${CANARY_EMAILS[0]!.plain.trim()}x@@bad,${CANARY_PHONES[0]!.plain}99999,${CANARY_MAIDS[0]!.plain}Z`)
  rows.push(createHash('sha256').update(CANARY_EMAILS[1]!.normalized[0]!).digest('hex') + ',,')
  for (let i = 0; i < 300; i++) rows.push(`filler${i}@example.com,,`)
  const input = join(dir, 'in.csv')
  writeFileSync(input, rows.join('\n') + '\n')
  const env = { HASHPIPE_LOG_LEVEL: 'debug', TIKTOK_APP_SECRET: secret }
  const texts: string[] = []

  // hash: rejects file without values, debug log, non-TTY progress lines, /metrics scraped mid-run.
  const log = join(dir, 'hash.log')
  let metricsText = ''
  const hash = await runCli(['hash', input, '--out', join(dir, 'out.csv'), '--rejects', join(dir, 'rej.csv'), '--log-file', log, '--metrics-port', '0', '--progress', '--json', '--max-reject-ratio', '1'], { env })
  t.equal(hash.code, 0, hash.stderr)
  const metricsUrl = /metrics on (http:\S+)/.exec(hash.stderr)?.[1]
  t.ok(metricsUrl !== undefined, 'the metrics server was announced')
  texts.push(hash.stdout, hash.stderr, readFileSync(log, 'utf8'), readFileSync(join(dir, 'rej.csv'), 'utf8'))

  // /metrics scraped while a run is live: the hash command in-process, fed through stdin.
  const stdin = new PassThrough()
  let err = ''
  const sink = (): Writable => new Writable({ write (c: Buffer, _e, cb) { err += c.toString(); cb() } })
  const live = hashCommand(['-', '--type', 'email', '--out', join(dir, 'o2.csv'), '--metrics-port', '0', '--no-progress', '--batch-bytes', '1KiB', '--max-line-bytes', '512'], { stdin, stdout: sink(), stderr: sink(), env, signal: new AbortController().signal })
  stdin.write(rows.slice(1).map(r => r.split(',')[0]).join('\n') + '\n')
  while (!/metrics on/.test(err)) await new Promise(resolve => setTimeout(resolve, 20))
  const url = /metrics on (http:\S+)/.exec(err)![1]!
  // Until valid identifiers show: the first batches hold the canary rows, some of them rejects only.
  for (let i = 0; i < 300 && !/hashpipe_identifiers_total\{id_type="email",outcome="valid"\} [1-9]/.test(metricsText); i++) {
    await new Promise(resolve => setTimeout(resolve, 100))
    metricsText = await fetch(url).then(async r => await r.text())
  }
  stdin.end()
  t.equal(await live, 0)
  t.match(metricsText, /hashpipe_identifiers_total\{id_type="email",outcome="valid"\} [1-9]/, 'the scrape saw the live run')
  texts.push(metricsText, err)

  // distribute: poison row refused by TikTok, then the token revoked mid-run (exit 4), with debug logs.
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `${configHead(em, { appId, qps: 500, qpm: 30000, batchSize: 50 })}destinations:
  - { name: Acme, integration: first-party-record-sync, advertiser_id: "${kAdv}", connection: acme }
segments:
  - { name: seg, inputs: [in.csv], destination: Acme }
`)
  writeFileSync(join(dir, 'token'), token)
  const connect = await runCli(['connect', 'tiktok', '--config', config, '--name', 'acme', '--access-token-file', join(dir, 'token')], { env })
  t.equal(connect.code, 0, connect.stderr)
  const dlog = join(dir, 'dist.log')
  const dist = await runCli(['distribute', '--config', config, '--log-file', dlog], { env })
  t.equal(dist.code, 0, dist.stderr)
  t.match(dist.stdout, /1 refused by TikTok/, 'the poison row was isolated')
  em.faults.revokeTokenAfter = 0
  writeFileSync(input, rows.slice(0, 200).join('\n') + '\n')
  const revoked = await runCli(['distribute', '--config', config, '--log-file', dlog, '--allow-mass-delete'], { env })
  t.equal(revoked.code, 4, 'revoked token: re-authorization required')
  const status = await runCli(['status', '--config', config], { env })
  const doctor = await runCli(['doctor', '--config', config], { env })
  const validate = await runCli(['validate', '--config', config, '--json'], { env })
  texts.push(connect.stdout, connect.stderr, dist.stdout, dist.stderr, revoked.stdout, revoked.stderr, readFileSync(dlog, 'utf8'),
    status.stdout, status.stderr, doctor.stdout, doctor.stderr, validate.stdout, validate.stderr)
  t.ok(existsSync(join(dir, 'state', 'state.db')))
  texts.push(readFileSync(join(dir, 'state', 'state.db')).toString('latin1'))

  const all = texts.join('\n')
  t.ok(all.length > 2000, 'there was plenty of output to search')
  t.same(findCanaries(all), [], 'no canary form in any output, log, metrics or the state database')
})
