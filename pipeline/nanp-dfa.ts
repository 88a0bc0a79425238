// The NANP validity test of phone-nanp.ts, compiled into a table the native scanner can walk.
//
// phone-nanp.ts calls a 10-digit national number valid when, for some NANP region of
// libphonenumber-js's `max` metadata, it matches the region's national number pattern and one of
// its number-type patterns. Those patterns are regular expressions over digits in a small subset
// of the syntax (digits, \d, [classes], (?:groups), |, {n}, {n,m}, ?), so the whole test is a
// regular language over strings of exactly ten digits. This file parses the very same patterns,
// builds an NFA per pattern (Thompson), and determinizes the product "some region: general AND
// any type" level by level over the ten digit positions. Nothing is hand-written about numbering
// plans: when libphonenumber-js updates its metadata, the table follows.
//
// Table encoding (read by NanpValid in pipeline/native/scan_batch.cc):
//   table[state * 10 + digit] is the next state, or -1 when no valid number continues that way;
//   the walk starts in state 0 and reads the ten digits; the number is valid iff no step gives -1
//   and the state after the tenth digit equals table[table.length - 1] (the one accepting state,
//   whose own row is all -1).
// A pattern using syntax outside the subset throws: the caller then defers every phone to
// libphonenumber-js rather than guess.
import { Metadata } from 'libphonenumber-js/max'
import metadata from 'libphonenumber-js/max/metadata'

const kTypes = ['FIXED_LINE', 'MOBILE', 'TOLL_FREE', 'PREMIUM_RATE', 'PERSONAL_NUMBER', 'VOIP', 'UAN', 'PAGER', 'VOICEMAIL', 'SHARED_COST'] as const
const kLength = 10
const kAllDigits = 0x3ff

interface PlanApi { nationalNumberPattern: () => string, type: (t: string) => { pattern: () => string } | undefined }
interface MetadataApi { getCountryCodesForCallingCode: (code: string) => string[] | undefined, selectNumberingPlan: (c: string) => void, numberingPlan: PlanApi | undefined }

// Regex AST: a set of digits (bit d = digit d), a sequence, an alternation, or a repetition.
type Node =
  | { kind: 'set', mask: number }
  | { kind: 'seq', items: Node[] }
  | { kind: 'alt', options: Node[] }
  | { kind: 'rep', node: Node, min: number, max: number }

function parsePattern (source: string): Node {
  let i = 0
  const fail = (what: string): never => { throw new Error(`nanp-dfa: ${what} at ${i} in /${source}/`) }
  const number = (): number => {
    const m = /^\d+/.exec(source.slice(i))
    if (m === null) return fail('expected a number')
    i += m[0].length
    return Number(m[0])
  }
  const alt = (): Node => {
    const options = [seq()]
    while (source[i] === '|') { i++; options.push(seq()) }
    return options.length === 1 ? options[0]! : { kind: 'alt', options }
  }
  const seq = (): Node => {
    const items: Node[] = []
    while (i < source.length && source[i] !== '|' && source[i] !== ')') {
      let node = atom()
      if (source[i] === '?') { i++; node = { kind: 'rep', node, min: 0, max: 1 } } else if (source[i] === '{') {
        i++
        const min = number()
        let max = min
        if (source[i] === ',') { i++; max = number() }
        if (source[i++] !== '}') fail('expected }')
        node = { kind: 'rep', node, min, max }
      }
      items.push(node)
    }
    return { kind: 'seq', items }
  }
  const atom = (): Node => {
    const c = source[i]
    if (c === '(') {
      if (source.slice(i, i + 3) !== '(?:') fail('only (?: groups are supported')
      i += 3
      const inner = alt()
      if (source[i++] !== ')') fail('expected )')
      return inner
    }
    if (c === '\\') {
      if (source[i + 1] !== 'd') fail('only \\d escapes are supported')
      i += 2
      return { kind: 'set', mask: kAllDigits }
    }
    if (c === '[') {
      i++
      let mask = 0
      while (source[i] !== ']') {
        if (i >= source.length) fail('unterminated class')
        const from = source.charCodeAt(i) - 48
        let to = from
        if (source[i + 1] === '-' && source[i + 2] !== ']') { to = source.charCodeAt(i + 2) - 48; i += 3 } else i++
        if (!(from >= 0 && to <= 9 && from <= to)) fail('only digit classes are supported')
        for (let d = from; d <= to; d++) mask |= 1 << d
      }
      i++
      return { kind: 'set', mask }
    }
    if (c !== undefined && c >= '0' && c <= '9') { i++; return { kind: 'set', mask: 1 << (c.charCodeAt(0) - 48) } }
    return fail(`unsupported syntax '${c ?? 'end'}'`)
  }
  const root = alt()
  if (i !== source.length) fail('trailing input')
  return root
}

/** Thompson NFA: epsilon edges and digit-set edges between numbered states. */
class Nfa {
  readonly eps: number[][] = []
  readonly edges: Array<Array<{ mask: number, to: number }>> = []
  state (): number { this.eps.push([]); this.edges.push([]); return this.eps.length - 1 }

