// `hashpipe emulator`: its first stdout line names the URL, it binds loopback, --port 0 picks a
// free port, and --state keeps audiences across restarts.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliPath } from '../helpers/cli.js'

async function startCli (args: string[]): Promise<{ url: string, stop: () => Promise<void> }> {
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cliPath, 'emulator', ...args])
  let out = ''
  const first = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('\n')) resolve(out.split('\n')[0]!) })
    child.once('exit', code => reject(new Error(`emulator exited ${String(code)}`)))
  })
  const m = /^hashpipe emulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first)
  if (m === null) throw new Error(`unexpected first line: ${first}`)
  return { url: m[1]!, stop: async () => { child.kill('SIGTERM'); await once(child, 'exit') } }
}

t.test('first line, loopback, free port, state across restarts', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-emu-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const state = join(dir, 'emulator.json')
  const a = await startCli(['--port', '0', '--state', state])
  t.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  const created = await fetch(`${a.url}/open_api/v1.3/segment/audience/`, {
    method: 'POST',
    headers: { 'access-token': 'emulator-token', 'content-type': 'application/json' },
    body: JSON.stringify({ advertiser_id: '7123456789012345678', custom_audience_name: 'persisted' })
  }).then(async r => await r.json() as { code: number, data: { audience_id: string } })
  t.equal(created.code, 0)
  await a.stop()
  const b = await startCli(['--port', '0', '--state', state])
  const list = await fetch(`${b.url}/__emulator/audiences`).then(async r => await r.json() as { data: { audiences: Array<{ audienceId: string, name: string }> } })
  t.same(list.data.audiences.map(x => [x.audienceId, x.name]), [[created.data.audience_id, 'persisted']])
  await b.stop()
})
