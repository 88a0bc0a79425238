// The state database and the log file on a full disk. SQLite's max_page_count makes it answer
// SQLITE_FULL, the code it gives for a full disk: from a statement, a transaction's body or its
// COMMIT path, exec and pragma, the guarded connection throws HP_ERR_DISK_FULL naming the
// database file, the SqliteError kept as cause, and the database stays usable. A log file on a
// full device (/dev/full) fails its write with HP_ERR_DISK_FULL naming it; logged, such errors
// carry no stack (theirs, or their cause's), while an unexpected error keeps its own.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { guardDiskFull } from '../../engine/state/db-disk-full.js'
import { createLogger, serializeError } from '../../engine/logger.js'
import { diskFullError } from '../../pipeline/disk-full.js'

function fullDb (t: { teardown: (fn: () => void) => void }): { db: Database.Database, file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hp-full-db-'))
  const file = join(dir, 'state.db')
  const db = guardDiskFull(new Database(file), file)
  t.teardown(() => { db.close(); rmSync(dir, { recursive: true, force: true }) })
  db.pragma('journal_mode = WAL')
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
  db.pragma(`max_page_count = ${String(db.pragma('page_count', { simple: true }))}`)
  return { db, file }
}

const big = 'x'.repeat(8192)

t.test('a statement on a full database: HP_ERR_DISK_FULL naming the file, cause SQLITE_FULL', async t => {
  const { db, file } = fullDb(t)
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  t.throws(() => insert.run(big), {
    code: 'HP_ERR_DISK_FULL',
    exitCode: 1,
    message: `cannot write the state database ${file}: no space left on the disk (SQLITE_FULL); free space on the filesystem holding ${file}, or move state_dir to a larger disk, then run again`,
    cause: { code: 'SQLITE_FULL', name: 'SqliteError' }
  })
  t.same(db.prepare('SELECT count(*) AS n FROM t').get(), { n: 0 }, 'still readable, nothing written')
  t.equal(insert.run('small').changes, 1, 'a write that fits still works')
})

t.test('a transaction on a full database: HP_ERR_DISK_FULL, rolled back', async t => {
  const { db, file } = fullDb(t)
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  const tx = db.transaction((n: number) => { for (let i = 0; i < n; i++) insert.run(big) })
  for (const variant of [tx, tx.immediate, tx.deferred, tx.exclusive]) {
    t.throws(() => variant(3), { code: 'HP_ERR_DISK_FULL', message: new RegExp(`holding ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`) })
  }
  t.same(db.prepare('SELECT count(*) AS n FROM t').get(), { n: 0 }, 'rolled back')
  t.throws(() => db.exec(`INSERT INTO t (v) VALUES ('${big}')`), { code: 'HP_ERR_DISK_FULL' }, 'exec')
  t.throws(() => db.prepare('SELECT * FROM nope'), { name: 'SqliteError', message: /no such table/ }, 'other SQLite errors pass through')
})

t.test('a log file on a full disk: HP_ERR_DISK_FULL naming it', async t => {
  const log = createLogger({ file: '/dev/full', level: 'info' })
  t.throws(() => { log.info('hello') }, {
    code: 'HP_ERR_DISK_FULL',
    message: 'cannot write the log file /dev/full: no space left on the disk (ENOSPC); free space on the filesystem holding /dev/full, or point --log-file elsewhere, then run again',
    cause: { code: 'ENOSPC' }
  })
})

t.test('logged, an expected error has no stack, nor its system cause; a bug keeps its stack', async t => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', errno: -28 })
  const s = serializeError(diskFullError(enospc, { path: '/x' }))
  t.equal(s['code'], 'HP_ERR_DISK_FULL')
  t.notOk('stack' in s, 'no stack on the HP_ERR_ error')
  t.same((s['cause'] as Record<string, unknown>)['code'], 'ENOSPC')
  t.notOk('stack' in (s['cause'] as Record<string, unknown>), 'none on its cause')
  t.ok('stack' in serializeError(new TypeError('a bug')), 'a bug keeps its stack')
  t.ok('stack' in serializeError(enospc), 'a system error on its own keeps its stack')
})
