// The state database fills up mid-delivery (SQLite's max_page_count, set by a preloaded fixture,
// gives SQLITE_FULL, the code of a full disk): `hashpipe distribute` exits 1 with HP_ERR_DISK_FULL
// naming state.db, even though recording the failure (the last error, in the same database)
// fails too; a rerun once space is back resumes and delivers everything, once.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP } from '../../adapters/emulator/emulator-state.js'
import { cliPath } from '../helpers/cli.js'
import { configHead, connectDefault } from '../helpers/config-head.js'

const kStack = /\n\s+at /
const kAdv = '7123456789012345678'
const preload = fileURLToPath(new URL('../fixtures/sqlite-full.js', import.meta.url))

async function distribute (config: string, withPreload: boolean): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const node = withPreload ? [process.execPath, '--import', preload] : [process.execPath]
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', ...node, cliPath, 'distribute', '--config', config, '--threads', '1'],
    { env: { ...process.env, TIKTOK_APP_SECRET: DEFAULT_APP.secret }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const [code] = await once(child, 'close') as [number | null]
  return { code, stdout, stderr }
}

t.test('distribute: the state database full mid-delivery is HP_ERR_DISK_FULL naming state.db, and the run resumes', async t => {
  const em = await startEmulator({ limits: { qps: 5000, qpm: 300000, advertiserQps: 5000 } })
  const work = mkdtempSync(join(tmpdir(), 'hp-full-dist-'))
  t.teardown(async () => { await em.close(); rmSync(work, { recursive: true, force: true }) })
  const config = join(work, 'hashpipe.yaml')
  writeFileSync(config, `${configHead(em, { qps: 5000, qpm: 300000, batchSize: 3 })}destinations:
  - { name: Acme, integration: first-party, advertiser_id: "${kAdv}", connection: acme }
segments:
  - { name: seg, inputs: [seg.csv], destination: Acme }
`)
  const rows = ['email']
  for (let i = 0; i < 600; i++) rows.push(`user${i}@example.com`)
  writeFileSync(join(work, 'seg.csv'), rows.join('\n') + '\n')
  await connectDefault(work, config)

  const full = await distribute(config, true)
  const db = join(work, 'state', 'state.db')
  t.equal(full.code, 1, full.stderr)
  t.match(full.stderr, `hashpipe: HP_ERR_DISK_FULL: cannot write the state database ${db}: no space left on the disk (SQLITE_FULL); free space on the filesystem holding ${db}, or move state_dir to a larger disk, then run again`)
  t.match(full.stderr, /sqlite-full fixture: the last-error write failed too \(SQLITE_FULL\)/, 'recording the failure met the full database too')
  t.notMatch(full.stderr, /internal error|hashpipe: .*SqliteError/, 'not the raw SQLite error')
  t.notMatch(full.stderr, kStack, 'no stack trace')
  const members = (): number => Object.values(em.state.snapshot().find(a => a.advertiserId === kAdv)?.members ?? {}).reduce((n, ids) => n + ids.length, 0)
  t.ok(members() < 600, `stopped mid-delivery (${members()} of 600 delivered)`)

  const again = await distribute(config, false)
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /\[resumed\]/, 'the rerun resumes the interrupted run')
  t.equal(members(), 600, 'every identifier delivered once space is back')
  t.equal(em.state.snapshot().filter(a => a.advertiserId === kAdv).length, 1, 'one audience')
})
