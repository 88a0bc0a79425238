// One writer per state_dir. The lock is a file created with O_EXCL holding the owner's pid, host
// and a random nonce. A second process finds it, checks the pid with kill(pid, 0) and refuses
// while the owner lives (HP_ERR_STATE_LOCKED naming the pid). A lock left by a dead process
// (SIGKILL, power loss) is taken over.
//
// Takeover is the racy part: two processes could both see the same stale lock, and one could
// delete the fresh lock the other just made. So the unlink happens only under a second O_EXCL
// file (`lock.takeover`) and only after re-reading that the lock still names the dead pid.
import { closeSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { StateError } from '../../pipeline/errors.js'

export const LOCK_FILE = 'lock'
const kAttempts = 20
/** A lock file still empty after this long belongs to a process that died while creating it. */
const kEmptyLockGraceMs = 10_000

interface Holder { pid: number, host: string, nonce: string }
type Read = Holder | 'gone' | 'empty'

export interface StateLock {
  readonly path: string
  /** Removes the lock if it is still ours. Idempotent. */
  release (): void
}

export function acquireStateLock (stateDir: string): StateLock {
  const path = join(stateDir, LOCK_FILE)
  const guard = `${path}.takeover`
  const me: Holder = { pid: process.pid, host: hostname(), nonce: randomBytes(8).toString('hex') }
  for (let attempt = 0; attempt < kAttempts; attempt++) {
    if (tryCreate(path, me)) return held(path, me)
    const holder = readHolder(path)
    if (holder === 'gone') continue
    if (!isStale(path, holder)) throw locked(stateDir, path, holder)
    // Stale: remove it under the takeover guard, then race for it with O_EXCL like anyone else.
    if (tryCreate(guard, me)) {
      try {
        const again = readHolder(path)
        if (again !== 'gone' && isStale(path, again) && sameHolder(again, holder)) unlinkQuiet(path)
      } finally {
        unlinkQuiet(guard)
      }
    } else {
      const g = readHolder(guard)
      if (g !== 'gone' && isStale(guard, g)) unlinkQuiet(guard)
      else sleep(5 + attempt * 5)
    }
  }
  throw new StateError('HP_ERR_STATE_LOCKED', `could not take the lock on state directory '${stateDir}': other processes keep contending for it; try again`)
}

/** The live process holding the lock (status shows a run as running now), if any; never takes or changes it. */
export function lockHolder (stateDir: string): { pid: number, host: string } | undefined {
  let holder: Read
  try {
    holder = readHolder(join(stateDir, LOCK_FILE))
  } catch {
    return undefined
  }
  if (holder === 'gone' || holder === 'empty') return undefined
  return isStale(join(stateDir, LOCK_FILE), holder) ? undefined : { pid: holder.pid, host: holder.host }
}

function held (path: string, me: Holder): StateLock {
  let released = false
  const release = (): void => {
    if (released) return
    released = true
    process.off('exit', release)
    const now = readHolder(path)
    if (now !== 'gone' && now !== 'empty' && sameHolder(now, me)) unlinkQuiet(path)
  }
  // A process that exits without close() leaves no lock behind; SIGKILL still can (takeover handles it).
  process.on('exit', release)
  return { path, release }
}

function tryCreate (path: string, me: Holder): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new StateError('HP_ERR_STATE_IO', `cannot create lock file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check that the state directory is writable`, { cause: err })
  }
  try {
    writeSync(fd, `${me.pid}\n${me.host}\n${me.nonce}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return true
}

function readHolder (path: string): Read {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone'
    throw new StateError('HP_ERR_STATE_IO', `cannot read lock file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err })
  }
  const [pid, host, nonce] = text.split('\n')
  const n = Number(pid)
  if (!Number.isInteger(n) || n <= 0 || nonce === undefined || nonce === '') return 'empty'
  return { pid: n, host: host ?? '', nonce }
}

function isStale (path: string, holder: Holder | 'empty'): boolean {
  if (holder === 'empty') {
    try {
      return Date.now() - statSync(path).mtimeMs > kEmptyLockGraceMs
    } catch {
      return true
    }
  }
  // A pid on another host (a shared filesystem) can't be checked: assume it is alive.
  if (holder.host !== hostname()) return false
  return !isAlive(holder.pid)
}

export function isAlive (pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function sameHolder (a: Holder | 'empty', b: Holder | 'empty'): boolean {
  if (a === 'empty' || b === 'empty') return a === b
  return a.pid === b.pid && a.host === b.host && a.nonce === b.nonce
}

function locked (stateDir: string, path: string, holder: Holder | 'empty'): StateError {
  const who = holder === 'empty'
    ? 'a process that is starting'
    : `another hashpipe process (pid ${holder.pid}${holder.host === hostname() ? '' : ` on host ${holder.host}`})`
  return new StateError('HP_ERR_STATE_LOCKED',
    `state directory '${stateDir}' is in use by ${who}; wait for it to finish. If no such process is running, remove '${path}'`)
}

function unlinkQuiet (path: string): void {
  try { unlinkSync(path) } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

function sleep (ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}
