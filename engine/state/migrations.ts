// Versioned schema migrations. Each one runs in its own IMMEDIATE transaction together with its
// row in schema_migrations, so a crash mid-migration leaves the previous version intact, and
// running them again is a no-op. Append new migrations; never edit an applied one.
import type { Database } from 'better-sqlite3'
import { StateError } from '../../pipeline/errors.js'

export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE connections (
        name TEXT PRIMARY KEY,
        advertiser_ids TEXT NOT NULL,        -- JSON array of strings
        scopes TEXT NOT NULL,                -- JSON array of integers
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE destinations (
        name TEXT PRIMARY KEY,
        advertiser_id TEXT NOT NULL CHECK (length(advertiser_id) = 19 AND advertiser_id NOT GLOB '*[^0-9]*'),
        integration TEXT NOT NULL,
        connection TEXT NOT NULL,
        region TEXT NOT NULL,
        role TEXT,
        activated_at TEXT,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE segments (
        name TEXT PRIMARY KEY,
        data_type TEXT NOT NULL,
        first_seen_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE distributions (
        id INTEGER PRIMARY KEY,
        segment TEXT NOT NULL,
        destination TEXT NOT NULL,
        advertiser_id TEXT NOT NULL,
        audience_id TEXT,
        audience_name TEXT,
        audience_requested_at TEXT,
        audience_created_at TEXT,
        created_at TEXT NOT NULL,
        delivered_snapshot TEXT,
        delivered_counts TEXT NOT NULL DEFAULT '{}',
        delivered_at TEXT,
        matched_reach INTEGER,
        matched_reach_at TEXT,
        last_error TEXT,
        UNIQUE (segment, destination)
      ) STRICT;
      CREATE UNIQUE INDEX distributions_audience ON distributions (audience_id) WHERE audience_id IS NOT NULL;

      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        distribution_id INTEGER NOT NULL REFERENCES distributions (id),
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'abandoned')),
        phase TEXT,
        dry_run INTEGER NOT NULL DEFAULT 0,
        counts TEXT NOT NULL DEFAULT '{}',
        error_code TEXT,
        error_message TEXT
      ) STRICT;
      CREATE INDEX runs_by_distribution ON runs (distribution_id, started_at);
      -- At most one unfinished run per distribution: resume it or abandon it, never fork it.
      CREATE UNIQUE INDEX runs_one_running ON runs (distribution_id) WHERE outcome = 'running';

      CREATE TABLE checkpoints (
        run_id TEXT NOT NULL REFERENCES runs (id),
        key TEXT NOT NULL,
        value TEXT NOT NULL,                 -- JSON
        updated_at TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
      ) STRICT;

      CREATE TABLE batches (
        run_id TEXT NOT NULL REFERENCES runs (id),
        id_schema TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('add', 'delete')),
        batch_index INTEGER NOT NULL CHECK (batch_index >= 0),
        first_offset INTEGER NOT NULL CHECK (first_offset >= 0),
        count INTEGER NOT NULL CHECK (count > 0),
        checksum TEXT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'acked')),
        attempts INTEGER NOT NULL DEFAULT 1,
        sent_at TEXT NOT NULL,
        acked_at TEXT,
        PRIMARY KEY (run_id, id_schema, action, batch_index)
      ) STRICT;
    `
  },
  {
    version: 2,
    name: 'last-error-detail',
    // The last error of a distribution gets its code and time beside the message (it was one
    // 'CODE: message' string). Batches of finished runs are never read again; dropping them keeps
    // the table, and so the integrity check at open, to the size of the unfinished runs.
    sql: `
      ALTER TABLE distributions ADD COLUMN last_error_code TEXT;
      ALTER TABLE distributions ADD COLUMN last_error_at TEXT;
      UPDATE distributions
        SET last_error_code = substr(last_error, 1, instr(last_error, ': ') - 1), last_error = substr(last_error, instr(last_error, ': ') + 2)
        WHERE last_error GLOB 'HP_ERR_*: *';
      DELETE FROM batches WHERE run_id IN (SELECT id FROM runs WHERE outcome <> 'running');
    `
  },
  {
    version: 3,
    name: 'usage-reports',
    // Months a Data Marketplace usage report was written for, per destination: what status and
    // doctor check the monthly reporting obligation against.
    sql: `
      CREATE TABLE usage_reports (
        destination TEXT NOT NULL,
        month TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
        reported_at TEXT NOT NULL,
        rows INTEGER NOT NULL CHECK (rows >= 0),
        output TEXT NOT NULL,
        PRIMARY KEY (destination, month)
      ) STRICT;
    `
  },
  {
    version: 4,
    name: 'conversions',
    // Offline conversion runs and their acknowledged batches. A batch is a position in the run's
    // deterministic event order (same input, same reference time → same batches) with a checksum
    // of its event ids, never an identifier.
    sql: `
      CREATE TABLE conversion_runs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        event_source_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'abandoned')),
        reference_time INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,           -- JSON
        counts TEXT NOT NULL DEFAULT '{}',
        error_code TEXT,
        error_message TEXT
      ) STRICT;
      CREATE INDEX conversion_runs_by_name ON conversion_runs (name, started_at);
      CREATE UNIQUE INDEX conversion_runs_one_running ON conversion_runs (name) WHERE outcome = 'running';

      CREATE TABLE conversion_batches (
        run_id TEXT NOT NULL REFERENCES conversion_runs (id),
        batch_index INTEGER NOT NULL CHECK (batch_index >= 0),
        count INTEGER NOT NULL CHECK (count > 0),
        checksum TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'acked')),
        attempts INTEGER NOT NULL DEFAULT 1,
        sent INTEGER NOT NULL DEFAULT 0,     -- events TikTok took (the batch minus isolated rejects)
        sent_at TEXT NOT NULL,
        acked_at TEXT,
        PRIMARY KEY (run_id, batch_index)
      ) STRICT;
    `
  },
  {
    version: 5,
    name: 'customer-file-audiences',
    // The audience's type is fixed once it exists (the two kinds cannot be converted at TikTok);
    // audiences made before the column existed are partner audiences. Every upload file of a
    // customer-file run is a row, recorded before it is uploaded and again before its file_path is used.
    sql: `
      ALTER TABLE distributions ADD COLUMN audience_type TEXT CHECK (audience_type IN ('partner', 'customer_file'));
      ALTER TABLE distributions ADD COLUMN processing_since TEXT;
      ALTER TABLE distributions ADD COLUMN last_replace_at TEXT;
      UPDATE distributions SET audience_type = 'partner' WHERE audience_id IS NOT NULL;
      CREATE TABLE upload_files (
        run_id TEXT NOT NULL REFERENCES runs (id),
        seq INTEGER NOT NULL CHECK (seq >= 0),
        action TEXT NOT NULL CHECK (action IN ('APPEND', 'REMOVE', 'REPLACE')),
        id_schema TEXT NOT NULL,
        name TEXT NOT NULL,
        md5 TEXT NOT NULL,
        bytes INTEGER NOT NULL CHECK (bytes > 0),
        ids INTEGER NOT NULL CHECK (ids > 0),
        status TEXT NOT NULL CHECK (status IN ('written', 'uploading', 'uploaded', 'applied')),
        uploads INTEGER NOT NULL DEFAULT 0,
        file_path TEXT,
        uploaded_at TEXT,
        applied_at TEXT,
        PRIMARY KEY (run_id, seq)
      ) STRICT;
    `
  }
]

export function schemaVersion (db: Database): number {
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }
  return row.v ?? 0
}

/** Applies the migrations not yet applied; returns the versions it applied. */
export function migrate (db: Database, migrations: readonly Migration[] = MIGRATIONS, now: () => string = () => new Date().toISOString()): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT')
  const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0)
  const current = schemaVersion(db)
  if (current > latest) {
    throw new StateError('HP_ERR_STATE_VERSION', `the state database has schema version ${current}, newer than this hashpipe understands (${latest}); upgrade hashpipe`)
  }
  const applied: number[] = []
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue
    db.transaction(() => {
      db.exec(m.sql)
      record.run(m.version, m.name, now())
    }).immediate()
    applied.push(m.version)
  }
  return applied
}
