// The naive baseline of issue 3: readline + createHash + a JS Set of hex strings, with the same
// normalization rules (phones through libphonenumber-js max). It stops where a Set stops
// (2^24 entries) and says how far it got. Prints one JSON line.
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { createHash } from 'node:crypto'
import { parsePhoneNumberFromString } from 'libphonenumber-js/max'

const file = process.argv[2]
if (file === undefined) throw new Error('usage: naive-baseline FILE')
const started = performance.now()
const seen = new Set<string>()
let identifiers = 0
let died: string | undefined
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const add = (key: string): void => { seen.add(key) }
const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
let header = true
try {
  for await (const line of rl) {
    if (header) { header = false; continue }
    const [email = '', phone = '', maid = ''] = line.split(',')
    const e = email.trim().toLowerCase()
    if (e !== '') { identifiers++; if (/^[0-9a-f]{64}$/.test(e)) add(`E${e}`); else if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e)) add(`E${sha(e)}`) }
    const p = phone.trim()
    if (p !== '') {
      identifiers++
      try { const n = parsePhoneNumberFromString(p, 'US'); if (n?.isValid() === true) add(`P${sha(n.number)}`) } catch {}
    }
    const m = maid.trim().toLowerCase()
    if (m !== '') { identifiers++; if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(m) && m !== '00000000-0000-0000-0000-000000000000') add(`M${sha(m)}`) }
  }
} catch (err) {
  died = `${(err as Error).message} at ${seen.size} unique`
}
process.stdout.write(JSON.stringify({ identifiers, unique: seen.size, seconds: (performance.now() - started) / 1000, ...(died !== undefined ? { died } : {}) }) + '\n')
