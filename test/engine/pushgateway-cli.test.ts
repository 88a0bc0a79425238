// A batch run pushes its final metrics to a Pushgateway when asked; an unreachable one is a
// warning, never a failed run.
import t from 'tap'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { runCli } from '../helpers/cli.js'

t.test('hash --pushgateway', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-push-'))
  const pushes: Array<{ method: string, url: string, body: string }> = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => { pushes.push({ method: req.method ?? '', url: req.url ?? '', body }); res.writeHead(200).end() })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close(); rmSync(dir, { recursive: true, force: true }) })
  const input = join(dir, 'in.txt')
  writeFileSync(input, 'a@x.com\nb@x.com\n')
  const port = (server.address() as AddressInfo).port
  const ok = await runCli(['hash', input, '--type', 'email', '--out', join(dir, 'o.csv'), '--no-progress', '--pushgateway', `http://127.0.0.1:${port}`])
  t.equal(ok.code, 0, ok.stderr)
  t.equal(pushes.length, 1)
  t.equal(pushes[0]!.method, 'PUT')
  t.match(pushes[0]!.url, /^\/metrics\/job\/hashpipe\/instance\/[^/]+\/command\/hash$/)
  t.match(pushes[0]!.body, /hashpipe_input_rows_total 2/)
  t.match(pushes[0]!.body, /hashpipe_runs_total\{command="hash",result="ok"\} 1/)
  const down = await runCli(['hash', input, '--type', 'email', '--out', join(dir, 'o2.csv'), '--no-progress', '--pushgateway', 'http://127.0.0.1:9'])
  t.equal(down.code, 0, 'an unreachable Pushgateway does not fail the run')
  t.match(down.stderr, /warning/)
})
