import t from 'tap'

interface Test { teardown (fn: () => void): void }
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import Database from 'better-sqlite3'
import { StateStore, DB_FILE } from '../../engine/state/state-store.js'
import { MIGRATIONS } from '../../engine/state/migrations.js'
import { LOCK_FILE } from '../../engine/state/state-lock.js'
import { TokenStore } from '../../engine/state/token-store.js'
import { CANARY_SECRETS } from '../helpers/canary.js'

const kStoreModule = new URL('../../engine/state/state-store.js', import.meta.url).href
const kAdvertiser = '7123456789012345678'
const kToken = CANARY_SECRETS[0]!.plain

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-state-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'state')
}

/** A child process that opens the store, runs `body`, prints READY and then waits to be killed. */
async function holder (t: Test, dir: string, body = ''): Promise<ChildProcess> {
  const code = `
    import { StateStore } from ${JSON.stringify(kStoreModule)}
    const store = StateStore.open(${JSON.stringify(dir)})
    ${body}
    process.stdout.write('READY\\n')
    setInterval(() => {}, 1000)
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout!.setEncoding('utf8')
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: string) => { out += c; if (out.includes('READY')) resolve() })
    child.once('exit', code => { reject(new Error(`holder exited with ${code}`)) })
  })
  return child
}

async function kill9 (child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

t.test('open: 0700 directory, WAL, migrations applied once', async t => {
  const dir = tempDir(t)
  const s1 = StateStore.open(dir)
  t.same(s1.migrated, MIGRATIONS.map(m => m.version))
  t.equal(s1.schemaVersion, MIGRATIONS.at(-1)!.version)
  t.equal(s1.journalMode, 'wal')
  t.equal(statSync(dir).mode & 0o777, 0o700)
  s1.close()
  s1.close()
  const s2 = StateStore.open(dir)
  t.same(s2.migrated, [], 'reopening applies nothing')
  s2.close()
  const db = new Database(join(dir, DB_FILE), { readonly: true })
  t.same(db.prepare('SELECT version, name FROM schema_migrations').all(), MIGRATIONS.map(m => ({ version: m.version, name: m.name })))
  db.close()
})

t.test('a failing migration rolls back whole; a newer schema is refused', async t => {
  const dir = tempDir(t)
  const latest = MIGRATIONS.at(-1)!.version
  const next = latest + 1
  const broken = [...MIGRATIONS, { version: next, name: 'broken', sql: 'CREATE TABLE extra (a INTEGER); INSERT INTO missing VALUES (1);' }]
  t.throws(() => StateStore.open(dir, { migrations: broken }), { code: 'HP_ERR_STATE_IO', message: /no such table: missing/ })
  const s = StateStore.open(dir)
  t.equal(s.schemaVersion, latest, 'the product\'s versions applied, the broken one not recorded')
  s.close()
  const db = new Database(join(dir, DB_FILE), { readonly: true })
  t.same(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'extra'").get(), { n: 0 }, 'no half-applied table')
  db.close()

  const s3 = StateStore.open(dir, { migrations: [...MIGRATIONS, { version: next, name: 'extra', sql: 'CREATE TABLE extra (a INTEGER) STRICT;' }] })
  t.same(s3.migrated, [next])
  s3.close()
  t.throws(() => StateStore.open(dir), { code: 'HP_ERR_STATE_VERSION', message: new RegExp(`schema version ${next}, newer than this hashpipe understands \\(${latest}\\); upgrade hashpipe`) })
  t.notOk(existsSync(join(dir, LOCK_FILE)), 'a refused open releases the lock')
})

t.test('single writer: same process, live child, stale takeover', async t => {
  const dir = tempDir(t)
  const s = StateStore.open(dir)
  t.throws(() => StateStore.open(dir), { code: 'HP_ERR_STATE_LOCKED', message: new RegExp(`in use by another hashpipe process \\(pid ${process.pid}\\)`) })
  s.close()
  t.notOk(existsSync(join(dir, LOCK_FILE)), 'close removes the lock')

  const child = await holder(t, dir)
  const err = t.throws(() => StateStore.open(dir), { code: 'HP_ERR_STATE_LOCKED' }) as Error
  t.match(err.message, `pid ${child.pid}`)
  t.match(err.message, /wait for it to finish\. If no such process is running, remove '.*lock'/)
  await kill9(child)
  t.equal(Number(readFileSync(join(dir, LOCK_FILE), 'utf8').split('\n')[0]), child.pid, 'SIGKILL left its lock behind')
  const taken = StateStore.open(dir)
  t.equal(Number(readFileSync(join(dir, LOCK_FILE), 'utf8').split('\n')[0]), process.pid, 'stale lock taken over')
  taken.close()
})

t.test('lock files that are empty or from another host', async t => {
  const dir = tempDir(t)
  StateStore.open(dir).close()
  const lock = join(dir, LOCK_FILE)
  writeFileSync(lock, '')
  t.throws(() => StateStore.open(dir), { code: 'HP_ERR_STATE_LOCKED', message: /a process that is starting/ })
  const old = new Date(Date.now() - 60_000)
  utimesSync(lock, old, old)
  StateStore.open(dir).close()
  writeFileSync(lock, '1\nsome-other-host\nabcdef\n')
  t.throws(() => StateStore.open(dir), { code: 'HP_ERR_STATE_LOCKED', message: /pid 1 on host some-other-host/ })
})

t.test('tokens: 0600 files in a 0700 dir, atomic replace, refused when readable by others', async t => {
  const dir = tempDir(t)
  const s = StateStore.open(dir)
  t.teardown(() => s.close())
  const tokens = s.tokens
  t.notOk(tokens.has('acme'))
  t.throws(() => tokens.read('acme'), { code: 'HP_ERR_API_REAUTHORIZE', exitCode: 4, message: /no access token is stored for connection 'acme'; run: hashpipe connect tiktok/ })
  tokens.write('acme', kToken)
  const file = tokens.path('acme')
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.equal(statSync(tokens.dir).mode & 0o777, 0o700)
  const secret = tokens.read('acme')
  t.equal(secret.reveal(), kToken)
  t.equal(JSON.stringify({ secret }), '{"secret":"[redacted]"}')
  t.notMatch(inspect(secret), kToken)

  tokens.write('acme', 'replacement-token')
  t.equal(new TokenStore(dir).read('acme').reveal(), 'replacement-token')
  t.same(readdirSync(tokens.dir), ['acme.token'], 'no temp files left behind')
  t.throws(() => tokens.write('acme', 'has space'), { code: 'HP_ERR_USAGE' })
  t.throws(() => tokens.write('acme', ''), { code: 'HP_ERR_USAGE' })
  t.equal(tokens.read('acme').reveal(), 'replacement-token', 'a refused write leaves the old token')

  chmodSync(file, 0o644)
  t.throws(() => tokens.read('acme'), { code: 'HP_ERR_STATE_INSECURE', message: /readable by other users \(mode 0644\); run: chmod 600/ })
  chmodSync(file, 0o600)
  for (const bad of ['../escape', 'a/b', '', '.hidden']) t.throws(() => tokens.path(bad), { code: 'HP_ERR_USAGE' }, bad)
  tokens.remove('acme')
  t.notOk(tokens.has('acme'))
  t.notOk(readFileSync(join(dir, DB_FILE)).includes(Buffer.from(kToken)), 'the token never went to the database')
})

t.test('catalog: connections, destinations, segments', async t => {
  const s = StateStore.open(tempDir(t), { now: () => new Date('2026-01-02T03:04:05Z') })
  t.teardown(() => s.close())
  const c = s.catalog.putConnection({ name: 'acme', advertiserIds: [kAdvertiser, '9007199254740993001'], scopes: [3, 30, 31] })
  t.same(c, { name: 'acme', advertiserIds: [kAdvertiser, '9007199254740993001'], scopes: [3, 30, 31], createdAt: '2026-01-02T03:04:05.000Z', updatedAt: '2026-01-02T03:04:05.000Z' })
  t.throws(() => s.catalog.putConnection({ name: 'x', advertiserIds: ['123'], scopes: [] }), { code: 'HP_ERR_STATE_INVALID', message: /exactly 19 digits/ })

  s.catalog.putDestination({ name: 'Acme US', advertiserId: kAdvertiser, integration: 'first-party', connection: 'acme', region: 'US' })
  const active = s.catalog.activateDestination('Acme US', 'OPERATOR')
  t.equal(active.role, 'OPERATOR')
  t.equal(active.activatedAt, '2026-01-02T03:04:05.000Z')
  t.equal(s.catalog.putDestination({ name: 'Acme US', advertiserId: kAdvertiser, integration: 'first-party', connection: 'acme', region: 'US' }).activatedAt, '2026-01-02T03:04:05.000Z', 'unchanged: stays activated')
  const moved = s.catalog.putDestination({ name: 'Acme US', advertiserId: '7123456789012345670', integration: 'first-party', connection: 'acme', region: 'US' })
  t.same([moved.role, moved.activatedAt], [null, null], 'a new advertiser voids the activation')
  t.throws(() => s.catalog.activateDestination('nope', null), { code: 'HP_ERR_STATE_MISSING' })
  s.catalog.putSegment('loyal', 'first-party')
  t.same(s.catalog.segments().map(x => x.name), ['loyal'])
  t.same(s.catalog.connections().map(x => x.name), ['acme'])
})

t.test('distributions: the audience id is recorded once', async t => {
  const s = StateStore.open(tempDir(t))
  t.teardown(() => s.close())
  const d = s.distributions.ensure('loyal', 'Acme US', kAdvertiser)
  t.equal(s.distributions.ensure('loyal', 'Acme US', kAdvertiser).id, d.id, 'created once')
  t.equal(d.advertiserId, kAdvertiser)
  s.distributions.recordAudienceRequest(d.id, 'loyal')
  t.equal(s.distributions.get(d.id).audienceName, 'loyal')
  t.equal(s.distributions.setAudienceId(d.id, '1790000000000000001').audienceId, '1790000000000000001')
  t.equal(s.distributions.setAudienceId(d.id, '1790000000000000001').audienceId, '1790000000000000001', 'same id again is a no-op')
  t.throws(() => s.distributions.setAudienceId(d.id, '1790000000000000002'), { code: 'HP_ERR_STATE_CONFLICT', message: /already has audience 1790000000000000001; refusing to record a second/ })
  t.throws(() => s.distributions.recordAudienceRequest(d.id, 'again'), { code: 'HP_ERR_STATE_CONFLICT', message: /must not create another/ })
  const other = s.distributions.ensure('loyal-eu', 'Acme EU', '7123456789012345670')
  t.throws(() => s.distributions.setAudienceId(other.id, '1790000000000000001'), /UNIQUE/, 'one audience id belongs to one distribution')
  t.throws(() => s.distributions.setAudienceId(other.id, 1790 as unknown as string), { code: 'HP_ERR_STATE_INVALID' })
  s.distributions.ensure('loyal', 'Acme EU', '7123456789012345670')
  t.same(s.distributions.forSegment('loyal').map(x => x.destination), ['Acme US', 'Acme EU'], 'doctor can see a segment in two accounts')
  s.distributions.setMatchedReach(d.id, 12345, '2026-01-01T00:00:00.000Z')
  s.distributions.setLastError(d.id, { code: 'HP_ERR_API_UNAVAILABLE', message: 'TikTok unavailable' })
  t.match(s.distributions.get(d.id), { matchedReach: 12345, matchedReachAt: '2026-01-01T00:00:00.000Z', lastError: { code: 'HP_ERR_API_UNAVAILABLE', message: 'TikTok unavailable', at: /^\d{4}-\d\d-\d\dT/ } })
  s.distributions.setLastError(d.id, null)
  t.equal(s.distributions.get(d.id).lastError, null)
})

t.test('runs, checkpoints and the batch ledger', async t => {
  const s = StateStore.open(tempDir(t))
  t.teardown(() => s.close())
  const d = s.distributions.ensure('loyal', 'Acme US', kAdvertiser)
  const run = s.runs.start({ id: 'run-1', distributionId: d.id })
  t.equal(run.outcome, 'running')
  t.throws(() => s.runs.start({ id: 'run-2', distributionId: d.id }), { code: 'HP_ERR_STATE_CONFLICT', message: /unfinished run run-1/ })
  s.runs.setPhase('run-1', 'deliver')
  s.runs.putCheckpoint('run-1', 'inputs', [{ size: 10, mtimeMs: 1, sha256: 'ab' }])
  t.same(s.runs.checkpoint('run-1', 'inputs'), [{ size: 10, mtimeMs: 1, sha256: 'ab' }])

  const key = { runId: 'run-1', idSchema: 'EMAIL_SHA256', action: 'add' } as const
  s.ledger.sending({ ...key, batchIndex: 0, firstOffset: 0, count: 1000, checksum: 'c0' })
  s.ledger.acked({ ...key, batchIndex: 0 }, { key: 'EMAIL_SHA256/add', value: 1000 })
  s.ledger.sending({ ...key, batchIndex: 1, firstOffset: 1000, count: 1000, checksum: 'c1' })
  t.same(s.ledger.inFlight('run-1').map(b => b.batchIndex), [1])
  t.throws(() => s.ledger.sending({ ...key, batchIndex: 1, firstOffset: 1000, count: 999 }), { code: 'HP_ERR_STATE_CONFLICT', message: /no longer matches the plan/ })
  t.equal(s.ledger.sending({ ...key, batchIndex: 1, firstOffset: 1000, count: 1000, checksum: 'c1' }).attempts, 2, 'a resend counts an attempt')
  t.equal(s.ledger.sending({ ...key, batchIndex: 0, firstOffset: 0, count: 1000, checksum: 'c0' }).status, 'acked', 'an acked batch stays acked')
  t.throws(() => s.ledger.acked({ ...key, batchIndex: 7 }), { code: 'HP_ERR_STATE_MISSING', message: /never recorded as sent/ })
  t.throws(() => s.distributions.commitDelivered(d.id, 'run-1', { snapshot: 's', counts: {} }), { code: 'HP_ERR_STATE_CONFLICT', message: /1 batch TikTok has not acknowledged/ })
  s.ledger.acked({ ...key, batchIndex: 1 })
  t.same(s.ledger.totals('run-1'), [{ idSchema: 'EMAIL_SHA256', action: 'add', batches: 2, acked: 2, ackedIdentifiers: 2000 }])
  t.same([...s.ledger.ackedIndexes('run-1', 'EMAIL_SHA256', 'add')].sort(), [0, 1])

  const { distribution, run: done } = s.distributions.commitDelivered(d.id, 'run-1', { snapshot: '/spool/x.snap', counts: { EMAIL_SHA256: 2000 } }, { added: 2000 })
  t.match(distribution, { deliveredSnapshot: '/spool/x.snap', deliveredCounts: { EMAIL_SHA256: 2000 } })
  t.match(done, { outcome: 'succeeded', counts: { added: 2000 } })
  t.throws(() => s.runs.setPhase('run-1', 'x'), { message: /already succeeded/ })
  t.equal(s.runs.unfinished(d.id), undefined)

  s.runs.start({ id: 'run-2', distributionId: d.id, dryRun: true })
  t.equal(s.runs.abandon('run-2').outcome, 'abandoned')
  s.runs.start({ id: 'run-3', distributionId: d.id })
  t.match(s.runs.finish('run-3', 'failed', { error: { code: 'HP_ERR_API_TERMINAL', message: 'code 40002' } }), { outcome: 'failed', error: { code: 'HP_ERR_API_TERMINAL' } })
  t.same(s.runs.history(d.id).map(r => r.id).sort(), ['run-1', 'run-2', 'run-3'])
})

t.test('SIGKILL mid-run: acked batches survive, only in-flight ones are resent', async t => {
  const dir = tempDir(t)
  const child = await holder(t, dir, `
    const d = store.distributions.ensure('loyal', 'Acme US', '${kAdvertiser}')
    store.distributions.setAudienceId(d.id, '1790000000000000001')
    store.runs.start({ id: 'run-k', distributionId: d.id })
    for (let i = 0; i < 5; i++) {
      store.ledger.sending({ runId: 'run-k', idSchema: 'PHONE_SHA256', action: 'add', batchIndex: i, firstOffset: i * 10, count: 10 })
      if (i < 3) store.ledger.acked({ runId: 'run-k', idSchema: 'PHONE_SHA256', action: 'add', batchIndex: i }, { key: 'acked', value: i })
    }
  `)
  await kill9(child)
  const s = StateStore.open(dir)
  t.teardown(() => s.close())
  const d = s.distributions.find('loyal', 'Acme US')!
  t.equal(d.audienceId, '1790000000000000001')
  const run = s.runs.unfinished(d.id)!
  t.equal(run.id, 'run-k', 'the killed run is found to resume')
  t.same([...s.ledger.ackedIndexes('run-k', 'PHONE_SHA256', 'add')].sort(), [0, 1, 2])
  t.same(s.ledger.inFlight('run-k').map(b => b.batchIndex), [3, 4], 'only the in-flight batches to resend')
  t.equal(s.runs.checkpoint('run-k', 'acked'), 2)
})

t.test('racing takeovers of one stale lock: exactly one process wins', async t => {
  const dir = tempDir(t)
  StateStore.open(dir).close()
  const dead = spawn(process.execPath, ['-e', ''])
  await once(dead, 'exit')
  writeFileSync(join(dir, LOCK_FILE), `${dead.pid}\n${hostname()}\nfeedface\n`)
  const code = `
    import { StateStore } from ${JSON.stringify(kStoreModule)}
    try {
      StateStore.open(${JSON.stringify(dir)})
      process.stdout.write('GOT\\n')
      setInterval(() => {}, 1000)
    } catch (err) {
      process.stdout.write(err.code + '\\n')
    }
  `
  const children = Array.from({ length: 4 }, () => spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] }))
  t.teardown(() => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL') })
  const results = await Promise.all(children.map(async c => {
    let out = ''
    c.stdout!.setEncoding('utf8')
    for await (const chunk of c.stdout!) {
      out += chunk as string
      if (out.endsWith('\n')) break
    }
    return out.trim()
  }))
  t.same(results.filter(r => r === 'GOT').length, 1, `one winner: ${results.join(',')}`)
  t.same(results.filter(r => r !== 'GOT'), ['HP_ERR_STATE_LOCKED', 'HP_ERR_STATE_LOCKED', 'HP_ERR_STATE_LOCKED'])
  const winner = children[results.indexOf('GOT')]!
  t.equal(Number(readFileSync(join(dir, LOCK_FILE), 'utf8').split('\n')[0]), winner.pid)
})
