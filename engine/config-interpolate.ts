// Environment interpolation over the string values of a parsed config (never over the raw text,
// so a variable can't inject YAML structure). Forms, as in Docker Compose and Vector:
//
//   ${VAR}            the value; an unset variable is an error (Vector ≥ 0.38 fails closed too)
//   ${VAR:-default}   default when VAR is unset or empty      ${VAR-default}  only when unset
//   ${VAR:?message}   error with message when unset or empty  ${VAR?message}  only when unset
//   $$                a literal $ (so $${X} is the text ${X})
//
// Values containing a line break are refused, whether they came from the file or from a
// variable: no config value needs one, and refusing them stops config injection.
// Problems never quote a value: the value might be the app secret.
//
// Every string value is bounded (MAX_VALUE_CHARS) as written, as taken from a variable and as
// expanded, and the expansion stops at the bound: no config value is anywhere near it, and
// without it `${A}${A}...` over a large variable would build gigabytes before anything refuses it.
import { formatCount } from '../pipeline/format-count.js'

export type KeyPath = ReadonlyArray<string | number>

/** One problem with the config, located by key path (`destinations[0].advertiser_id`). */
export interface ConfigProblem {
  path: string
  message: string
}

export type Env = Readonly<Record<string, string | undefined>>

const kKeyShown = 64
const kSimpleKey = /^[A-Za-z_][A-Za-z0-9_-]*$/
const kReference = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?)([^]*))?$/

/** `['destinations', 0, 'advertiser_id']` → `destinations[0].advertiser_id`. */
export function formatPath (path: KeyPath): string {
  let out = ''
  for (const part of path) {
    // A key is echoed in messages ("unknown key"): a long one is shown by its start.
    if (typeof part === 'string' && part.length > kKeyShown) out += `[${JSON.stringify(`${part.slice(0, kKeyShown)}…`)}]`
    else if (typeof part === 'number') out += `[${part}]`
    else if (kSimpleKey.test(part)) out += out === '' ? part : `.${part}`
    else out += `[${JSON.stringify(part)}]`
  }
  return out
}

export type InterpolateResult = { ok: true, value: string } | { ok: false, message: string }

/** The longest string value, in characters, before and after interpolation (64 Ki). */
export const MAX_VALUE_CHARS = 64 * 1024

const n = formatCount

export function tooLongMessage (chars: number): string {
  return `is ${n(chars)} characters long, over the ${n(MAX_VALUE_CHARS)}-character limit for a config value; no setting needs that much — check that the right text is there`
}

export function interpolateString (text: string, env: Env): InterpolateResult {
  if (text.length > MAX_VALUE_CHARS) return { ok: false, message: tooLongMessage(text.length) }
  if (!text.includes('$')) return { ok: true, value: text }
  let out = ''
  let i = 0
  const append = (piece: string): boolean => {
    if (out.length + piece.length > MAX_VALUE_CHARS) return false
    out += piece
    return true
  }
  const overflow: InterpolateResult = { ok: false, message: `expands to more than ${n(MAX_VALUE_CHARS)} characters, the limit for a config value; check the \${...} references in it and what their variables hold` }
  while (i < text.length) {
    const dollar = text.indexOf('$', i)
    if (dollar === -1) { if (!append(text.slice(i))) return overflow; break }
    if (dollar > i && !append(text.slice(i, dollar))) return overflow
    i = dollar
    const next = text[i + 1]
    if (next === '$') { if (!append('$')) return overflow; i += 2; continue }
    if (next !== '{') { if (!append('$')) return overflow; i++; continue }
    const close = text.indexOf('}', i + 2)
    const m = close === -1 ? null : kReference.exec(text.slice(i + 2, close))
    if (m === null) {
      return { ok: false, message: `malformed \${...} reference at character ${i + 1}: write \${NAME}, \${NAME:-default} or \${NAME:?message} (NAME is letters, digits and _), or $\${ for a literal \${` }
    }
    const name = m[1]!
    const op = m[2]
    const arg = m[3] ?? ''
    const raw = env[name]
    const unset = raw === undefined
    const missing = op === ':-' || op === ':?' ? unset || raw === '' : unset
    if (missing && (op === ':-' || op === '-')) {
      if (!append(arg)) return overflow
    } else if (missing && (op === ':?' || op === '?')) {
      const why = unset ? 'is not set' : 'is empty'
      return { ok: false, message: arg.trim() === '' ? `environment variable ${name} ${why} and is required` : `${arg.trim()} (environment variable ${name} ${why})` }
    } else if (missing) {
      return { ok: false, message: `environment variable ${name} is not set; set it, or give a default with \${${name}:-default}` }
    } else if (raw!.length > MAX_VALUE_CHARS) {
      return { ok: false, message: `environment variable ${name} is ${n(raw!.length)} characters long, over the ${n(MAX_VALUE_CHARS)}-character limit for a config value; check what ${name} holds` }
    } else if (/[\r\n]/.test(raw!)) {
      return { ok: false, message: `environment variable ${name} contains a line break; values with newlines are refused` }
    } else if (!append(raw!)) {
      return overflow
    }
    i = close + 1
  }
  return { ok: true, value: out }
}

/**
 * Interpolates every string value of a parsed config tree (keys are left alone) and refuses
 * values with line breaks. Returns a new tree; where a value fails, the original string stays
 * and a problem names its key path.
 */
export function interpolateTree (root: unknown, env: Env): { value: unknown, problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = []
  const walk = (node: unknown, path: Array<string | number>): unknown => {
    if (typeof node === 'string') {
      const r = interpolateString(node, env)
      if (!r.ok) {
        problems.push({ path: formatPath(path), message: r.message })
        return node
      }
      if (/[\r\n]/.test(r.value)) {
        problems.push({ path: formatPath(path), message: 'contains a line break; values with newlines are refused' })
      }
      return r.value
    }
    if (Array.isArray(node)) return node.map((v, i) => walk(v, [...path, i]))
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(node)) out[k] = walk(v, [...path, k])
      return out
    }
    return node
  }
  const value = walk(root, [])
  return { value, problems }
}
