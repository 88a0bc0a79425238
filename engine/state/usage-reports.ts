// The months a Data Marketplace usage report was written for, per destination. A report made
// again for the same month replaces the record (the newest file is the one to send).
import type { Database, Statement } from 'better-sqlite3'

export interface UsageReportRecord { destination: string, month: string, reportedAt: string, rows: number, output: string }

interface Row { destination: string, month: string, reported_at: string, rows: number, output: string }

export class UsageReportStore {
  readonly #now: () => string
  readonly #q: Record<string, Statement>

  constructor (db: Database, now: () => string) {
    this.#now = now
    this.#q = {
      put: db.prepare(`INSERT INTO usage_reports (destination, month, reported_at, rows, output) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (destination, month) DO UPDATE SET reported_at = excluded.reported_at, rows = excluded.rows, output = excluded.output`),
      get: db.prepare('SELECT * FROM usage_reports WHERE destination = ? AND month = ?'),
      latest: db.prepare('SELECT * FROM usage_reports WHERE destination = ? ORDER BY month DESC LIMIT 1')
    }
  }

  record (destination: string, month: string, rows: number, output: string): void {
    this.#q['put']!.run(destination, month, this.#now(), rows, output)
  }

  find (destination: string, month: string): UsageReportRecord | undefined {
    const r = this.#q['get']!.get(destination, month) as Row | undefined
    return r === undefined ? undefined : recordOf(r)
  }

  latest (destination: string): UsageReportRecord | undefined {
    const r = this.#q['latest']!.get(destination) as Row | undefined
    return r === undefined ? undefined : recordOf(r)
  }
}

const recordOf = (r: Row): UsageReportRecord => ({ destination: r.destination, month: r.month, reportedAt: r.reported_at, rows: r.rows, output: r.output })
