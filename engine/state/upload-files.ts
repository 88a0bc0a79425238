// The upload files of customer-file runs, one row each: recorded ('written', with MD5, size and
// id count) before the upload starts, 'uploading' while a request is out (a crash there uploads
// that one file again), 'uploaded' with TikTok's file_path and time before the path is used in
// a create or update, 'applied' after TikTok answered that call. A rerun continues from here.
import type { Database } from 'better-sqlite3'
import { StateTable } from './state-table.js'

export type FileAction = 'APPEND' | 'REMOVE' | 'REPLACE'
export type FileStatus = 'written' | 'uploading' | 'uploaded' | 'applied'

export interface UploadFile {
  runId: string
  seq: number
  action: FileAction
  idSchema: string
  /** Path of the file on disk (under the run's directory). */
  name: string
  md5: string
  bytes: number
  ids: number
  status: FileStatus
  uploads: number
  filePath: string | null
  uploadedAt: string | null
  appliedAt: string | null
}

interface Row {
  run_id: string,
  seq: number,
  action: FileAction,
  id_schema: string,
  name: string,
  md5: string,
  bytes: number,
  ids: number
  status: FileStatus,
  uploads: number,
  file_path: string | null,
  uploaded_at: string | null,
  applied_at: string | null
}

const kSql = {
  insert: "INSERT INTO upload_files (run_id, seq, action, id_schema, name, md5, bytes, ids, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'written')",
  list: 'SELECT * FROM upload_files WHERE run_id = ? ORDER BY seq',
  drop: 'DELETE FROM upload_files WHERE run_id = ?',
  uploading: "UPDATE upload_files SET status = 'uploading', uploads = uploads + 1 WHERE run_id = ? AND seq = ?",
  uploaded: "UPDATE upload_files SET status = 'uploaded', file_path = ?, uploaded_at = ? WHERE run_id = ? AND seq = ?",
  expired: "UPDATE upload_files SET status = 'written', file_path = NULL, uploaded_at = NULL WHERE run_id = ? AND seq = ?",
  applied: "UPDATE upload_files SET status = 'applied', applied_at = ? WHERE run_id = ? AND seq = ?"
}

export class UploadFileStore extends StateTable<keyof typeof kSql> {
  constructor (db: Database, now: () => string) {
    super(db, now, kSql)
  }

  /** The run's files, all recorded at once (a crash while writing them leaves none recorded). */
  record (runId: string, files: Array<Pick<UploadFile, 'action' | 'idSchema' | 'name' | 'md5' | 'bytes' | 'ids'>>): void {
    this.db.transaction(() => {
      this.q.drop.run(runId)
      files.forEach((f, seq) => this.q.insert.run(runId, seq, f.action, f.idSchema, f.name, f.md5, f.bytes, f.ids))
    }).immediate()
  }

  list (runId: string): UploadFile[] {
    return (this.q.list.all(runId) as Row[]).map(r => ({
      runId: r.run_id,
      seq: r.seq,
      action: r.action,
      idSchema: r.id_schema,
      name: r.name,
      md5: r.md5,
      bytes: r.bytes,
      ids: r.ids,
      status: r.status,
      uploads: r.uploads,
      filePath: r.file_path,
      uploadedAt: r.uploaded_at,
      appliedAt: r.applied_at
    }))
  }

  uploading (runId: string, seq: number): void { this.q.uploading.run(runId, seq) }
  uploaded (runId: string, seq: number, filePath: string): void { this.q.uploaded.run(filePath, this.now(), runId, seq) }
  /** TikTok no longer knows the file_path (40910): the file is uploaded again. */
  expired (runId: string, seq: number): void { this.q.expired.run(runId, seq) }
  /** The files a create or update carried, after TikTok answered it. */
  applied (runId: string, seqs: number[], also: () => void = () => {}): void {
    this.db.transaction(() => {
      const at = this.now()
      for (const seq of seqs) this.q.applied.run(at, runId, seq)
      also()
    }).immediate()
  }
}
