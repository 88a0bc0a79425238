// Parsers for option values shared by subcommands. Errors name the option and the accepted form.
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { UsageError } from '../pipeline/errors.js'
import { ID_TYPES, type IdType } from '../pipeline/protocol.js'

const kUnits: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1048576, g: 1e9, gb: 1e9, gib: 1073741824 }

/** "1GiB", "512MB", "8192" → bytes. */
export function parseSize (option: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value)
  const unit = m === null ? undefined : kUnits[m[2]!.toLowerCase()]
  if (m === null || unit === undefined) throw new UsageError(`--${option} must be a size such as 8192, 64KiB, 512MB or 1GiB, not '${value}'`)
  const bytes = Math.floor(Number(m[1]) * unit)
  if (bytes < 1) throw new UsageError(`--${option} must be at least 1 byte`)
  return bytes
}

/** A TCP port, 0 (a free one) to 65535. */
export function parsePort (option: string, value: string): number {
  const port = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new UsageError(`--${option} must be a port number from 0 to 65535, not '${value}'`)
  return port
}

/** A whole number from 1 up (a count of runs, seconds). */
export function parsePositiveInteger (option: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN
  if (!(Number.isSafeInteger(n) && n >= 1 && n <= max)) throw new UsageError(`--${option} must be a whole number from 1${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, not '${value}'`)
  return n
}

/** A ratio within [min, max] (max-reject-ratio, max-delete-share); `above` excludes min itself. */
export function parseRatio (option: string, value: string, { above = false }: { above?: boolean } = {}): number {
  const r = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : NaN
  if (!(above ? r > 0 : r >= 0) || !(r <= 1)) throw new UsageError(`--${option} must be a number ${above ? 'above 0' : 'from 0'} ${above ? 'and at most' : 'to'} 1, not '${value}'`)
  return r
}

/** An http(s) URL (the Pushgateway), checked before the run rather than after it. */
export function parseHttpUrl (option: string, value: string): string {
  let url: URL | undefined
  try { url = new URL(value) } catch {}
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new UsageError(`--${option} must be an http:// or https:// URL, not '${value}'`)
  return value
}

/** "email=Email,phone=Phone" → { email: 'Email', phone: 'Phone' }. */
export function parseColumns (value: string): Partial<Record<IdType, string>> {
  const out: Partial<Record<IdType, string>> = {}
  for (const part of value.split(',')) {
    const eq = part.indexOf('=')
    const type = part.slice(0, eq).trim() as IdType
    const name = part.slice(eq + 1).trim()
    if (eq === -1 || name === '' || !ID_TYPES.includes(type)) {
      throw new UsageError(`--columns takes TYPE=HEADER pairs separated by commas, TYPE one of ${ID_TYPES.join('|')}; '${part}' is not one`)
    }
    if (out[type] !== undefined) throw new UsageError(`--columns names ${type} twice`)
    out[type] = name
  }
  return out
}

/** One CSV cell, quoted when it holds a delimiter, quote or line break. */
export function csvCell (value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

export interface NamedPath {
  /** How the user gave it, for the message: `--out`, `<input...>`, `segments[0].inputs[1]`. */
  option: string
  path: string
}

/**
 * Refuses an output that is also an input (the same path, or the same file under another name:
 * a hard link, a symlink, `./a.csv`) or another output: writing it would replace what is being
 * read. '-' (stdin/stdout) is never a file here.
 */
export async function assertDistinctFiles (outputs: readonly NamedPath[], inputs: readonly NamedPath[]): Promise<void> {
  const id = async (path: string): Promise<string | undefined> => {
    const st = await stat(path).catch(() => undefined)
    // A FIFO or device is not replaced by an atomic write: writing one read elsewhere is legitimate.
    return st === undefined || !st.isFile() ? undefined : `${st.dev}:${st.ino}`
  }
  const seen: Array<NamedPath & { abs: string, id: string | undefined }> = []
  for (const p of inputs) if (p.path !== '-') seen.push({ ...p, abs: resolve(p.path), id: await id(p.path) })
  for (const out of outputs) {
    if (out.path === '-') continue
    const abs = resolve(out.path)
    const fileId = await id(out.path)
    const same = seen.find(s => s.abs === abs || (fileId !== undefined && s.id === fileId))
    if (same !== undefined) {
      const what = same.option.startsWith('<') ? `the input '${same.path}'` : `${same.option} '${same.path}'`
      throw new UsageError(`${out.option} '${out.path}' is ${what} too; writing it would replace what hashpipe reads. Name another file for ${out.option}`)
    }
    seen.push({ ...out, abs, id: fileId })
  }
}
