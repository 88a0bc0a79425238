// The benchmark workload must be reproducible (same seed, same bytes) and shaped as the
// throughput issue describes: about 5% pre-hashed emails, about 1% invalid values.
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
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

t.test('the command line: --help, and a usage error (exit 2, no stack) for a bad or missing option', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-gen-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const script = fileURLToPath(new URL('../../bench/generate.js', import.meta.url))
  const run = (...args: string[]): { status: number | null, stdout: string, stderr: string } => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' })
  const help = run('--help')
  t.equal(help.status, 0)
  t.match(help.stdout, /^usage: node dist\/bench\/generate\.js --out FILE/)
  for (const [args, why] of [[['--size', '1GiB'], /--out FILE is required/], [['--out', join(dir, 'x.csv'), '--size', 'lots'], /--size: not a size: lots/], [['--out', join(dir, 'x.csv'), '--rows', '0'], /--rows must be a positive integer; got '0'/], [['--nope'], /Unknown option '--nope'/]] as const) {
    const r = run(...args)
    t.equal(r.status, 2, args.join(' '))
    t.match(r.stderr, why)
    t.match(r.stderr, /usage: /)
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  }
  const ok = run('--out', join(dir, 'y.csv'), '--rows', '10', '--seed', '2')
  t.equal(ok.status, 0)
  t.equal(JSON.parse(ok.stdout).rows, 10)
})
