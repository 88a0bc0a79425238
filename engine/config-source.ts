// From config text to a plain tree, and the problem list's housekeeping (order, dedupe, secret
// scrubbing, the ConfigError). YAML and JSON both go through the yaml parser (JSON with its
// json schema), so positions, duplicate-key detection and BigInt integers work the same for both.
//
// Size is bounded before anything is parsed: the file (MAX_CONFIG_BYTES, checked with fstat
// before reading, and the read itself stops there) and every string value (MAX_VALUE_CHARS, in
// interpolation). A config is written by hand and a few KiB long; the YAML parser needs some 40
// times a document's size in memory, so a 50 MB value pasted in would cost about 2 GB.
import { open, type FileHandle } from 'node:fs/promises'
import { LineCounter, parseDocument } from 'yaml'
import { ConfigError } from '../pipeline/errors.js'
import type { ConfigProblem } from './config-interpolate.js'
import { formatCount } from '../pipeline/format-count.js'

/** The largest config, in bytes (1 MiB). */
export const MAX_CONFIG_BYTES = 1 << 20

const n = formatCount

function tooBig (bytes: number | undefined, path?: string): ConfigProblem {
  const what = path === undefined ? 'the config text' : `config file '${path}'`
  return {
    path: '',
    message: `${what} ${bytes === undefined ? 'is larger than' : `is ${n(bytes)} bytes, over`} the 1 MiB (${n(MAX_CONFIG_BYTES)}-byte) limit for a config; ` +
      'a config is written by hand and a few KiB long: check that --config names the config and not a data file (data files go under segments[].inputs)'
  }
}

/** Reads a config file, refusing one over MAX_CONFIG_BYTES before reading it; failures are ConfigErrors (exit 78). */
export async function readConfigFile (path: string): Promise<string> {
  const unreadable = (err: unknown): ConfigError =>
    configError([{ path: '', message: `cannot read config file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }], path)
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (err) {
    throw unreadable(err)
  }
  try {
    const st = await fh.stat()
    if (st.isFile() && st.size > MAX_CONFIG_BYTES) throw configError([tooBig(st.size, path)], path)
    // Read to the limit and one byte past it, never further: a FIFO has no size, and a file can
    // grow between the fstat and the read.
    const buf = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1)
    let total = 0
    for (;;) {
      const { bytesRead } = await fh.read(buf, total, buf.length - total, null)
      if (bytesRead === 0) break
      total += bytesRead
      if (total === buf.length) throw configError([tooBig(undefined, path)], path)
    }
    return buf.toString('utf8', 0, total)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw unreadable(err)
  } finally {
    await fh.close().catch(() => {})
  }
}

export function readTree (text: string, format: 'yaml' | 'json'): { value: unknown, problems: ConfigProblem[] } {
  // Config text from elsewhere than readConfigFile (tests, segments clone) gets the same bound.
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > MAX_CONFIG_BYTES) return { value: undefined, problems: [tooBig(bytes)] }
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
