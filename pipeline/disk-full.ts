// A full disk is one condition for the user whichever layer meets it: the kernel's ENOSPC, or
// EDQUOT (an exhausted quota is a full disk for this user), on a file write; SQLite's
// SQLITE_FULL, which is what it reports when its write gets ENOSPC (and when a database reaches
// its max_page_count). Each I/O edge turns it into HP_ERR_DISK_FULL naming the path it was
// writing, so the message says where to free space; the system's error stays as `cause`.
//
// Exit 1, not the resumable 5: a distribute stopped by a full disk does resume once space is
// freed (its phase and acknowledged batches are in the state), but waiting frees nothing, and
// 5 tells a scheduler that TikTok was unavailable and a later retry may succeed on its own.
import { ExitCode, HashpipeError } from './errors.js'

const kDiskFullCodes = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL'])

function systemCode (err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && kDiskFullCodes.has(code)) return code
  }
  return undefined
}

/** True for ENOSPC, EDQUOT or SQLITE_FULL, on err or anywhere in its cause chain, and for HP_ERR_DISK_FULL. */
export function isDiskFull (err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'HP_ERR_DISK_FULL' || systemCode(err) !== undefined
}

export interface DiskFullWhere {
  /** The file (or directory) being written. */
  path: string
  /** What failed, e.g. `cannot write output '/data/out.csv'`. Default: `cannot write '<path>'`. */
  doing?: string
  /** The other way out besides freeing space, e.g. `point --tmp-dir at a larger disk`. */
  elsewhere?: string
}

/** HP_ERR_DISK_FULL for err, which isDiskFull() recognized. */
export function diskFullError (err: unknown, where: DiskFullWhere): HashpipeError {
  const code = systemCode(err) ?? 'ENOSPC'
  const why = code === 'EDQUOT' ? 'the disk quota is exhausted (EDQUOT)' : `no space left on the disk (${code})`
  const elsewhere = where.elsewhere ?? 'point --tmp-dir / state_dir elsewhere'
  return new HashpipeError('HP_ERR_DISK_FULL',
    `${where.doing ?? `cannot write '${where.path}'`}: ${why}; free space on the filesystem holding ${where.path}, or ${elsewhere}, then run again`,
    ExitCode.FAILED, { cause: err })
}

/** err as HP_ERR_DISK_FULL when it is a full disk (and not already one); otherwise err unchanged. */
export function asDiskFull (err: unknown, where: DiskFullWhere): unknown {
  if ((err as { code?: unknown } | null)?.code === 'HP_ERR_DISK_FULL' || systemCode(err) === undefined) return err
  return diskFullError(err, where)
}
