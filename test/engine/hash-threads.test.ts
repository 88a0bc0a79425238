// One thread or three, native hashing or node:crypto: byte-identical output. A worker that dies
// mid-batch fails the run quickly with HP_ERR_WORKER_CRASHED, wherever that batch is. Batches
// are transferred, not copied. Node flags a Worker refuses do not stop a run.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { runCli } from '../helpers/cli.js'
import { runHashJob, type HashJobOptions } from '../../engine/hash-job.js'
import { HashPool } from '../../pipeline/hash-pool.js'

const dir = mkdtempSync(join(tmpdir(), 'hp-threads-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

let seed = 99
const rnd = (): number => { seed = (seed * 48271) % 2147483647; return seed / 2147483647 }
const input = join(dir, 'in.csv')
const rows = ['email,phone,maid']
for (let i = 0; i < 60000; i++) {
  const p = Math.floor(rnd() * 30000)
  const maid = [8, 4, 4, 4, 12].map(n => Array.from({ length: n }, () => '0123456789ABCDEF'[(p * 7 + n) % 16]).join('')).join('-')
  rows.push(`${rnd() < 0.5 ? ' ' : ''}Person${p}@Example.com,+1 415 ${200 + (p % 700)} ${1000 + (p % 9000)},${maid}`)
}
writeFileSync(input, rows.join('\n') + '\n')

t.test('1 thread, 3 threads and the pure-Node hash path give identical output', async t => {
  const outs: string[] = []
  for (const [threads, env] of [['1', {}], ['3', {}], ['2', { HASHPIPE_NATIVE: '0' }]] as const) {
    const out = join(dir, `out-${threads}.csv`)
    const r = await runCli(['hash', input, '--out', out, '--threads', threads, '--no-progress', '--batch-bytes', '64KiB'], { env })
    t.equal(r.code, 0, r.stderr)
    outs.push(readFileSync(out, 'utf8'))
  }
  t.ok(outs[0]!.split('\n').length > 30000)
  t.equal(outs[1], outs[0], '3 threads')
  t.equal(outs[2], outs[0], 'node:crypto fallback')

  // Flags a Worker refuses (V8's and process-wide ones) beside one it takes: the run once failed
  // at its first worker with HP_ERR_INTERNAL "invalid execArgv flags".
  const out = join(dir, 'out-flags.csv')
  const r = await runCli(['hash', input, '--out', out, '--no-progress', '--batch-bytes', '64KiB'], { nodeArgs: ['--expose-gc', '--max-old-space-size=2048', '--title=hashpipe-test', '--enable-source-maps'] })
  t.equal(r.code, 0, r.stderr)
  t.equal(readFileSync(out, 'utf8'), outs[0], 'node run with V8 and process-wide flags')
})

// The fixture's worker dies on its second batch (batch 1 with one thread): mid-run in the large
// input, in the last batch of two, and in the next to last of three (that one once hung the run).
// Records of 23 bytes: a 64 KiB batch holds 2849 of them.
const short = (batches: number): string => {
  const file = join(dir, `batches-${batches}.csv`)
  writeFileSync(file, 'email\n' + Array.from({ length: 2849 * (batches - 1) + 651 }, (_, i) => `u${String(i).padStart(9, '0')}@example.com\n`).join(''))
  return file
}
const [two, three] = [short(2), short(3)]

for (const [what, file] of [['mid-run', input], ['in the last batch', two], ['in the next to last batch', three]] as const) {
  t.test(`a worker that crashes ${what} fails the run, without hanging`, { timeout: 90_000 }, async t => {
    const options: HashJobOptions = {
      inputs: [file],
      threads: 1,
      batchBytes: 64 * 1024,
      maxRecordBytes: 8192,
      normalize: { defaultCountry: 'US', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: false },
      includeValues: false,
      dedupe: true,
      memoryBudgetBytes: 1 << 28,
      tmpDir: dir,
      workerFile: new URL('../fixtures/crashing-worker.js', import.meta.url).href
    }
    await t.rejects(runHashJob(options, { digests: async () => {} }, new PassThrough()), { code: 'HP_ERR_WORKER_CRASHED', message: /hash worker failed on batch \d+/ })
  })
}

t.test('batches are transferred, not copied', async t => {
  const pool = new HashPool({ threads: 1, workerOptions: { defaultCountry: 'US', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: false, maxRecordBytes: 8192, includeValues: false } })
  t.teardown(async () => await pool.destroy())
  const bytes = Buffer.from('a@x.com\nb@x.com\n')
  const buffer = new ArrayBuffer(bytes.length)
  new Uint8Array(buffer).set(bytes)
  const r = await pool.run({ seq: 0, input: 0, buffer, byteLength: bytes.length, firstByte: 0, plan: { format: 'lines', fields: [{ index: 0, key: '', name: 'email', type: 'email' }] } })
  t.equal(buffer.byteLength, 0, 'the sender no longer holds the batch')
  t.equal(r.count, 2)
  t.equal(r.buffer.byteLength, bytes.length, 'the input buffer came back for reuse')
})
