// Access tokens live in files, never in the database: state_dir/tokens/<connection>.token, mode
// 0600 in a 0700 directory, written temp + fsync + rename + directory fsync so a crash leaves
// either the old token or the new one, never a torn file. Reads refuse a file others can read
// (ssh-style) and hand the token out wrapped in a Secret.
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { ExitCode, HashpipeError, StateError } from '../../pipeline/errors.js'
import { Secret } from '../../pipeline/secret.js'
import { CONNECTION_NAME } from './records.js'

export const TOKENS_DIR = 'tokens'

export class TokenStore {
  readonly dir: string

  constructor (stateDir: string) {
    this.dir = join(stateDir, TOKENS_DIR)
  }

  path (connection: string): string {
    if (!CONNECTION_NAME.test(connection)) {
      throw new HashpipeError('HP_ERR_USAGE', `'${connection}' is not a valid connection name: use letters, digits, . _ - (up to 64), starting with a letter or digit`, ExitCode.USAGE)
    }
    return join(this.dir, `${connection}.token`)
  }

  has (connection: string): boolean {
    try {
      statSync(this.path(connection))
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw ioError('cannot check', this.path(connection), err)
    }
  }

  /** Stores (or replaces) a connection's token atomically with mode 0600. */
  write (connection: string, token: Secret | string): void {
    const value = typeof token === 'string' ? token : token.reveal()
    if (value === '' || /\s/.test(value)) {
      throw new HashpipeError('HP_ERR_USAGE', 'the access token is empty or contains whitespace; check where it came from', ExitCode.USAGE)
    }
    const target = this.path(connection)
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    chmodSync(this.dir, 0o700)
    const temp = join(this.dir, `.${connection}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    try {
      const fd = openSync(temp, 'wx', 0o600)
      try {
        writeSync(fd, value)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(temp, target)
      syncDir(this.dir)
    } catch (err) {
      try { unlinkSync(temp) } catch {}
      throw ioError('cannot write', target, err)
    }
  }

  /** The stored token; exit 4 (connect again) when there is none. */
  read (connection: string): Secret {
    const file = this.path(connection)
    let mode: number
    let uid: number
    try {
      ({ mode, uid } = statSync(file))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new HashpipeError('HP_ERR_API_REAUTHORIZE', `no access token is stored for connection '${connection}'; run: hashpipe connect tiktok --config FILE --name ${connection}`, ExitCode.REAUTHORIZE)
      }
      throw ioError('cannot read', file, err)
    }
    if ((mode & 0o077) !== 0) {
      throw new StateError('HP_ERR_STATE_INSECURE', `token file '${file}' is readable by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run: chmod 600 '${file}'`)
    }
    if (process.getuid !== undefined && uid !== process.getuid()) {
      throw new StateError('HP_ERR_STATE_INSECURE', `token file '${file}' belongs to another user (uid ${uid}); it must be owned by the user running hashpipe`)
    }
    let value: string
    try {
      value = readFileSync(file, 'utf8').trim()
    } catch (err) {
      throw ioError('cannot read', file, err)
    }
    if (value === '') {
      throw new HashpipeError('HP_ERR_API_REAUTHORIZE', `the token file of connection '${connection}' is empty; run: hashpipe connect tiktok --config FILE --name ${connection}`, ExitCode.REAUTHORIZE)
    }
    return new Secret(value)
  }

  /** Removes the token file (durably: the directory is synced); false when there was none. */
  remove (connection: string): boolean {
    try {
      unlinkSync(this.path(connection))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('cannot remove', this.path(connection), err)
      return false
    }
    syncDir(this.dir)
    return true
  }

  /** Connections with a stored token file (temp files of an interrupted write are not tokens). */
  names (): string[] {
    let entries: string[]
    try {
      entries = readdirSync(this.dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw ioError('cannot list', this.dir, err)
    }
    return entries.filter(n => n.endsWith('.token') && !n.startsWith('.')).map(n => n.slice(0, -'.token'.length)).filter(n => CONNECTION_NAME.test(n)).sort()
  }
}

function syncDir (dir: string): void {
  const fd = openSync(dir, 'r')
  try { fsyncSync(fd) } finally { closeSync(fd) }
}

function ioError (what: string, file: string, err: unknown): StateError {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
  return new StateError('HP_ERR_STATE_IO', `${what} token file '${file}': ${code}`, { cause: err })
}
