// From config text to a plain tree, and the problem list's housekeeping (order, dedupe, secret
// scrubbing, the ConfigError). YAML and JSON both go through the yaml parser (JSON with its
// json schema), so positions, duplicate-key detection and BigInt integers work the same for both.
import { LineCounter, parseDocument } from 'yaml'
import { ConfigError } from '../pipeline/errors.js'
import type { ConfigProblem } from './config-interpolate.js'

export function readTree (text: string, format: 'yaml' | 'json'): { value: unknown, problems: ConfigProblem[] } {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { intAsBigInt: true, prettyErrors: false, lineCounter, uniqueKeys: true, schema: format === 'json' ? 'json' : 'core' })
  if (doc.errors.length > 0) {
    // Only position and the parser's message: its code frame could show a secret.
    return {
      value: undefined,
      problems: doc.errors.map(e => {
        const { line, col } = lineCounter.linePos(e.pos[0])
        return { path: '', message: `${format === 'json' ? 'JSON' : 'YAML'} syntax error at line ${line}, column ${col}: ${e.message}` }
      })
    }
  }
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: 1000 })
  } catch (err) {
    return { value: undefined, problems: [{ path: '', message: `cannot read the document: ${(err as Error).message}` }] }
  }
  if (value === null || value === undefined) return { value, problems: [{ path: '', message: 'the config is empty' }] }
  if (typeof value !== 'object' || Array.isArray(value)) return { value, problems: [{ path: '', message: 'the config must be a mapping with tiktok, destinations and segments keys' }] }
  return { value, problems: [] }
}


export function formatProblem (p: ConfigProblem): string {
  return p.path === '' ? p.message : `${p.path}: ${p.message}`
}

export function configError (problems: readonly ConfigProblem[], path?: string): ConfigError {
  const issues = problems.map(formatProblem)
  const where = path === undefined ? 'config' : `config '${path}'`
  return new ConfigError(issues, `${where} is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n  ${issues.join('\n  ')}`)
}


export function dedupe (problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>()
  return problems.filter(p => {
    const key = formatProblem(p)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

const kSectionOrder = ['state_dir', 'tiktok', 'hashing', 'destinations', 'segments']

/** Sorts by section, then list index; stable, so one entry's problems keep their order. */
export function inDocumentOrder (problems: ConfigProblem[]): ConfigProblem[] {
  const rank = (p: ConfigProblem): [number, number] => {
    const m = /^([A-Za-z_][A-Za-z0-9_-]*)?(?:\[(\d+)\])?/.exec(p.path)
    const section = m?.[1] === undefined ? -1 : kSectionOrder.indexOf(m[1])
    return [section === -1 && p.path !== '' ? kSectionOrder.length : section, m?.[2] === undefined ? -1 : Number(m[2])]
  }
  return problems
    .map((p, i) => ({ p, i, r: rank(p) }))
    .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.i - b.i)
    .map(x => x.p)
}

/** Belt and braces: no message is built from the secret, but a long enough one is masked anyway. */
export function scrub (message: string, secret: unknown): string {
  return typeof secret === 'string' && secret.length >= 6 ? message.replaceAll(secret, '***') : message
}
