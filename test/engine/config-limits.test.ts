// Config size is bounded before anything big is built: the file (1 MiB, checked with fstat
// before reading; a config is written by hand), and every string value (64 Ki characters) as
// written, as taken from an environment variable and as expanded — the expansion stops at the
// bound. Each refusal names the key path (and the variable, the file, its size) and never the
// value. Memory stays flat: a 50 MB value, in the file or in a variable, is refused in well
// under 300 MB of peak RSS (it used to cost about 1.9 GB).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkConfig, MAX_CONFIG_BYTES, MAX_VALUE_CHARS, readConfigText } from '../../engine/config.js'
import { interpolateString } from '../../engine/config-interpolate.js'
import { cliPath, runCli } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'hp-cfg-limits-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const config = (appId: string): string => `tiktok:\n  app_id: "${appId}"\n  secret: \${SECRET}\n`
const problems = (text: string, env: Record<string, string> = {}): string[] =>
  checkConfig(text, { env: { SECRET: 'app-secret-value', ...env } }).problems.map(p => `${p.path}: ${p.message}`)

t.test('the limits', async t => {
  t.equal(MAX_VALUE_CHARS, 65536)
  t.equal(MAX_CONFIG_BYTES, 1048576)
})

t.test('a value as written: up to the limit accepted, one more refused by key path', async t => {
  t.same(problems(config('a'.repeat(MAX_VALUE_CHARS))), [], 'at the limit')
  t.same(problems(config('a'.repeat(MAX_VALUE_CHARS + 1))), [
    'tiktok.app_id: is 65,537 characters long, over the 65,536-character limit for a config value; no setting needs that much — check that the right text is there'
  ])
  const long = problems(`state_dir: "${'d'.repeat(100000)}"\ntiktok:\n  app_id: "1"\n  secret: \${SECRET}\n`)
  t.same(long, ['state_dir: is 100,000 characters long, over the 65,536-character limit for a config value; no setting needs that much — check that the right text is there'], 'one problem per value, not a schema echo')
})

t.test('a value from the environment: refused naming the variable and the key, never quoting it', async t => {
  const secret = 's'.repeat(MAX_VALUE_CHARS + 10)
  const p = problems('tiktok:\n  app_id: "1"\n  secret: ${SECRET}\n', { SECRET: secret })
  t.same(p, ['tiktok.secret: environment variable SECRET is 65,546 characters long, over the 65,536-character limit for a config value; check what SECRET holds'])
  t.same(problems(config('${BIG}'), { BIG: 'b'.repeat(MAX_VALUE_CHARS) }), [], 'a variable at the limit is fine')
})

t.test('an expansion: stops at the limit and is refused', async t => {
  const half = 'h'.repeat(40000)
  t.same(problems(config('${A}${A}'), { A: half }), [
    'tiktok.app_id: expands to more than 65,536 characters, the limit for a config value; check the ${...} references in it and what their variables hold'
  ])
  t.same(problems(config(`${'x'.repeat(30000)}\${A}`), { A: half }).length, 1, 'literal text counts too')
  t.same(problems(config(`\${UNSET:-${'d'.repeat(40000)}}\${A}`), { A: half }).length, 1, 'defaults count too')
  t.same(interpolateString('${A}-$${A}-${B:-b}', { A: 'a' }), { ok: true, value: 'a-${A}-b' }, 'expansion itself unchanged')
  t.match(interpolateString('ab ${', {}), { ok: false, message: /malformed \$\{\.\.\.\} reference at character 4/ }, 'positions unchanged')
})

t.test('config text over 1 MiB is refused before it is parsed', async t => {
  const text = config('a'.repeat(MAX_CONFIG_BYTES))
  const p = problems(text)
  t.same(p, [`: the config text is ${text.length.toLocaleString('en-US')} bytes, over the 1 MiB (1,048,576-byte) limit for a config; a config is written by hand and a few KiB long: check that --config names the config and not a data file (data files go under segments[].inputs)`])
  const multibyte = problems(config('é'.repeat(MAX_CONFIG_BYTES / 2)))
  t.match(multibyte[0], /is 1,048,6\d\d bytes, over the 1 MiB/, 'counted in UTF-8 bytes, not characters')
})

t.test('a long unknown key is named by its start', async t => {
  const key = 'k'.repeat(1000)
  const p = problems(`tiktok:\n  app_id: "1"\n  secret: \${SECRET}\n  ${key}: 1\n`)
  t.same(p, [`tiktok["${'k'.repeat(64)}…"]: unknown key`])
})

