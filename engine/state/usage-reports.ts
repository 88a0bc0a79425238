// The months a Data Marketplace usage report was written for, per destination. A report made
// again for the same month replaces the record (the newest file is the one to send).
import type { Database } from 'better-sqlite3'
import { StateTable } from './state-table.js'

export interface UsageReportRecord { destination: string, month: string, reportedAt: string, rows: number, output: string }

interface Row { destination: string, month: string, reported_at: string, rows: number, output: string }

const kSql = {
  put: `INSERT INTO usage_reports (destination, month, reported_at, rows, output) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (destination, month) DO UPDATE SET reported_at = excluded.reported_at, rows = excluded.rows, output = excluded.output`,
  get: 'SELECT * FROM usage_reports WHERE destination = ? AND month = ?',
  latest: 'SELECT * FROM usage_reports WHERE destination = ? ORDER BY month DESC LIMIT 1'
}

export class UsageReportStore extends StateTable<keyof typeof kSql> {
  constructor (db: Database, now: () => string) {
    super(db, now, kSql)
  }

  record (destination: string, month: string, rows: number, output: string): void {
    this.q.put.run(destination, month, this.now(), rows, output)
  }

  find (destination: string, month: string): UsageReportRecord | undefined {
    const r = this.q.get.get(destination, month) as Row | undefined
    return r === undefined ? undefined : recordOf(r)
  }

  latest (destination: string): UsageReportRecord | undefined {
    const r = this.q.latest.get(destination) as Row | undefined
    return r === undefined ? undefined : recordOf(r)
  }
}

const recordOf = (r: Row): UsageReportRecord => ({ destination: r.destination, month: r.month, reportedAt: r.reported_at, rows: r.rows, output: r.output })
