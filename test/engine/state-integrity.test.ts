// State you can trust: a damaged state.db is refused at open (HP_ERR_STATE_CORRUPT) before any
// TikTok call, doctor reports it, the way out the message names works (no second audience), and
// the database files are private. (A lost state.db: distribute-audience-lookup.test.ts.)
import t from 'tap'
import { existsSync, mkdtempSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync, closeSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { StateStore, DB_FILE } from '../../engine/state/state-store.js'
import { kAdv, kCreate, members, run, stateWorld } from '../helpers/state-world.js'

/** The page (1-based) holding the root of `index`, read from the schema, and the page size. */
function indexPage (file: string, index: string): { offset: number, size: number } {
  const db = new Database(file, { readonly: true })
  try {
    const root = db.prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?').pluck().get(index) as number
    const size = db.pragma('page_size', { simple: true }) as number
    return { offset: (root - 1) * size, size }
  } finally {
    db.close()
  }
}

function readPage (file: string, at: { offset: number, size: number }): Buffer {
  const fd = openSync(file, 'r')
  try {
    const b = Buffer.alloc(at.size)
    readSync(fd, b, 0, at.size, at.offset)
    return b
  } finally { closeSync(fd) }
}

function writePage (file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+')
  try { writeSync(fd, bytes, 0, bytes.length, offset) } finally { closeSync(fd) }
}

const apiCalls = (em: Awaited<ReturnType<typeof startEmulator>>): number => [...em.stats].filter(([k]) => k.includes('/open_api/')).reduce((n, [, v]) => n + v, 0)

t.test('bytes flipped in the unique index of distributions: refused before any TikTok call; doctor reports it; the way out works', async t => {
  const w = await stateWorld(t, 'hp-integrity-')
  const first = await run(['distribute', '--config', w.config, '--threads', '1'])
  t.equal(first.code, 0, first.stderr)
  t.equal(members(w.em), 1500)

  // The damage the chaos suite found: an index entry whose key no longer matches its row, which
  // SQLite's quick_check does not see (it does not compare index entries with rows).
  const at = indexPage(w.db, 'sqlite_autoindex_distributions_1')
  const page = readPage(w.db, at)
  const key = page.indexOf(Buffer.from('loyal'))
  t.ok(key > 0, 'the index page holds the key')
  page.write('LOYAL', key)
  writePage(w.db, at.offset, page)
  const probe = new Database(w.db, { readonly: true })
  t.equal(probe.pragma('quick_check', { simple: true }), 'ok', 'quick_check alone misses this damage')
  t.match(probe.pragma('integrity_check') as Array<{ integrity_check: string }>, [{ integrity_check: /missing from index sqlite_autoindex_distributions_1|sqlite_autoindex_distributions_1/ }])
  probe.close()

  w.em.stats.clear()
  const refused = await run(['distribute', '--config', w.config, '--threads', '1'])
  t.equal(refused.code, 1, 'refused')
  t.match(refused.stderr, new RegExp(`the state database '${w.db.replaceAll('/', '\\/')}' is damaged \\(SQLite: .*sqlite_autoindex_distributions_1`))
  t.match(refused.stderr, /mv '.*state\.db' '.*state\.db\.damaged'/, 'the message names the way out')
  t.equal(apiCalls(w.em), 0, 'no TikTok call was made')
  t.equal(w.em.state.snapshot().length, 1, 'no second audience')

  const doctor = await run(['doctor', '--config', w.config])
  t.equal(doctor.code, 1)
  t.match(doctor.stdout, /FAIL state database intact: .*state\.db: the state database .* is damaged/)
  const status = await run(['status', '--config', w.config])
  t.equal(status.code, 1, 'status refuses it too')

  // The way out the message names: move it aside, connect again, distribute.
  renameSync(w.db, `${w.db}.damaged`)
  for (const f of [`${w.db}-wal`, `${w.db}-shm`]) if (existsSync(f)) renameSync(f, `${f}.damaged`)
  await w.connect()
  w.em.stats.clear()
  const again = await run(['distribute', '--config', w.config, '--threads', '1', '--json'])
  t.equal(again.code, 0, again.stderr)
  t.equal(w.em.stats.get(kCreate) ?? 0, 0, 'no audience created')
  t.equal(w.em.state.snapshot().length, 1, 'exactly one audience')
  t.equal(JSON.parse(again.stdout).distributions[0].result.audience_id, w.em.state.snapshot()[0]!.audienceId, 'the existing audience is used')
  t.equal(members(w.em), 1500)
  const healthy = await run(['doctor', '--config', w.config])
  t.match(healthy.stdout, /ok {3}state database intact: .*state\.db: integrity_check ok/)
})

t.test('garbage over the index\'s root page: refused at open, with HP_ERR_STATE_CORRUPT, before anything is read', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-integrity-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const state = join(dir, 'state')
  const s = StateStore.open(state)
  s.distributions.ensure('loyal', 'Acme', kAdv)
  s.close()
  const file = join(state, DB_FILE)
  const at = indexPage(file, 'sqlite_autoindex_distributions_1')
  writePage(file, at.offset, Buffer.alloc(at.size, 0xa5))
  t.throws(() => StateStore.open(state), { code: 'HP_ERR_STATE_CORRUPT', message: /is damaged \(SQLite: .+\); nothing was read from it and nothing was sent\. Restore it from a backup, or move it aside/ })
  t.notOk(existsSync(join(state, 'lock')), 'a refused open releases the lock')

  writeFileSync(file, Buffer.alloc(8192, 0x42))
  t.throws(() => StateStore.open(state), { code: 'HP_ERR_STATE_CORRUPT' }, 'not a database at all')
})

t.test('state.db and its -wal and -shm files are 0600; an older 0644 database is tightened', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-integrity-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const state = join(dir, 'state')
  const s = StateStore.open(state)
  s.distributions.ensure('loyal', 'Acme', kAdv)
  const file = join(state, DB_FILE)
  for (const f of [file, `${file}-wal`, `${file}-shm`]) t.equal(statSync(f).mode & 0o777, 0o600, `${f.slice(file.length - 8)} is 0600`)
  s.close()
  chmodSync(file, 0o644)
  const again = StateStore.open(state)
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.equal(statSync(`${file}-wal`).mode & 0o777, 0o600)
  again.close()
})
