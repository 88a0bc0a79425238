// The benchmark workload must be reproducible (same seed, same bytes) and shaped as the
// throughput issue describes: about 5% pre-hashed emails, about 1% invalid values.
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateFile } from '../../bench/generate.js'

t.test('deterministic and realistic', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-gen-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const a = generateFile({ path: join(dir, 'a.csv'), rows: 20000, seed: 3 })
  const b = generateFile({ path: join(dir, 'b.csv'), rows: 20000, seed: 3 })
  const c = generateFile({ path: join(dir, 'c.csv'), rows: 20000, seed: 4 })
  const digest = (p: string): string => createHash('sha256').update(readFileSync(join(dir, p))).digest('hex')
  t.equal(digest('a.csv'), digest('b.csv'), 'same seed, same bytes')
  t.not(digest('a.csv'), digest('c.csv'))
  t.same(a, b)
  t.equal(c.rows, 20000, 'another seed, as many rows')
  t.equal(a.rows, 20000)
  const lines = readFileSync(join(dir, 'a.csv'), 'utf8').trim().split('\n')
  t.equal(lines[0], 'email,phone,maid')
  const emails = lines.slice(1).map(l => l.split(',')[0]!.trim())
  const hashed = emails.filter(e => /^[0-9a-fA-F]{64}$/.test(e)).length / emails.length
  t.ok(hashed > 0.03 && hashed < 0.07, `pre-hashed share ${hashed}`)
  const broken = emails.filter(e => e.includes('@@')).length / emails.length
  t.ok(broken > 0.001 && broken < 0.01, `invalid email share ${broken}`)
  const repeats = emails.length - new Set(emails.map(e => e.toLowerCase())).size
  t.ok(repeats / emails.length > 0.1, `repeated people ${repeats}`)
})
