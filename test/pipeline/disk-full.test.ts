// Recognizing a full disk (ENOSPC, EDQUOT, SQLITE_FULL, on the error or under it) and the
// HP_ERR_DISK_FULL that replaces it: the path, the fix, exit 1, the system error kept as cause.
import t from 'tap'
import { asDiskFull, diskFullError, isDiskFull } from '../../pipeline/disk-full.js'
import { ExitCode, HashpipeError } from '../../pipeline/errors.js'

const sys = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: something, write`), { code, syscall: 'write' })

t.test('isDiskFull knows ENOSPC, EDQUOT and SQLITE_FULL, directly or as a cause', async t => {
  for (const code of ['ENOSPC', 'EDQUOT', 'SQLITE_FULL']) {
    t.ok(isDiskFull(sys(code)), code)
    t.ok(isDiskFull(new HashpipeError('HP_ERR_SPILL_IO', 'wrapped', ExitCode.FAILED, { cause: sys(code) })), `${code} as a cause`)
  }
  t.ok(isDiskFull(new HashpipeError('HP_ERR_DISK_FULL', 'already')), 'HP_ERR_DISK_FULL itself')
  for (const other of [sys('EACCES'), sys('EFBIG'), sys('SQLITE_IOERR_WRITE'), new Error('ENOSPC in a message is not a code'), undefined, null, 'ENOSPC', 28]) {
    t.notOk(isDiskFull(other), `not ${String((other as { code?: string } | null)?.code ?? other)}`)
  }
})

t.test('diskFullError names the path and the way out, exits 1 and keeps the cause', async t => {
  const cause = sys('ENOSPC')
  const e = diskFullError(cause, { path: '/data/out.csv', doing: "cannot write output '/data/out.csv'", elsewhere: 'write it elsewhere' })
  t.equal(e.code, 'HP_ERR_DISK_FULL')
  t.equal(e.exitCode, ExitCode.FAILED)
  t.equal(e.cause, cause)
  t.equal(e.message, "cannot write output '/data/out.csv': no space left on the disk (ENOSPC); free space on the filesystem holding /data/out.csv, or write it elsewhere, then run again")
  const quota = diskFullError(sys('EDQUOT'), { path: '/spool' })
  t.equal(quota.message, "cannot write '/spool': the disk quota is exhausted (EDQUOT); free space on the filesystem holding /spool, or point --tmp-dir / state_dir elsewhere, then run again")
  t.match(diskFullError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), { path: '/s/state.db' }).message, /no space left on the disk \(SQLITE_FULL\)/)
})

t.test('asDiskFull wraps only a full disk, and only once', async t => {
  const other = sys('EACCES')
  t.equal(asDiskFull(other, { path: '/x' }), other, 'other errors pass through unchanged')
  const once = asDiskFull(sys('ENOSPC'), { path: '/inner' }) as HashpipeError
  t.equal(once.code, 'HP_ERR_DISK_FULL')
  t.equal(asDiskFull(once, { path: '/outer' }), once, 'the innermost edge, which knows the file, names it')
})
