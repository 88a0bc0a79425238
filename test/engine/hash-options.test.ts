// The hash options: frozen defaults, every numeric bound at its edges, errors that name the
// option as the caller spelled it (API path, CLI flag, config key), and the CLI exiting 2 with
// the option named (never a stack) for sizes past their bound.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { checkHashNumber, fillHashOptions, formatSize, kCliNames, kHashBounds, kHashDefaults, type HashOptions } from '../../engine/hash-options.js'
import { runCli } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'hp-options-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('defaults are frozen, within their bounds, and fill in whatever is not given', async t => {
  t.ok(Object.isFrozen(kHashDefaults) && Object.isFrozen(kHashDefaults.normalize) && Object.isFrozen(kHashBounds) && Object.isFrozen(kHashBounds.threads))
  t.throws(() => { (kHashDefaults as { batchBytes: number }).batchBytes = 1 }, TypeError)
  for (const key of ['threads', 'batchBytes', 'maxRecordBytes', 'memoryBudgetBytes'] as const) {
    t.ok(kHashDefaults[key] >= kHashBounds[key].min && kHashDefaults[key] <= kHashBounds[key].max, `default ${key} within bounds`)
  }
  const filled = fillHashOptions({ inputs: ['a.csv'] })
  t.same(filled, {
    inputs: ['a.csv'],
    threads: availableParallelism(),
    batchBytes: 1 << 20,
    maxRecordBytes: 8192,
    memoryBudgetBytes: Math.min(1 << 30, totalmem()),
    tmpDir: tmpdir(),
    normalize: { defaultCountry: 'US', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: false },
    includeValues: false,
    dedupe: true
  })
  t.notOk(Object.isFrozen(filled), 'the filled options are the caller\'s own')
  t.not(filled.normalize, kHashDefaults.normalize)
  t.same(fillHashOptions({ inputs: ['-'], normalize: { stripPlusTag: true, defaultCountry: 'gb' } }).normalize,
    { defaultCountry: 'GB', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: true }, 'a partial normalize keeps the other defaults')
})

t.test('every numeric bound at its edges', async t => {
  const cases = {
    threads: { min: 1, max: availableParallelism() * 4 },
    batchBytes: { min: 1024, max: 256 * 1024 * 1024 },
    maxRecordBytes: { min: 64, max: 16 * 1024 * 1024 },
    memoryBudgetBytes: { min: 64 * 1024, max: totalmem() }
  } as const
  t.same(kHashBounds, cases, 'the documented bounds')
  for (const [key, { min, max }] of Object.entries(cases) as Array<[keyof typeof cases, { min: number, max: number }]>) {
    const at = (v: number): HashOptions => ({ inputs: ['a'], [key]: v })
    t.equal(fillHashOptions(at(min))[key], min, `${key} = min`)
    t.equal(fillHashOptions(at(max))[key], max, `${key} = max`)
    t.throws(() => fillHashOptions(at(max + 1)), { code: 'HP_ERR_USAGE', exitCode: 2, message: new RegExp(`^options\\.${key} must be at most `) }, `${key} = max + 1`)
    t.throws(() => fillHashOptions(at(min - 1)), { code: 'HP_ERR_USAGE', message: new RegExp(`^options\\.${key} must be at least `) }, `${key} = min - 1`)
    t.throws(() => fillHashOptions(at(min + 0.5)), { code: 'HP_ERR_USAGE', message: new RegExp(`^options\\.${key} must be a whole number`) }, `${key} fractional`)
    t.throws(() => fillHashOptions({ inputs: ['a'], [key]: '8' } as unknown as HashOptions), { message: new RegExp(`^options\\.${key} must be a whole number.*; got '8'$`) }, `${key} as a string`)
  }
  t.throws(() => fillHashOptions({ inputs: ['a'], batchBytes: 2 ** 30 }), { message: 'options.batchBytes must be at most 256MiB; got 1GiB' }, 'sizes are shown in units')
  t.throws(() => fillHashOptions({ inputs: ['a'], threads: cases.threads.max + 1 }), { message: `options.threads must be at most ${cases.threads.max} (4 × this machine's parallelism, ${availableParallelism()}); got ${cases.threads.max + 1}` })
  t.equal(checkHashNumber('threads', undefined), kHashDefaults.threads, 'checkHashNumber fills the default')
  t.throws(() => checkHashNumber('threads', 0, { names: { threads: '--threads' }, given: { threads: "'0'" } }), { message: "--threads must be at least 1; got '0'" })
})

