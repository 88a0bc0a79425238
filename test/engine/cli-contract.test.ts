// The command line's contract for people and scripts: usage and help, one coded human line per
// failure (no JSON, no stack without HASHPIPE_LOG_LEVEL), `{"error"}` for --json, exit 2 naming
// the option for every bad value, an input that is also the output refused, and a closed
// stdout (`| head`) ending quietly with exit 0.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, linkSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, cliPath } from '../helpers/cli.js'
import { tempDir } from '../helpers/temp-dir.js'

const dir = tempDir(t, 'hp-cli-contract-')
const input = join(dir, 'a.csv')
const original = 'email,phone\na@example.com,+14155550100\nb@example.com,+14155550101\n'
writeFileSync(input, original)

t.test('bare hashpipe: usage on stderr, exit 2; --help and help CMD; --version listed', async t => {
  const bare = await runCli([])
  t.equal(bare.code, 2)
  t.equal(bare.stdout, '')
  t.match(bare.stderr, /^usage: hashpipe <command>/)
  t.match(bare.stderr, /--version/)
  const help = await runCli(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /^usage: hashpipe <command>/)
  const hashHelp = (await runCli(['hash', '--help'])).stdout
  t.match(hashHelp, /^usage: hashpipe hash <input\.\.\.>/)
  t.equal((await runCli(['help', 'hash'])).stdout, hashHelp, 'help CMD is CMD --help')
  t.equal((await runCli(['--help', 'hash'])).stdout, hashHelp, '--help CMD too')
  const typo = await runCli(['hsah'])
  t.equal(typo.code, 2)
  t.equal(typo.stderr, "hashpipe: HP_ERR_USAGE: unknown command 'hsah'; did you mean 'hash'? (hashpipe --help lists the commands)\n")
})

t.test('a failure is one human line: no JSON, no stack; --json adds {"error"} on stdout', async t => {
  const missing = join(dir, 'missing.csv')
  const r = await runCli(['hash', missing, '--out', join(dir, 'out.csv')])
  t.equal(r.code, 1)
  t.equal(r.stderr, `hashpipe: HP_ERR_INPUT_UNREADABLE: cannot read input '${missing}': ENOENT; check the path\n`)
  const json = await runCli(['hash', missing, '--out', join(dir, 'out.csv'), '--json'])
  t.equal(json.code, 1)
  t.same(JSON.parse(json.stdout), { error: { code: 'HP_ERR_INPUT_UNREADABLE', message: `cannot read input '${missing}': ENOENT; check the path` } })
  const debug = await runCli(['hash', missing, '--out', join(dir, 'out.csv')], { env: { HASHPIPE_LOG_LEVEL: 'debug' } })
  t.match(debug.stderr, /"level":50/, 'the JSON error line at an explicit level')
})

t.test('bad option values: exit 2 naming the option', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['hash', input, '--default-country', 'ZZ'], /^hashpipe: HP_ERR_USAGE: --default-country must be an ISO 3166 alpha-2 country code/],
    [['hash', input, '--default-country', 'UK'], /\(for UK use GB\)/],
    [['hash', input, '--max-reject-ratio', ''], /^hashpipe: HP_ERR_USAGE: --max-reject-ratio must be a number from 0 to 1/],
    [['hash', input, '--pushgateway', 'nope'], /^hashpipe: HP_ERR_USAGE: --pushgateway must be an http/],
    [['hash', input, '--log-file', '/proc/hashpipe-none/x.log'], /^hashpipe: HP_ERR_USAGE: --log-file '\/proc\/hashpipe-none\/x\.log' cannot be created/],
    [['status', '--config', join(dir, 'x.yaml'), '--runs', 'x'], /^hashpipe: HP_ERR_USAGE: --runs must be a whole number from 1 up, not 'x'/],
    [['status', '--config', join(dir, 'x.yaml'), '--runs', '0'], /--runs must be a whole number/],
    [['connect', 'tiktok', '--config', join(dir, 'x.yaml'), '--name', 'a', '--port', 'x'], /^hashpipe: HP_ERR_USAGE: --port must be a port number/]
  ]
  for (const [args, expected] of cases) {
    const r = await runCli(args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, expected, args.join(' '))
    t.notMatch(r.stderr, /internal error|"level"/)
  }
})

t.test('an input that is also the output is refused, by path or by inode', async t => {
  for (const [option, path] of [['--out', input], ['--out', `${dir}/./a.csv`], ['--rejects', input]] as const) {
    const r = await runCli(['hash', input, option, path])
    t.equal(r.code, 2)
    t.match(r.stderr, new RegExp(`^hashpipe: HP_ERR_USAGE: ${option} '.*a\\.csv' is the input '.*a\\.csv' too; .*Name another file for ${option}`))
  }
  const link = join(dir, 'link.csv')
  linkSync(input, link)
  const linked = await runCli(['hash', input, '--out', link])
  t.equal(linked.code, 2, 'a hard link is the same file')
  t.equal(readFileSync(input, 'utf8'), original, 'the input is untouched')
})

t.test('stdout closed by its reader (| head): quiet exit 0, no temporary file left', async t => {
  const big = join(dir, 'big.csv')
  writeFileSync(big, 'email\n' + Array.from({ length: 200_000 }, (_, i) => `u${i}@example.com`).join('\n') + '\n')
  const child = spawn('/bin/sh', ['-c', `'${process.execPath}' '${cliPath}' hash '${big}' --no-dedupe --no-progress --rejects '${join(dir, 'r.csv')}' | head -1`], { env: { ...process.env, NODE_OPTIONS: '' } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  // `sh -c 'a | b'` reports b's status: ask the shell for a's through a second run below.
  await once(child, 'close')
  t.equal(stdout, 'id_type,sha256\n')
  t.equal(stderr, '', 'nothing on stderr: no EPIPE stack, no disk-full advice')
  t.notOk(readdirSync(dir).some(f => f.endsWith('.tmp')), 'no temporary rejects file left')
  t.notOk(existsSync(join(dir, 'r.csv')), 'an unfinished rejects file is not committed')
  const status = spawn('/bin/bash', ['-c', `'${process.execPath}' '${cliPath}' hash '${big}' --no-dedupe --no-progress | head -1 >/dev/null; exit \${PIPESTATUS[0]}`])
  const [code] = await once(status, 'close') as [number]
  t.equal(code, 0, 'hashpipe itself exits 0')
})
