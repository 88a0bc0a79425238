// Several hashpipe pipelines (each its own config, state dir and segment, as separate teams run
// them) against one emulator, through one TikTok app: the setting of the shared-quota tests and
// bench. Each pipeline's `start()` spawns `hashpipe distribute` as a child process.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator, type Emulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP, DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'
import { createHash } from 'node:crypto'
import { cliPath, runCli } from './cli.js'
import { configHead } from './config-head.js'

export const kAdv = '7123456789012345678'

export interface Running { child: ChildProcess, done: Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }> }

export interface Pipeline {
  name: string
  dir: string
  config: string
  /** Spawns `hashpipe distribute --config …` with extra arguments. */
  start: (extra?: string[]) => Running
  /** The emulator holds exactly this pipeline's identifiers. */
  exact: () => boolean
}

export interface QuotaWorld { em: Emulator, pipelines: Pipeline[] }

export interface QuotaOptions {
  /** The app's quota, at the emulator and in every config. */
  qps: number
  qpm: number
  pipelines: number
  /** Identifiers per pipeline (emails userP_i@example.com). */
  rows: number
  batchSize: number
  redisUrl?: string
  /** Segments per pipeline (each `rows` identifiers), all to one destination. */
  segments?: number
  teardown: (fn: () => Promise<void>) => void
}

function csv (prefix: string, rows: number): string {
  const out = ['email']
  for (let i = 0; i < rows; i++) out.push(`user${prefix}_${i}@example.com`)
  return out.join('\n') + '\n'
}

export async function quotaWorld (o: QuotaOptions): Promise<QuotaWorld> {
  const root = mkdtempSync(join(tmpdir(), 'hp-quota-'))
  const em = await startEmulator({ limits: { qps: o.qps, qpm: o.qpm, advertiserQps: o.qps } })
  const children = new Set<ChildProcess>()
  o.teardown(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    await em.close()
    rmSync(root, { recursive: true, force: true })
  })
  const pipelines: Pipeline[] = []
  const segments = o.segments ?? 1
  for (let p = 0; p < o.pipelines; p++) {
    const dir = join(root, `p${p}`)
    mkdirSync(dir)
    const names = Array.from({ length: segments }, (_, s) => `team${p}-seg${s}`)
    const config = join(dir, 'hashpipe.yaml')
    writeFileSync(config, `${configHead(em, { qps: o.qps, qpm: o.qpm, batchSize: o.batchSize, ...(o.redisUrl !== undefined ? { redisUrl: '${HP_REDIS_URL}' } : {}) })}destinations:
  - { name: Acme, integration: first-party, advertiser_id: "${kAdv}", connection: acme }
segments:
${names.map(n => `  - { name: ${n}, inputs: [${n}.csv], destination: Acme }`).join('\n')}
`)
    for (const n of names) writeFileSync(join(dir, `${n}.csv`), csv(n, o.rows))
    writeFileSync(join(dir, 'token'), DEFAULT_TOKEN)
    const env = { TIKTOK_APP_SECRET: DEFAULT_APP.secret, ...(o.redisUrl !== undefined ? { HP_REDIS_URL: o.redisUrl } : {}) }
    const c = await runCli(['connect', 'tiktok', '--config', config, '--name', 'acme', '--access-token-file', join(dir, 'token')], { env })
    if (c.code !== 0) throw new Error(c.stdout + c.stderr)
    pipelines.push({
      name: `p${p}`,
      dir,
      config,
      start: (extra = []) => {
        const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cliPath, 'distribute', '--config', config, '--threads', '1', ...extra], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
        children.add(child)
        let stdout = ''
        let stderr = ''
        child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
        child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
        const done = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr }))
        return { child, done }
      },
      exact: () => {
        const audiences = em.state.snapshot().filter(a => names.includes(a.name))
        if (audiences.length !== names.length) return false
        return audiences.every(a => {
          const got = a.members['EMAIL_SHA256'] ?? []
          const digests = memberDigests(a.name, o.rows)
          return got.length === digests.size && got.every(d => digests.has(d))
        })
      }
    })
  }
  return { em, pipelines }
}

/** The digests the emulator should hold for one segment of quotaWorld. */
export function memberDigests (segment: string, rows: number): Set<string> {
  const out = new Set<string>()
  for (let i = 0; i < rows; i++) out.add(sha256(`user${segment}_${i}@example.com`))
  return out
}

function sha256 (s: string): string { return createHash('sha256').update(s).digest('hex') }
