// The programmatic API, imported by the package's own name: Node resolves 'hashpipe' through
// package.json `exports` from inside the package, so this is what a dependent gets.
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hash, distribute, HashpipeError, ExitCode, ID_SCHEMAS, kHashDefaults, type DigestBatch, type HashRunOptions, type RejectRecord } from 'hashpipe'

const sha = (v: string): string => createHash('sha256').update(v).digest('hex')
const dir = mkdtempSync(join(tmpdir(), 'hp-api-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const input = join(dir, 'people.csv')
writeFileSync(input, 'Email,Phone\n Jane.Doe@Example.com ,(657) 777-0000\njane.doe@example.com,not a phone\nbob@example.org,\n')
const expected = [
  `EMAIL_SHA256,${sha('bob@example.org')}`,
  `EMAIL_SHA256,${sha('jane.doe@example.com')}`,
  `PHONE_SHA256,${sha('+16577770000')}`
].sort()

t.test('the package name resolves to the API, with the shared defaults', async t => {
  const api = await import('hashpipe')
  t.equal(typeof api.hash, 'function')
  t.equal(typeof api.distribute, 'function')
  t.ok(Object.isFrozen(kHashDefaults))
  t.equal(ExitCode.USAGE, 2)
})

t.test('hash() writes the output file and reports digests that are node:crypto\'s', async t => {
  const out = join(dir, 'unique.csv')
  const rejects: RejectRecord[] = []
  const summary = await hash({ inputs: [input], out, threads: 1, onReject: (_file, r) => { rejects.push(r) } })
  t.equal(summary.rows, 3)
  t.equal(summary.unique_total, 3)
  t.equal(summary.duplicates, 1)
  const lines = readFileSync(out, 'utf8').trim().split('\n')
  t.equal(lines[0], 'id_type,sha256')
  t.same(lines.slice(1).sort(), expected)
  t.same(rejects.map(r => [r.line, r.field, r.reason]), [[3, 'Phone', 'phone_invalid']], 'rejects with absolute line numbers, no value')
  t.equal(rejects[0]!.value, undefined)

  const seen: string[] = []
  const onDigests = (b: DigestBatch): void => {
    for (let i = 0; i < b.count; i++) seen.push(`${ID_SCHEMAS[b.schemas[i]!]},${Buffer.from(b.digests.subarray(i * 32, i * 32 + 32)).toString('hex')}`)
  }
  await hash({ inputs: [input], onDigests, threads: 1 })
  t.same(seen.sort(), expected, 'the callback gets the same digests')
  const all: string[] = []
  await hash({ inputs: [input], dedupe: false, threads: 1, onDigests: b => { for (let i = 0; i < b.count; i++) all.push(Buffer.from(b.digests.subarray(i * 32, i * 32 + 32)).toString('hex')) } })
  t.same(all, [sha('jane.doe@example.com'), sha('+16577770000'), sha('jane.doe@example.com'), sha('bob@example.org')], 'without dedupe: every digest, in input order')
})

t.test('hash() refuses bad options by their API names, before writing anything', async t => {
  const out = join(dir, 'never.csv')
  await t.rejects(hash({ inputs: [input], out, batchBytes: 100 * 2 ** 30 }), { code: 'HP_ERR_USAGE', exitCode: 2, message: 'options.batchBytes must be at most 256MiB; got 100GiB' })
  await t.rejects(hash({ inputs: [input], out, outFormat: 'xml' } as unknown as HashRunOptions), { message: "options.outFormat must be one of csv|ndjson; got 'xml'" })
  const err = await hash({ inputs: [join(dir, 'missing.csv')] }).catch((e: unknown) => e)
  t.ok(err instanceof HashpipeError, 'errors are the exported HashpipeError')
  t.equal((err as HashpipeError).code, 'HP_ERR_INPUT_UNREADABLE')
  t.notOk(existsSync(out))
})

t.test('distribute() runs a config\'s distributions (a dry run here: no TikTok call)', async t => {
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `state_dir: state
tiktok:
  app_id: "7000000000000000001"
  secret: \${APP_SECRET}
destinations:
  - { name: Acme, integration: first-party, advertiser_id: "7123456789012345678", connection: acme }
segments:
  - { name: people, inputs: [people.csv], destination: Acme }
`)
  const results = await distribute({ config, dryRun: true, threads: 1, env: { APP_SECRET: 'not-a-real-secret' } })
  t.equal(results.length, 1)
  t.match(results[0], { segment: 'people', destination: 'Acme', status: 'ok', result: { dry_run: true, plan: { add: { EMAIL_SHA256: 2, PHONE_SHA256: 1 } } } })
  await t.rejects(distribute({ config, threads: 0 }), { code: 'HP_ERR_USAGE', message: 'options.threads must be at least 1; got 0' })
  const missing = await distribute({ config: join(dir, 'nope.yaml') }).catch((e: unknown) => e)
  t.ok(missing instanceof HashpipeError)
  t.match(missing, { code: 'HP_ERR_CONFIG_INVALID', exitCode: ExitCode.CONFIG }, 'the command\'s error, with its exit code')
})
