import t from 'tap'
import { PassThrough } from 'node:stream'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, forRun, forBatch, resolveLevel, LOG_LEVEL_ENV } from '../../engine/logger.js'
import { scrub } from '../../pipeline/scrub.js'
import { createIds } from '../../pipeline/ids.js'
import { HashpipeError } from '../../pipeline/errors.js'
import { CANARIES, CANARY_EMAILS, CANARY_MAIDS, CANARY_PHONES, CANARY_SECRETS, assertNoCanary, canaryForms } from '../helpers/canary.js'

function capture (): { stream: PassThrough, text: () => string, lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough()
  let buf = ''
  stream.setEncoding('utf8')
  stream.on('data', (c: string) => { buf += c })
  return {
    stream,
    text: () => buf,
    lines: () => buf.split('\n').filter(Boolean).map(l => JSON.parse(l) as Record<string, unknown>)
  }
}

t.test('level: option, then HASHPIPE_LOG_LEVEL, then info', async t => {
  t.equal(resolveLevel(undefined, {}), 'info')
  t.equal(resolveLevel(undefined, { [LOG_LEVEL_ENV]: 'DEBUG' }), 'debug')
  t.equal(resolveLevel('warn', { [LOG_LEVEL_ENV]: 'debug' }), 'warn')
  t.equal(resolveLevel(undefined, { [LOG_LEVEL_ENV]: '' }), 'info')
  t.throws(() => resolveLevel(undefined, { [LOG_LEVEL_ENV]: 'verbose' }), { code: 'HP_ERR_CONFIG_INVALID', exitCode: 78, message: /HASHPIPE_LOG_LEVEL/ })

  const out = capture()
  const log = createLogger({ stream: out.stream, env: { [LOG_LEVEL_ENV]: 'warn' } })
  log.info('hidden')
  log.warn('shown')
  t.same(out.lines().map(l => l['msg']), ['shown'])
  t.equal(out.lines()[0]!['name'], 'hashpipe')
})

t.test('JSON lines to a file', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-log-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'logs', 'run.jsonl')
  const log = createLogger({ file, level: 'info', env: {} })
  log.info({ rows: 3 }, 'one')
  log.info('two')
  log.flush()
  const lines = readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
  t.same(lines.map(l => [l['msg'], l['rows']]), [['one', 3], ['two', undefined]])
})

t.test('secret-named fields are censored at any depth up to four', async t => {
  const out = capture()
  const log = createLogger({ stream: out.stream, level: 'trace', env: {} })
  const [token, secret, code] = CANARY_SECRETS.map(s => s.plain)
  log.debug({
    token,
    access_token: token,
    headers: { 'Access-Token': token, authorization: `Bearer ${token!}` },
    tiktok: { secret, app: { app_secret: secret, auth_code: code } },
    config: { tiktok: { connection: { accessToken: token } } }
  }, 'request')
  assertNoCanary(t, out.text(), CANARY_SECRETS, 'debug log')
  const line = out.lines()[0]!
  t.equal(line['token'], '***')
  t.same(line['headers'], { 'Access-Token': '***', authorization: '***' })
  t.same(line['tiktok'], { secret: '***', app: { app_secret: '***', auth_code: '***' } })
})

t.test('identifiers that reach the logger by mistake are scrubbed', async t => {
  const out = capture()
  const log = forBatch(forRun(createLogger({ stream: out.stream, level: 'debug', env: {} }), { runId: 'r', command: 'hash' }), { batchId: 'b', seq: 1 })
  const email = CANARY_EMAILS[0]!.plain.trim()
  const phone = CANARY_PHONES[1]!.normalized[0]!
  const maid = CANARY_MAIDS[0]!.plain
  const hashed = canaryForms(CANARY_EMAILS[1]!).find(f => f.label.includes('sha256-hex'))!.needle

  log.debug(`row has ${email} and ${phone}`)
  log.info('value %s rejected', maid)
  log.warn({ row: { email, phone: CANARY_PHONES[0]!.plain }, digest: hashed }, 'context')

  const err = new HashpipeError('HP_ERR_API_TERMINAL', `TikTok said: invalid id ${hashed} for ${email}`)
  Object.assign(err, { body: JSON.stringify({ batch_data: [[hashed]] }), requestId: '2026abc', request: { email } })
  err.cause = new SyntaxError(`Unexpected token 'C', "${maid}" is not valid JSON`)
  log.error(err)
  log.error({ err }, 'delivery failed')
  log.fatal(new Error(`crash while handling ${phone}`))

  assertNoCanary(t, out.text(), CANARIES, 'logs at every level')
  const lines = out.lines()
  t.equal(lines.length, 6)
  for (const l of lines) t.match(l, { run_id: 'r', command: 'hash', batch_id: 'b', batch_seq: 1 }, 'child bindings on every line')
  const e = lines[3]!['err'] as Record<string, unknown>
  t.equal(e['code'], 'HP_ERR_API_TERMINAL')
  t.equal(e['requestId'], '2026abc', 'safe fields kept')
  t.notOk('body' in e, 'response bodies dropped')
  t.notOk('request' in e, 'request payloads dropped')
  t.match(e['cause'], { type: 'SyntaxError' })
  t.match(String(lines[3]!['msg']), /\[hex\] for \[email\]/)
})

t.test('scrub keeps what operators need', async t => {
  t.equal(scrub('line 18231 at byte 4412096 exceeds 512 bytes'), 'line 18231 at byte 4412096 exceeds 512 bytes')
  t.equal(scrub('advertiser 7123456789012345678 audience 123'), 'advertiser 7123456789012345678 audience 123')
  t.equal(scrub('call +1 415 555 0172 now'), 'call [phone] now')
})

t.test('ids: one generator per purpose, unique values', async t => {
  const ids = createIds()
  const runs = new Set(Array.from({ length: 100 }, () => ids.runId()))
  t.equal(runs.size, 100)
  const batch = ids.batchId()
  const run = ids.runId()
  t.match(run, /^[A-Za-z0-9_-]+$/, 'url-safe')
  t.not(batch.slice(0, 22), run.slice(0, 22), 'run and batch ids come from different generators')
  t.not(createIds().runId().slice(0, 22), run.slice(0, 22), 'each process-level instance has its own prefix')
})
