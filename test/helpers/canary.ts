// Canary identifiers and secrets for leak tests (docs/operational-rules.md F1, G1): each is unique enough
// that finding it, in any of the forms the pipeline produces, in a log line, stdout/stderr,
// progress output or /metrics means it leaked. The values are fictional: 555-01xx numbers,
// the Ofcom drama range, random UUIDs and random hex.
import { createHash } from 'node:crypto'

export type CanaryKind = 'email' | 'phone' | 'maid' | 'secret'

export interface Canary {
  kind: CanaryKind
  /** Names the canary in failure messages without printing it. */
  label: string
  /** As it appears in an input file or config. */
  plain: string
  /** Every form the pipeline may hash: normalized, E.164, digits-only, canonicalized. */
  normalized: readonly string[]
}

export const CANARY_EMAILS: readonly Canary[] = [
  { kind: 'email', label: 'email#1', plain: '  Canary.Q7x9Wm2@Canary-Mail.Example.COM ', normalized: ['canary.q7x9wm2@canary-mail.example.com'] },
  {
    kind: 'email',
    label: 'email#2 (gmail, plus tag)',
    plain: 'Canary.Zk38v+Leak@GMail.com',
    normalized: ['canary.zk38v+leak@gmail.com', 'canary.zk38v@gmail.com', 'canaryzk38v@gmail.com']
  }
]

export const CANARY_PHONES: readonly Canary[] = [
  { kind: 'phone', label: 'phone#1 (US national)', plain: '(415) 555-0172', normalized: ['+14155550172', '14155550172', '4155550172'] },
  { kind: 'phone', label: 'phone#2 (UK)', plain: '+44 20 7946 0958', normalized: ['+442079460958', '442079460958', '2079460958'] }
]

export const CANARY_MAIDS: readonly Canary[] = [
  {
    kind: 'maid',
    label: 'maid#1 (IDFA)',
    plain: 'C14C3555-45E6-4A8E-9F97-3AE3DA450BF7',
    normalized: ['c14c3555-45e6-4a8e-9f97-3ae3da450bf7', 'C14C3555-45E6-4A8E-9F97-3AE3DA450BF7']
  },
  {
    kind: 'maid',
    label: 'maid#2 (GAID)',
    plain: '5de22c6c-9814-407f-847c-de0521414d5a',
    normalized: ['5de22c6c-9814-407f-847c-de0521414d5a', '5DE22C6C-9814-407F-847C-DE0521414D5A']
  }
]

/** An access token, the app secret and an auth code, as a config or connection would hold them. */
export const CANARY_SECRETS: readonly Canary[] = [
  { kind: 'secret', label: 'access token', plain: '3aa4aca5d8cb686e7883ed15146a675b5f7a4a9e', normalized: [] },
  { kind: 'secret', label: 'app secret', plain: '3a6d5e180d079a4d1edd0ea02dc154abb9896404', normalized: [] },
  { kind: 'secret', label: 'auth code', plain: 'canary-auth-code-6f2d91c0e4b7', normalized: [] }
]

export const CANARY_IDENTIFIERS: readonly Canary[] = [...CANARY_EMAILS, ...CANARY_PHONES, ...CANARY_MAIDS]
export const CANARIES: readonly Canary[] = [...CANARY_IDENTIFIERS, ...CANARY_SECRETS]

export interface CanaryForm {
  label: string
  needle: string
  /** Hex and plain text are searched case-insensitively; base64 is not. */
  caseSensitive: boolean
}

function sha256 (s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/** Every string whose presence means `canary` leaked. */
export function canaryForms (canary: Canary): CanaryForm[] {
  const forms: CanaryForm[] = [{ label: `${canary.label} plain`, needle: canary.plain.trim(), caseSensitive: false }]
  for (const [i, n] of canary.normalized.entries()) {
    const digest = sha256(n)
    forms.push(
      { label: `${canary.label} normalized[${i}]`, needle: n, caseSensitive: false },
      { label: `${canary.label} sha256-hex(normalized[${i}])`, needle: digest.toString('hex'), caseSensitive: false },
      { label: `${canary.label} sha256-base64(normalized[${i}])`, needle: digest.toString('base64'), caseSensitive: true }
    )
  }
  if (canary.kind !== 'secret') {
    const digest = sha256(canary.plain)
    forms.push({ label: `${canary.label} sha256-hex(plain)`, needle: digest.toString('hex'), caseSensitive: false })
  }
  return forms
}

/** Labels of the forms of `canaries` found in `text` (empty when nothing leaked). */
export function findCanaries (text: string, canaries: readonly Canary[] = CANARIES): string[] {
  const lower = text.toLowerCase()
  const hits: string[] = []
  for (const c of canaries) {
    for (const f of canaryForms(c)) {
      const found = f.caseSensitive ? text.includes(f.needle) : lower.includes(f.needle.toLowerCase())
      if (found) hits.push(f.label)
    }
  }
  return hits
}

// Structural, so a tap Test (whose `same` takes message/extra tuples) and a fake both fit.
interface Asserter { same (found: any, wanted: any, ...rest: any[]): boolean }

/**
 * Asserts that no plain, normalized or SHA-256 form of any canary appears in `text`. Failure
 * messages name the canary and form, never the value. Returns the labels found.
 */
export function assertNoCanary (t: Asserter, text: string, canaries: readonly Canary[] = CANARIES, where = 'output'): string[] {
  const hits = findCanaries(text, canaries)
  t.same(hits, [], `no canary in ${where}`)
  return hits
}

/** A CSV input (header email,phone,maid) with every identifier canary, one per row and column. */
export function canaryCsv (): string {
  const rows = ['email,phone,maid']
  const n = Math.max(CANARY_EMAILS.length, CANARY_PHONES.length, CANARY_MAIDS.length)
  const cell = (s: string | undefined): string => s === undefined ? '' : `"${s.replaceAll('"', '""')}"`
  for (let i = 0; i < n; i++) rows.push([CANARY_EMAILS[i]?.plain, CANARY_PHONES[i]?.plain, CANARY_MAIDS[i]?.plain].map(cell).join(','))
  return rows.join('\n') + '\n'
}
