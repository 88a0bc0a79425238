// The automaton the native scanner walks for NANP phones must answer exactly as the metadata's
// regular expressions (phone-nanp.ts validNanp): over every area code with many exchanges, a
// million random numbers, and the edges of the numbering plan.
import t from 'tap'
import { buildNanpDfa, nanpDfaAccepts } from '../../pipeline/nanp-dfa.js'
import { validNanp } from '../../pipeline/phone-nanp.js'

const table = buildNanpDfa()

let seed = 99
const rnd = (): number => { seed = (seed * 48271) % 2147483647; return seed / 2147483647 }
const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(rnd() * 10))).join('')

t.test('table shape', async t => {
  t.equal((table.length - 1) % 10, 0, 'ten transitions per state plus the accepting id')
  const accept = table[table.length - 1]!
  t.ok(accept > 0 && accept * 10 < table.length - 1, 'the accepting state is a state')
  t.ok(table.every(s => s >= -1 && s * 10 < table.length - 1), 'every transition is a state or -1')
})

t.test('agrees with the regular expressions on every area code', async t => {
  let disagreements = 0
  let valid = 0
  for (let area = 0; area < 1000; area++) {
    for (let k = 0; k < 300; k++) {
      const n = `${String(area).padStart(3, '0')}${k < 100 ? `${2 + (k % 8)}${digits(6)}` : digits(7)}`
      const want = validNanp(n)
      if (want) valid++
      if (nanpDfaAccepts(table, n) !== want) disagreements++
    }
  }
  t.equal(disagreements, 0)
  t.ok(valid > 10_000, `the corpus holds valid numbers too (${valid})`)
})

t.test('agrees on a million random numbers', async t => {
  let disagreements = 0
  for (let i = 0; i < 1_000_000; i++) {
    const n = digits(10)
    if (nanpDfaAccepts(table, n) !== validNanp(n)) disagreements++
  }
  t.equal(disagreements, 0)
})

t.test('edges of the plan', async t => {
  const cases = ['2015550123', '4155552671', '8005550199', '8335551234', '8445551234', '9005551234', '5551234567', '4155550100', '2125550199',
    '0123456789', '1234567890', '2110000000', '4111234567', '9111234567', '2025550123', '3055201234', '5052345678', '6045551234', '8765551234']
  for (const n of cases) t.equal(nanpDfaAccepts(table, n), validNanp(n), n)
  t.equal(nanpDfaAccepts(table, '415555267'), false, 'nine digits')
  t.equal(nanpDfaAccepts(table, '41555526711'), false, 'eleven digits')
})
