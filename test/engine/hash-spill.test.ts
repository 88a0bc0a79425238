// A dedupe budget far below the data: the run spills many times, in the background while batches
// keep coming, and must give the very output of a run that never spills (also when the final pass
// reads its spill files ahead). A spill that cannot start fails the run with HP_ERR_SPILL_IO
// naming --tmp-dir, and leaves no output behind. A run killed mid-way leaves at most the spill
// file it was writing (sealed ones are unlinked).
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliPath, runCli } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'hp-spill-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

let seed = 7
const rnd = (): number => { seed = (seed * 48271) % 2147483647; return seed / 2147483647 }
const input = join(dir, 'in.csv')
const rows = ['email,phone']
for (let i = 0; i < 120_000; i++) {
  const p = Math.floor(rnd() * 80_000)
  rows.push(`user${p}@example.com,+1 415 ${200 + (p % 700)} ${1000 + (p % 9000)}`)
}
writeFileSync(input, rows.join('\n') + '\n')

interface Summary { unique_total: number, spilled_bytes: number, stages: Record<string, number> }
interface SpillRun { out: string, summary: Summary }

t.test('many background spills give the output of a run without any', async t => {
  const runs: SpillRun[] = []
  // 4 MiB: three spills, and a read-ahead share (a sixteenth of the budget over the files) big
  // enough that the final pass reads ahead from its 128th run on.
  for (const budget of ['1GiB', '96KiB', '4MiB']) {
    const out = join(dir, `out-${budget}.csv`)
    const r = await runCli(['hash', input, '--out', out, '--json', '--no-progress', '--memory-budget', budget, '--batch-bytes', '64KiB', '--tmp-dir', dir])
    t.equal(r.code, 0, r.stderr)
    runs.push({ out: readFileSync(out, 'utf8'), summary: JSON.parse(r.stdout) as Summary })
  }
  const [whole, spilled, readAhead] = runs as [SpillRun, SpillRun, SpillRun]
  t.equal(whole.summary.spilled_bytes, 0, 'a 1 GiB budget holds it all')
  t.ok(spilled.summary.spilled_bytes > 4 * whole.summary.unique_total * 32 / 10, `spilled ${spilled.summary.spilled_bytes} bytes`)
  t.ok(spilled.summary.stages.spill! > 0, 'spill seconds are reported')
  t.equal(spilled.summary.unique_total, whole.summary.unique_total)
  t.equal(spilled.out, whole.out, 'byte-identical output')
  t.ok(readAhead.summary.spilled_bytes > 0 && readAhead.summary.spilled_bytes < spilled.summary.spilled_bytes, `4 MiB: spilled ${readAhead.summary.spilled_bytes} bytes`)
  t.equal(readAhead.out, whole.out, 'byte-identical output with the final pass reading ahead')
  t.same(readdirSync(dir).filter(f => f.startsWith('hashpipe-spill-')), [], 'spill directories removed')
})

t.test('a spill directory that cannot be made fails the run with HP_ERR_SPILL_IO, no output', async t => {
  const out = join(dir, 'never.csv')
  const missing = join(dir, 'no-such-dir')
  const r = await runCli(['hash', input, '--out', out, '--no-progress', '--memory-budget', '96KiB', '--batch-bytes', '64KiB', '--tmp-dir', missing])
  t.equal(r.code, 1)
  t.match(r.stderr, `cannot create a dedupe spill directory in ${missing}: ENOENT; point --tmp-dir at a writable directory with free space`)
  t.notMatch(r.stderr, /internal error/)
  t.notOk(existsSync(out), 'no output')
  t.same(readdirSync(dir).filter(f => f.startsWith('.never')), [], 'no temp output left')
})

t.test('a run killed after several spills leaves at most the spill file it was writing', async t => {
  const tmp = mkdtempSync(join(dir, 'killed-'))
  const big = join(dir, 'big.csv')
  // Five copies: the run outlasts the polling below on a fast machine.
  writeFileSync(big, rows.join('\n') + '\n' + (rows.slice(1).join('\n') + '\n').repeat(4))
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cliPath, 'hash', big, '--out', join(dir, 'killed.csv'), '--no-progress', '--memory-budget', '96KiB', '--batch-bytes', '64KiB', '--tmp-dir', tmp], { stdio: 'ignore' })
  const exited = once(child, 'close')
  // Sealed spill files, seen from outside: descriptors of the run that point at unlinked files.
  const sealed = (): number => {
    try {
      return readdirSync(`/proc/${child.pid!}/fd`).filter(n => { try { return /hashpipe-spill-.*\.bin \(deleted\)$/.test(readlinkSync(`/proc/${child.pid!}/fd/${n}`)) } catch { return false } }).length
    } catch { return 0 }
  }
  let seen = 0
  const run = { done: false }
  void exited.then(() => { run.done = true })
  while (!run.done && (seen = sealed()) < 3) await new Promise(resolve => setTimeout(resolve, 5))
  child.kill('SIGKILL')
  await exited
  t.ok(seen >= 3, `the run had sealed ${seen} spill files when it was killed`)
  const left = readdirSync(tmp).filter(f => f.startsWith('hashpipe-spill-')).flatMap(d => readdirSync(join(tmp, d)))
  t.ok(left.length <= 1, `spill files left: ${left.join(', ') || 'none'}`)
})
