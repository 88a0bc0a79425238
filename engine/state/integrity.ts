// Is the state database what it claims to be? A damaged index makes SQLite answer wrongly rather
// than fail: with the unique index of `distributions` broken, a lookup misses the existing row,
// a second one is inserted and a second TikTok audience follows. So the database is checked
// before anything reads it, and a damaged one is refused with HP_ERR_STATE_CORRUPT.
//
// At open: `quick_check` over the whole file (page and b-tree structure), and a full
// `integrity_check` of every table but `batches`. quick_check alone does not compare index
// entries with their rows, which is exactly the damage above; the per-table full check does,
// and those tables stay small (a row per distribution, run or checkpoint). `batches` is the one
// table that grows with the identifiers delivered; its rows go when their run commits
// (distributions.ts), so it holds only unfinished runs' batches. Measured on a 2-core machine:
// with 10,000 runs and their checkpoints for 20 distributions (5 MB, a year of daily runs) the
// checks take about 10-20 ms of CPU and the whole open about 40 ms; the same history with its
// 1,000,000 batch rows kept (183 MB) took 1.0 s for quick_check and 2.2 s for integrity_check,
// which is why batches are not kept after their run.
// `hashpipe doctor` runs the full integrity_check over everything.
import type { Database } from 'better-sqlite3'
import { HashpipeError, ExitCode } from '../../pipeline/errors.js'

export type IntegrityDepth = 'open' | 'full'

/** The problems SQLite reports (empty when the database is sound). */
export function integrityProblems (db: Database, depth: IntegrityDepth): string[] {
  const problems = new Set<string>()
  const collect = (pragma: string): void => {
    for (const row of db.pragma(pragma) as Array<Record<string, unknown>>) {
      // One line per problem, without SQLite's "*** in database main ***" heading.
      const text = String(Object.values(row)[0]).replace(/\*\*\* in database \w+ \*\*\*/g, '').replace(/\s+/g, ' ').trim()
      if (text !== 'ok' && text !== '') problems.add(text)
    }
  }
  if (depth === 'full') {
    collect('integrity_check(20)')
    return [...problems]
  }
  collect('quick_check(20)')
  if (problems.size > 0) return [...problems]
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'batches'").pluck().all() as string[]
  for (const name of tables) collect(`integrity_check("${name.replaceAll('"', '""')}")`)
  return [...problems]
}

export function isCorruptionError (err: unknown): boolean {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
}

/** The refusal: what is damaged, and two ways out that work. */
export function stateCorrupt (file: string, problems: readonly string[], cause?: unknown): HashpipeError {
  const shown = problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : '')
  return new HashpipeError('HP_ERR_STATE_CORRUPT',
    `the state database '${file}' is damaged (SQLite: ${shown}); nothing was read from it and nothing was sent. ` +
    'Restore it from a backup, or move it aside and start a new one: ' +
    `mv '${file}' '${file}.damaged' (with its -wal and -shm files, if any), connect again (hashpipe connect tiktok --config FILE --name CONNECTION, for each connection) ` +
    'and run hashpipe distribute --config FILE. ' +
    'Each distribution then finds its TikTok audience by name, so none is created twice; the first run adds the whole segment again, ' +
    'and identifiers removed from a Record Sync segment since its last delivery stay in its audience',
    ExitCode.FAILED, cause === undefined ? {} : { cause })
}