t.test('a config file over 1 MiB: refused from its size, exit 78 naming the file, its size and the limit', async t => {
  const file = join(dir, 'big.yaml')
  const text = config('a'.repeat(2 * MAX_CONFIG_BYTES))
  writeFileSync(file, text)
  await t.rejects(readConfigText(file), {
    code: 'HP_ERR_CONFIG_INVALID',
    exitCode: 78,
    message: `config '${file}' is invalid (1 problem):\n  config file '${file}' is ${text.length.toLocaleString('en-US')} bytes, over the 1 MiB (1,048,576-byte) limit for a config; a config is written by hand and a few KiB long: check that --config names the config and not a data file (data files go under segments[].inputs)`
  })
  const ok = join(dir, 'ok.yaml')
  writeFileSync(ok, config('a'.repeat(MAX_VALUE_CHARS)))
  t.equal(await readConfigText(ok), config('a'.repeat(MAX_VALUE_CHARS)), 'a file under the limit reads whole')
  await t.rejects(readConfigText(join(dir, 'nope.yaml')), { code: 'HP_ERR_CONFIG_INVALID', message: /cannot read config file '.*nope\.yaml': ENOENT/ })
  await t.rejects(readConfigText(dir), { code: 'HP_ERR_CONFIG_INVALID', message: /cannot read config file '.*': EISDIR/ })
})

t.test('a config on a pipe: read only to the limit', async t => {
  // No size to fstat: the read itself stops one byte past the limit.
  const r = spawnSync('bash', ['-c', `head -c ${3 * MAX_CONFIG_BYTES} /dev/zero | tr '\\0' a | "$0" "$@"`, process.execPath, cliPath, 'validate', '--config', '/dev/stdin'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
  t.equal(r.status, 78, r.stderr)
  t.match(r.stderr, "config file '/dev/stdin' is larger than the 1 MiB (1,048,576-byte) limit for a config")
})

// ---- memory ---------------------------------------------------------------------------------

const kFifty = 50 * 1024 * 1024
const kRssLimitKiB = 300 * 1024

t.test('a 50 MB value, in the text or in a variable, is refused with flat memory', async t => {
  const module = fileURLToPath(new URL('../../engine/config.js', import.meta.url))
  const script = join(dir, 'rss.mjs')
  writeFileSync(script, `
    import { checkConfig } from ${JSON.stringify(module)}
    const big = 'a'.repeat(${kFifty})
    const cases = {
      text: [\`tiktok:\\n  app_id: "\${big}"\\n  secret: s\\n\`, {}],
      variable: ['tiktok:\\n  app_id: \${BIG}\\n  secret: s\\n', { BIG: big }],
      expansion: [\`tiktok:\\n  app_id: "\${'\${A}'.repeat(2000)}"\\n  secret: s\\n\`, { A: 'a'.repeat(60000) }]
    }
    const [text, env] = cases[process.argv[2]]
    const { problems } = checkConfig(text, { env })
    console.log(JSON.stringify({ problems, maxRssKiB: process.resourceUsage().maxRSS }))
  `)
  for (const which of ['text', 'variable', 'expansion']) {
    const r = spawnSync(process.execPath, [script, which], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
    t.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout) as { problems: Array<{ path: string, message: string }>, maxRssKiB: number }
    t.equal(out.problems.length, 1, `${which}: refused`)
    t.match(out.problems[0]!.message, /limit for a config/, `${which}: for its size`)
    t.ok(out.maxRssKiB < kRssLimitKiB, `${which}: peak RSS ${Math.round(out.maxRssKiB / 1024)} MiB`)
  }
})

t.test('hashpipe validate on a config with a 50 MB value: exit 78, low peak RSS', async t => {
  const file = join(dir, 'fifty.yaml')
  const text = config('a'.repeat(kFifty))
  writeFileSync(file, text)
  let peakKiB: number
  let result: { code: number | null, stderr: string }
  if (existsSync('/usr/bin/time')) {
    const r = spawnSync('/usr/bin/time', ['-f', 'maxrss=%M', process.execPath, cliPath, 'validate', '--config', file], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
    result = { code: r.status, stderr: r.stderr }
    peakKiB = Number(/maxrss=(\d+)/.exec(r.stderr)?.[1])
  } else {
    const r = await runCli(['validate', '--config', file])
    result = r
    peakKiB = r.peakRssKiB
  }
  t.equal(result.code, 78, result.stderr)
  t.match(result.stderr, `config file '${file}' is ${text.length.toLocaleString('en-US')} bytes, over the 1 MiB (1,048,576-byte) limit`)
  t.ok(peakKiB > 0 && peakKiB < kRssLimitKiB, `peak RSS ${Math.round(peakKiB / 1024)} MiB`)
})
