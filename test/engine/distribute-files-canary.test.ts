// No identifier or secret, plain or hashed, in anything the customer-file path prints or logs:
// stdout, stderr and the debug-level JSON log of a first load and of a run stopped by TikTok's
// processing (its refusal message included).
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { distributeWorld } from '../helpers/distribute-world.js'
import { assertNoCanary, canaryCsv } from '../helpers/canary.js'

t.test('customer-file delivery leaks no canary', async t => {
  const w = await distributeWorld(t, 'first-party-record-sync', 100, {
    destination: ', audience_type: customer_file', tiktok: '\n  file_max_bytes: 10000', emulator: { processingMs: 3_600_000 }
  })
  const rows = (n: number): string => Array.from({ length: n }, (_, i) => `user${i}@example.com,,`).join('\n') + '\n'
  const log = join(w.dir, 'hashpipe.log')
  const env = { HASHPIPE_LOG_LEVEL: 'debug' }
  writeFileSync(w.input, canaryCsv() + rows(1200))
  const first = await w.distribute(['--log-file', log], env)
  t.equal(first.code, 0, first.stdout + first.stderr)
  writeFileSync(w.input, canaryCsv() + rows(1100))
  const second = await w.distribute(['--log-file', log], env)
  t.equal(second.code, 5, 'stopped by processing')
  const text = [first.stdout, first.stderr, second.stdout, second.stderr, readFileSync(log, 'utf8')].join('\n')
  t.match(text, /upload files written/, 'the file path logged')
  assertNoCanary(t, text, undefined, 'customer-file output and logs')
})