  /** Adds `node` between fresh states; returns [start, end]. */
  build (node: Node): [number, number] {
    const s = this.state()
    let end = s
    const chain = (n: Node): void => {
      const [a, b] = this.build(n)
      this.eps[end]!.push(a)
      end = b
    }
    switch (node.kind) {
      case 'set': {
        end = this.state()
        this.edges[s]!.push({ mask: node.mask, to: end })
        return [s, end]
      }
      case 'seq':
        for (const item of node.items) chain(item)
        return [s, end]
      case 'alt': {
        const e = this.state()
        for (const option of node.options) {
          const [a, b] = this.build(option)
          this.eps[s]!.push(a)
          this.eps[b]!.push(e)
        }
        return [s, e]
      }
      case 'rep': {
        for (let k = 0; k < node.min; k++) chain(node.node)
        // Optional copies: each may be skipped, which ends the repetition.
        const skips: number[] = []
        for (let k = node.min; k < node.max; k++) { skips.push(end); chain(node.node) }
        for (const from of skips) this.eps[from]!.push(end)
        return [s, end]
      }
    }
  }
}

/** One compiled pattern: its NFA, start and accepting state. */
interface Machine { nfa: Nfa, start: number, accept: number }

function machine (patterns: string[]): Machine {
  const nfa = new Nfa()
  const node: Node = patterns.length === 1 ? parsePattern(patterns[0]!) : { kind: 'alt', options: patterns.map(parsePattern) }
  const [start, accept] = nfa.build(node)
  return { nfa, start, accept }
}

function closure (m: Machine, states: Iterable<number>): number[] {
  const seen = new Set<number>()
  const stack = [...states]
  while (stack.length > 0) {
    const s = stack.pop()!
    if (seen.has(s)) continue
    seen.add(s)
    for (const t of m.nfa.eps[s]!) stack.push(t)
  }
  return [...seen].sort((a, b) => a - b)
}

function step (m: Machine, states: number[], digit: number): number[] {
  const next: number[] = []
  for (const s of states) for (const e of m.nfa.edges[s]!) if ((e.mask >> digit) & 1) next.push(e.to)
  return next.length === 0 ? [] : closure(m, next)
}

function regions (): Array<{ general: Machine, types: Machine }> {
  const m = new (Metadata as unknown as new (m: unknown) => MetadataApi)(metadata)
  const out: Array<{ general: Machine, types: Machine }> = []
  for (const code of m.getCountryCodesForCallingCode('1') ?? []) {
    m.selectNumberingPlan(code)
    const plan = m.numberingPlan!
    const types = kTypes.map(t => plan.type(t)?.pattern()).filter((p): p is string => p !== undefined && p !== '')
    if (types.length === 0) continue
    out.push({ general: machine([plan.nationalNumberPattern()]), types: machine(types) })
  }
  return out
}

/** Builds the table described in the header. Throws if a pattern is outside the supported syntax. */
export function buildNanpDfa (): Int32Array {
  const rs = regions()
  // A DFA state: per region, the NFA state sets of its general and its types machine (a region
  // drops out once either is empty). Depth is part of the key: acceptance is decided at ten.
  type Sets = Array<[number[], number[]] | undefined>
  const start: Sets = rs.map(r => [closure(r.general, [r.general.start]), closure(r.types, [r.types.start])])
  const rows: number[][] = []
  let level: Array<{ id: number, sets: Sets }> = [{ id: 0, sets: start }]
  rows.push([])
  const accepting = (sets: Sets): boolean => sets.some((x, r) => x !== undefined && x[0].includes(rs[r]!.general.accept) && x[1].includes(rs[r]!.types.accept))
  let acceptId = -1
  for (let depth = 0; depth < kLength; depth++) {
    const ids = new Map<string, number>()
    const nextLevel: Array<{ id: number, sets: Sets }> = []
    for (const { id, sets } of level) {
      const row: number[] = []
      for (let d = 0; d < 10; d++) {
        const next: Sets = sets.map((x, r) => {
          if (x === undefined) return undefined
          const g = step(rs[r]!.general, x[0], d)
          const t = g.length === 0 ? [] : step(rs[r]!.types, x[1], d)
          return g.length === 0 || t.length === 0 ? undefined : [g, t]
        })
        if (next.every(x => x === undefined)) { row.push(-1); continue }
        if (depth === kLength - 1) {
          if (!accepting(next)) { row.push(-1); continue }
          if (acceptId === -1) { acceptId = rows.length; rows.push(new Array(10).fill(-1)) }
          row.push(acceptId)
          continue
        }
        const key = next.map(x => (x === undefined ? '-' : `${x[0].join(',')}/${x[1].join(',')}`)).join(';')
        let to = ids.get(key)
        if (to === undefined) {
          to = rows.length
          ids.set(key, to)
          rows.push([])
          nextLevel.push({ id: to, sets: next })
        }
        row.push(to)
      }
      rows[id] = row
    }
    level = nextLevel
  }
  const table = new Int32Array(rows.length * 10 + 1)
  rows.forEach((row, s) => table.set(row, s * 10))
  table[table.length - 1] = acceptId
  return table
}

/** The table's answer for a 10-digit string, walked as the C++ scanner walks it (for tests). */
export function nanpDfaAccepts (table: Int32Array, national: string): boolean {
  if (!/^\d{10}$/.test(national)) return false
  let state = 0
  for (let i = 0; i < kLength; i++) {
    state = table[state * 10 + national.charCodeAt(i) - 48]!
    if (state < 0) return false
  }
  return state === table[table.length - 1]
}
