// Parsers for option values shared by subcommands. Errors name the option and the accepted form.
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