t.test('errors name the option the way the caller spells it', async t => {
  t.throws(() => fillHashOptions({ inputs: ['a'], batchBytes: 100 * 2 ** 30 }, { names: kCliNames, given: { batchBytes: '100GiB' } }), { message: '--batch-bytes must be at most 256MiB; got 100GiB' })
  t.throws(() => fillHashOptions({ inputs: ['a'], maxRecordBytes: 32 }, { names: kCliNames }), { message: '--max-line-bytes must be at least 64 bytes; got 32 bytes' })
  const config = { names: { 'normalize.defaultCountry': 'hashing.default_country', format: 'segments[1].format' } } as const
  t.throws(() => fillHashOptions({ inputs: ['a'], normalize: { defaultCountry: 'USA' } }, config), { message: /^hashing\.default_country must be an ISO 3166 alpha-2 country code.*\(for USA use US\); got 'USA'$/ })
  t.throws(() => fillHashOptions({ inputs: ['a'], format: 'xml' as 'csv' }, config), { message: "segments[1].format must be one of csv|tsv|lines|ndjson|json|parquet; got 'xml'" })
  t.throws(() => fillHashOptions({ inputs: ['a'], delimiter: ':' }, { names: { delimiter: 'segments[1].delimiter' } }), { message: "segments[1].delimiter must be one of ',' ';' '|' tab; got ':'" })
  t.throws(() => fillHashOptions({ inputs: ['a'], delimiter: ';', format: 'ndjson' }), { message: "options.delimiter applies to csv only (the format is ndjson); got ';'" })
  t.equal(fillHashOptions({ inputs: ['a'], delimiter: 'tab' }).delimiter, 9)
  t.throws(() => fillHashOptions({ inputs: ['a'], normalize: { phoneHashForm: 'e.164' as 'e164' } }), { message: "options.normalize.phoneHashForm must be one of e164|digits; got 'e.164'" })
  t.throws(() => fillHashOptions({ inputs: ['a'], normalize: { stripPlusTag: 'yes' as unknown as boolean } }), { message: "options.normalize.stripPlusTag must be true or false; got 'yes'" })
  t.throws(() => fillHashOptions({ inputs: ['a'], type: 'fax' as 'email' }, { names: kCliNames }), { message: "--type must be one of email|email_sha256|phone|phone_sha256|maid|idfa|gaid; got 'fax'" })
  t.throws(() => fillHashOptions({ inputs: ['a'], columns: { fax: 'F' } as unknown as HashOptions['columns'] }), { message: /^options\.columns maps types .* only; got 'fax'$/ })
  t.throws(() => fillHashOptions({ inputs: [] }), { message: /^options\.inputs must list at least one file/ })
  t.throws(() => fillHashOptions({ inputs: ['-', '-'] }), { message: /stdin \(-\) more than once/ })
  t.throws(() => fillHashOptions(undefined as unknown as HashOptions), { code: 'HP_ERR_USAGE' })
  t.equal(formatSize(1536), '1536 bytes')
  t.equal(formatSize(3 * 2 ** 20), '3MiB')
})

t.test('the CLI exits 2 naming the option, with no stack', async t => {
  const input = join(dir, 'in.txt')
  writeFileSync(input, 'a@b.co\n')
  const big = await runCli(['hash', input, '--type', 'email', '--no-progress', '--batch-bytes', '100GiB'])
  t.equal(big.code, 2, big.stderr)
  t.equal(big.stderr, 'hashpipe: HP_ERR_USAGE: --batch-bytes must be at most 256MiB; got 100GiB\n', 'one line, the option named, no stack')
  t.equal(big.stdout, '')
  const edge = await runCli(['hash', input, '--type', 'email', '--no-progress', '--batch-bytes', '256MiB', '--max-line-bytes', '16MiB', '--memory-budget', '64KiB', '--threads', '1'])
  t.equal(edge.code, 0, `the maxima and minima themselves run: ${edge.stderr}`)
  const line = await runCli(['hash', input, '--type', 'email', '--no-progress', '--max-line-bytes', '16777217'])
  t.equal(line.code, 2)
  t.equal(line.stderr, 'hashpipe: HP_ERR_USAGE: --max-line-bytes must be at most 16MiB; got 16777217\n')
  const threads = await runCli(['hash', input, '--type', 'email', '--no-progress', '--threads', String(availableParallelism() * 4 + 1)])
  t.equal(threads.code, 2)
  t.match(threads.stderr, /^hashpipe: HP_ERR_USAGE: --threads must be at most \d+ \(4 × this machine's parallelism, \d+\); got '\d+'\n$/)
  const zero = await runCli(['hash', input, '--type', 'email', '--threads', 'zero'])
  t.equal(zero.stderr, "hashpipe: HP_ERR_USAGE: --threads must be a whole number; got 'zero'\n")
  const dist = await runCli(['distribute', '--config', join(dir, 'none.yaml'), '--threads', '100000'])
  t.equal(dist.code, 2, 'distribute checks --threads against the same bound, before reading the config')
  t.match(dist.stderr, /^hashpipe: HP_ERR_USAGE: --threads must be at most \d+/)
})
