// SQLITE_FULL from the state database, wherever it surfaces (a statement, a pragma, the COMMIT
// of a transaction: in WAL mode a full disk often shows only there), as HP_ERR_DISK_FULL naming
// the database file. Done once on the connection, so no store has to remember it per statement.
import type Database from 'better-sqlite3'
import { asDiskFull } from '../../pipeline/disk-full.js'

type Fn = (...args: never[]) => unknown

export function guardDiskFull (db: Database.Database, file: string): Database.Database {
  const full = (err: unknown): unknown => asDiskFull(err, { path: file, doing: `cannot write the state database ${file}`, elsewhere: 'move state_dir to a larger disk' })
  // self undefined: the caller's `this` (a transaction passes its own to fn).
  const guard = <F extends Fn>(fn: F, self: unknown): F => (function (this: unknown, ...args: Parameters<F>) {
    try {
      return fn.apply(self ?? this, args)
    } catch (err) {
      throw full(err)
    }
  }) as F

  const prepare = db.prepare.bind(db)
  db.prepare = ((source: string) => {
    const statement = prepare(source)
    for (const m of ['run', 'get', 'all', 'iterate'] as const) statement[m] = guard(statement[m] as Fn, statement) as never
    return statement
  }) as typeof db.prepare

  const transaction = db.transaction.bind(db)
  db.transaction = ((fn: Fn) => {
    const t = transaction(fn) as unknown as Fn & Record<'deferred' | 'immediate' | 'exclusive', Fn>
    const out = Object.assign(guard(t, undefined), {
      default: guard(t, undefined),
      deferred: guard(t.deferred, undefined),
      immediate: guard(t.immediate, undefined),
      exclusive: guard(t.exclusive, undefined)
    })
    return out
  }) as unknown as typeof db.transaction

  db.exec = guard(db.exec, db) as typeof db.exec
  db.pragma = guard(db.pragma, db) as typeof db.pragma
  return db
}
