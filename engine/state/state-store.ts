// The embedded state under state_dir:
//
//   state_dir/            0700
//     lock                single-writer lock (pid); see state-lock.ts
//     state.db            SQLite, WAL: connections, destinations, segments, distributions,
//                         runs, checkpoints, batch ledger (migrations.ts); 0600, and so its
//                         -wal and -shm files (SQLite gives them the database file's mode)
//     tokens/<name>.token access tokens, 0600, never in the database (token-store.ts)
//
// Opening takes the lock first, so a second process on the same state_dir refuses before it
// touches the database. synchronous=FULL: a checkpoint that returned is on disk, which is what
// lets a SIGKILLed run resume without losing an acknowledged batch. A damaged database is
// refused before anything reads it (integrity.ts).
import { mkdirSync, openSync, closeSync, chmodSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { HashpipeError, StateError } from '../../pipeline/errors.js'
import { integrityProblems, isCorruptionError, stateCorrupt } from './integrity.js'
import { acquireStateLock, type StateLock } from './state-lock.js'
import { migrate, schemaVersion, MIGRATIONS, type Migration } from './migrations.js'
import { TokenStore } from './token-store.js'
import { Catalog } from './catalog.js'
import { RunStore } from './runs.js'
import { DistributionStore } from './distributions.js'
import { BatchLedger } from './batch-ledger.js'
import { guardDiskFull } from './db-disk-full.js'
import { UsageReportStore } from './usage-reports.js'
import { ConversionStore } from './conversions.js'
import { UploadFileStore } from './upload-files.js'

export const DB_FILE = 'state.db'

export interface StateStoreOptions {
  /** Clock for timestamps (tests). */
  now?: () => Date
  /** Migrations to apply (tests); defaults to the product's. */
  migrations?: readonly Migration[]
}

export class StateStore {
  readonly dir: string
  readonly tokens: TokenStore
  readonly catalog: Catalog
  readonly runs: RunStore
  readonly distributions: DistributionStore
  readonly ledger: BatchLedger
  readonly usageReports: UsageReportStore
  readonly conversions: ConversionStore
  readonly uploads: UploadFileStore
  /** Migration versions this open applied (empty when the schema was current). */
  readonly migrated: readonly number[]
  readonly #db: Database.Database
  readonly #lock: StateLock
  #closed = false

  private constructor (dir: string, db: Database.Database, lock: StateLock, migrated: number[], now: () => string) {
    this.dir = dir
    this.#db = db
    this.#lock = lock
    this.migrated = migrated
    this.tokens = new TokenStore(dir)
    this.catalog = new Catalog(db, now)
    this.runs = new RunStore(db, now)
    this.distributions = new DistributionStore(db, now, this.runs)
    this.ledger = new BatchLedger(db, now, this.runs)
    this.usageReports = new UsageReportStore(db, now)
    this.conversions = new ConversionStore(db, now)
    this.uploads = new UploadFileStore(db, now)
  }

  /** Opens (creating if needed) the state in `stateDir`; HP_ERR_STATE_LOCKED if another process has it. */
  static open (stateDir: string, options: StateStoreOptions = {}): StateStore {
    const dir = resolve(stateDir)
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
    } catch (err) {
      throw new StateError('HP_ERR_STATE_IO', `cannot create state directory '${dir}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check state_dir in the config`, { cause: err })
    }
    const lock = acquireStateLock(dir)
    const file = join(dir, DB_FILE)
    let db: Database.Database | undefined
    try {
      privateFiles(file)
      db = guardDiskFull(new Database(file), file)
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = FULL')
      db.pragma('foreign_keys = ON')
      db.pragma('busy_timeout = 5000')
      const problems = integrityProblems(db, 'open')
      if (problems.length > 0) throw stateCorrupt(file, problems)
      const clock = options.now ?? (() => new Date())
      const now = (): string => clock().toISOString()
      const migrated = migrate(db, options.migrations ?? MIGRATIONS, now)
      return new StateStore(dir, db, lock, migrated, now)
    } catch (err) {
      db?.close()
      lock.release()
      if (err instanceof HashpipeError) throw err
      if (isCorruptionError(err)) throw stateCorrupt(file, [(err as Error).message], err)
      throw new StateError('HP_ERR_STATE_IO', `cannot open the state database in '${dir}': ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * Opens the state for reading only, beside a writer that may be running (status): no lock, a
   * read-only connection (WAL readers never block the writer nor wait for it), no migration, and
   * nothing created. Where there is no state yet, `missing` is true and the store is an empty
   * one in memory, so the caller shows "nothing yet" the same way. A database older than this
   * hashpipe is migrated through open() when no writer holds it.
   */
  static openReadOnly (stateDir: string, options: StateStoreOptions = {}): StateStore & { missing: boolean } {
    const dir = resolve(stateDir)
    const file = join(dir, DB_FILE)
    const clock = options.now ?? (() => new Date())
    const now = (): string => clock().toISOString()
    const migrations = options.migrations ?? MIGRATIONS
    const noLock: StateLock = { path: join(dir, 'lock'), release () {} }
    if (!existsSync(file)) {
      const db = new Database(':memory:')
      migrate(db, migrations, now)
      return Object.assign(new StateStore(dir, db, noLock, [], now), { missing: true })
    }
    let db: Database.Database | undefined
    try {
      db = new Database(file, { readonly: true, fileMustExist: true })
      db.pragma('busy_timeout = 5000')
      const problems = integrityProblems(db, 'open')
      if (problems.length > 0) throw stateCorrupt(file, problems)
      const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0)
      const hasTable = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined
      const version = hasTable ? schemaVersion(db) : 0
      if (version < latest) {
        db.close()
        db = undefined
        // An older database: migrated by an ordinary open, unless a writer (an older hashpipe) has it.
        return Object.assign(StateStore.open(dir, options), { missing: false })
      }
      if (version > latest) throw new StateError('HP_ERR_STATE_VERSION', `the state database has schema version ${version}, newer than this hashpipe understands (${latest}); upgrade hashpipe`)
      return Object.assign(new StateStore(dir, db, noLock, [], now), { missing: false })
    } catch (err) {
      db?.close()
      if (err instanceof HashpipeError) throw err
      if (isCorruptionError(err)) throw stateCorrupt(file, [(err as Error).message], err)
      throw new StateError('HP_ERR_STATE_IO', `cannot read the state database in '${dir}': ${(err as Error).message}`, { cause: err })
    }
  }

  get schemaVersion (): number {
    return schemaVersion(this.#db)
  }

  /** SQLite's full integrity_check (slower than the check at open; for `doctor`). Empty when sound. */
  integrityProblems (): string[] {
    return integrityProblems(this.#db, 'full')
  }

  get journalMode (): string {
    return this.#db.pragma('journal_mode', { simple: true }) as string
  }

  /** Runs fn in one IMMEDIATE transaction across the stores. */
  transaction<T> (fn: () => T): T {
    return this.#db.transaction(fn).immediate()
  }

  /** Closes the database and releases the lock. Idempotent. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    try {
      this.#db.close()
    } finally {
      this.#lock.release()
    }
  }
}

/**
 * The database is created 0600 before SQLite opens it, so it never exists readable by others,
 * and SQLite creates its -wal and -shm files with the same mode. Files of an older state_dir
 * (0644 under a usual umask) are tightened.
 */
function privateFiles (file: string): void {
  closeSync(openSync(file, 'a', 0o600))
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(f)) chmodSync(f, 0o600)
  }
}
