// Counts in human output are written one way: formatCount in pipeline/ (en-US separators, whatever the
// locale), and no command formats numbers by a path of its own.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatCount } from '../../pipeline/format-count.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))

t.test('en-US separators, rounded', async t => {
  t.equal(formatCount(623450), '623,450')
  t.equal(formatCount(0), '0')
  t.equal(formatCount(1234.6), '1,235')
  t.equal(formatCount(1e9), '1,000,000,000')
})

t.test('no other source formats numbers with toLocaleString', async t => {
  const offenders: string[] = []
  for (const dir of ['engine', 'adapters', 'pipeline']) {
    for (const f of readdirSync(join(root, dir), { recursive: true }) as string[]) {
      if (!f.endsWith('.ts') || f === 'format-count.ts') continue
      if (readFileSync(join(root, dir, f), 'utf8').includes('.toLocaleString(')) offenders.push(`${dir}/${f}`)
    }
  }
  t.same(offenders, [], 'every count goes through pipeline/format-count.ts')
})
