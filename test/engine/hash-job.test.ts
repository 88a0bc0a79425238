// A hash job whose worker dies in one of its last batches, or whose background spill fails, fails
// with that error and does not hang. (The window used to stop applying at the first failure and
// then wait, forever, for it to shrink: a crash in the last 2·threads+1 batches hung the run.)
// Each job runs in its own process, killed after a few seconds, so a hang fails the test quickly.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { HashJobOptions } from '../../engine/hash-job.js'

const dir = mkdtempSync(join(tmpdir(), 'hp-job-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const child = fileURLToPath(new URL('../fixtures/hash-job-child.js', import.meta.url))
const crashing = new URL('../fixtures/crashing-worker.js', import.meta.url).href
const kBatchBytes = 64 * 1024
// Records of 23 bytes: a 64 KiB batch holds 2849 whole ones.
const kPerBatch = Math.floor(kBatchBytes / 23)

/** An input of `batches` batches of kBatchBytes (the last one partly filled). */
function input (batches: number): string {
  const path = join(dir, `in-${batches}.csv`)
  const lines = ['email']
  for (let i = 0; i < kPerBatch * (batches - 1) + 1000; i++) lines.push(`u${String(i).padStart(9, '0')}@example.com`)
  writeFileSync(path, lines.join('\n') + '\n')
  return path
}

interface Outcome { ok: boolean, code?: string, message?: string, valid?: number }

async function run (options: Partial<HashJobOptions> & { inputs: string[] }, timeoutMs = 15_000): Promise<Outcome | 'hung'> {
  const full: HashJobOptions = {
    threads: 1,
    batchBytes: kBatchBytes,
    maxRecordBytes: 8192,
    normalize: { defaultCountry: 'US', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: false },
    includeValues: false,
    dedupe: true,
    memoryBudgetBytes: 1 << 28,
    tmpDir: dir,
    ...options
  }
  // Without tap's NODE_OPTIONS loaders, as test/helpers/cli.ts runs the CLI.
  const proc = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, child, JSON.stringify(full)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  proc.stdout.on('data', (c: Buffer) => { out += c.toString() })
  let hung = false
  const timer = setTimeout(() => { hung = true; proc.kill('SIGKILL') }, timeoutMs)
  await once(proc, 'close')
  clearTimeout(timer)
  return hung ? 'hung' : JSON.parse(out) as Outcome
}

// The fixture's worker dies on its second batch; with one thread that is batch 1, so an input
// of 2, 3 or 4 batches has it in the last 2·threads+1 = 3.
t.test('a worker crash in one of the last batches fails the run with HP_ERR_WORKER_CRASHED', { timeout: 90_000 }, async t => {
  for (const batches of [2, 3, 4]) {
    for (const dedupe of [true, false]) {
      const r = await run({ inputs: [input(batches)], dedupe, workerFile: crashing })
      t.not(r, 'hung', `${batches} batches, dedupe ${String(dedupe)}: the run ends`)
      if (r === 'hung') continue
      t.match(r, { ok: false, code: 'HP_ERR_WORKER_CRASHED', message: /hash worker failed on batch \d+/ }, `${batches} batches, dedupe ${String(dedupe)}`)
    }
  }
})

t.test('a background spill that fails while batches keep coming fails the run with HP_ERR_SPILL_IO', { timeout: 60_000 }, async t => {
  for (const batches of [3, 12]) {
    const r = await run({ inputs: [input(batches)], memoryBudgetBytes: 96 * 1024, tmpDir: join(dir, 'no-such-dir') })
    t.not(r, 'hung', `${batches} batches: the run ends`)
    if (r === 'hung') continue
    t.match(r, { ok: false, code: 'HP_ERR_SPILL_IO', message: /cannot create a dedupe spill directory/ }, `${batches} batches`)
  }
})

t.test('the same inputs hash fine with a healthy worker', { timeout: 30_000 }, async t => {
  for (const batches of [2, 4]) {
    const r = await run({ inputs: [input(batches)] })
    t.same(r, { ok: true, valid: kPerBatch * (batches - 1) + 1000 }, `${batches} batches`)
  }
})
