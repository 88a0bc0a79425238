// A full disk, end to end: wherever `hashpipe hash` meets one (the output, the rejects file,
// standard output, the log file) it exits 1 with HP_ERR_DISK_FULL naming what it was writing and
// what to do, never an "internal error" with a stack. /dev/full answers every write with ENOSPC.
// (The state database filling up mid-delivery: disk-full-distribute.test.ts.)
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliPath, runCli } from '../helpers/cli.js'

const kStack = /\n\s+at /

const dir = mkdtempSync(join(tmpdir(), 'hp-full-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const input = join(dir, 'in.csv')
writeFileSync(input, 'email\na@example.com\nnot-an-email\nb@example.com\n')

function refusesCleanly (t: Pick<typeof import('tap').default, 'equal' | 'match' | 'notMatch'>, r: { code: number | null, stderr: string }, path: RegExp, what: string): void {
  t.equal(r.code, 1, `${what}: exit 1`)
  t.match(r.stderr, /hashpipe: HP_ERR_DISK_FULL: /, `${what}: the code is on stderr`)
  t.match(r.stderr, path, `${what}: names what it was writing`)
  t.match(r.stderr, /no space left on the disk \(ENOSPC\); free space on the filesystem holding /, `${what}: says what to do`)
  t.notMatch(r.stderr, /internal error/, `${what}: not an internal error`)
  t.notMatch(r.stderr, kStack, `${what}: no stack trace`)
}

t.test('hash --out /dev/full', async t => {
  const r = await runCli(['hash', input, '--out', '/dev/full', '--no-progress', '--threads', '1'])
  refusesCleanly(t, r, /cannot write output '\/dev\/full'.*holding \/dev\/full, or write it elsewhere/, '--out')
})

t.test('hash --rejects /dev/full', async t => {
  const r = await runCli(['hash', input, '--out', join(dir, 'out.csv'), '--rejects', '/dev/full', '--no-progress', '--threads', '1'])
  refusesCleanly(t, r, /cannot write output '\/dev\/full'/, '--rejects')
})

t.test('hash --log-file /dev/full', async t => {
  const r = await runCli(['hash', input, '--out', join(dir, 'out2.csv'), '--log-file', '/dev/full', '--no-progress', '--threads', '1'])
  refusesCleanly(t, r, /cannot write the log file \/dev\/full.*or point --log-file elsewhere/, '--log-file')
})

t.test('hash with standard output on /dev/full', async t => {
  const full = openSync('/dev/full', 'w')
  t.teardown(() => closeSync(full))
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cliPath, 'hash', input, '--no-progress', '--threads', '1'], { stdio: ['ignore', full, 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
  const [code] = await once(child, 'close') as [number | null]
  refusesCleanly(t, { code, stderr }, /cannot write output to standard output/, 'stdout')
})
