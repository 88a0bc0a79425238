// An emulator, a config with one segment → one destination, and a connection: the setting of the
// CLI tests that damage a distribution's state and follow the way out a refusal names.
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP } from '../../adapters/emulator/emulator-state.js'
import { runCli, type CliResult } from './cli.js'
import { configHead, connectDefault } from './config-head.js'

export const kAdv = '7123456789012345678'
export const kMapping = 'POST /open_api/v1.3/segment/mapping/'

export interface World {
  dir: string
  config: string
  input: string
  em: Awaited<ReturnType<typeof startEmulator>>
  run: (args: string[], env?: NodeJS.ProcessEnv) => Promise<CliResult>
  /** `hashpipe distribute --config … --threads 1` plus extra arguments. */
  distribute: (extra?: string[], env?: NodeJS.ProcessEnv) => Promise<CliResult>
  audienceIds: () => string[]
  members: () => Set<string>
  mappings: () => number
  spool: () => string
}

/** Extra config text for the destination and tiktok sections, and emulator options (customer-file tests). */
export interface WorldOptions { destination?: string, tiktok?: string, emulator?: Parameters<typeof startEmulator>[0] }

export async function distributeWorld (t: { teardown: (fn: () => Promise<void>) => void }, integration: string, batchSize = 100, options: WorldOptions = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'hp-world-'))
  const em = await startEmulator({ limits: { qps: 2000, qpm: 120000, advertiserQps: 2000 }, ...options.emulator })
  t.teardown(async () => { await em.close(); rmSync(dir, { recursive: true, force: true }) })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `${configHead(em, { qps: 1000, qpm: 60000, batchSize, tiktok: options.tiktok ?? '' })}destinations:
  - { name: Acme, integration: ${integration}, advertiser_id: "${kAdv}", connection: acme${options.destination ?? ''} }
segments:
  - { name: seg, inputs: [seg.csv], destination: Acme }
`)
  const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => await runCli(args, { env: { ...env, TIKTOK_APP_SECRET: DEFAULT_APP.secret } })
  await connectDefault(dir, config)
  const input = join(dir, 'seg.csv')
  const ours = (): ReturnType<typeof em.state.snapshot> => em.state.snapshot().filter(a => a.advertiserId === kAdv)
  return {
    dir,
    config,
    input,
    em,
    run,
    distribute: async (extra = [], env = {}) => await run(['distribute', '--config', config, '--threads', '1', ...extra], env),
    audienceIds: () => ours().map(a => a.audienceId),
    members: () => new Set(ours().flatMap(a => Object.entries(a.members).flatMap(([schema, ids]) => ids.map(id => `${schema}:${id}`)))),
    mappings: () => em.stats.get(kMapping) ?? 0,
    spool: () => {
      const spool = join(dir, 'state', 'spool')
      return join(spool, readdirSync(spool).find(n => n.startsWith('d'))!)
    }
  }
}

/** A CSV of emails user{from}..user{to-1}; `expectedMembers` gives the audience they make. */
export function people (from: number, to: number): string {
  const rows = ['email']
  for (let i = from; i < to; i++) rows.push(`user${i}@example.com`)
  return rows.join('\n') + '\n'
}

export function expectedMembers (from: number, to: number): Set<string> {
  const out = new Set<string>()
  for (let i = from; i < to; i++) out.add(`EMAIL_SHA256:${createHash('sha256').update(`user${i}@example.com`).digest('hex')}`)
  return out
}

/** The `hashpipe distribute …` commands a refusal on stderr names, as argument lists (after `hashpipe`). */
export function namedCommands (stderr: string): string[][] {
  const refusal = stderr.split('\n').filter(l => l.startsWith('hashpipe: ')).join('\n')
  return [...refusal.matchAll(/hashpipe (distribute [^;—()\n]*)/g)].map(m => m[1]!.trim().split(/\s+/))
}
