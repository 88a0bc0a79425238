// What every store over the state database shares: the connection, the clock its timestamps
// come from, and its statements, prepared once when the store is made so that a query the
// schema no longer fits fails at open rather than in the middle of a run. Keyed by name, so a
// store reaches a statement without a lookup that could miss.
import type { Database, Statement } from 'better-sqlite3'

export abstract class StateTable<K extends string> {
  protected readonly db: Database
  protected readonly now: () => string
  protected readonly q: Readonly<Record<K, Statement>>

  constructor (db: Database, now: () => string, sql: Readonly<Record<K, string>>) {
    this.db = db
    this.now = now
    const q: Partial<Record<K, Statement>> = {}
    for (const name of Object.keys(sql) as K[]) q[name] = db.prepare(sql[name])
    this.q = q as Record<K, Statement>
  }
}
