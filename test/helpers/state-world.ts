// An emulator, a config with segment 'loyal' (1,500 emails) → destination Acme, and a
// connection: the setting of the tests that lose or damage state.db and check that the way back
// makes no second audience.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP } from '../../adapters/emulator/emulator-state.js'
import { DB_FILE } from '../../engine/state/state-store.js'
import { runCli } from './cli.js'
import { configHead, connectDefault } from './config-head.js'

export const kAdv = '7123456789012345678'
export const kCreate = 'POST /open_api/v1.3/segment/audience/'

type Emulator = Awaited<ReturnType<typeof startEmulator>>

export interface StateWorld { dir: string, config: string, db: string, em: Emulator, connect: () => Promise<void> }

export const run = async (args: string[]): ReturnType<typeof runCli> => await runCli(args, { env: { TIKTOK_APP_SECRET: DEFAULT_APP.secret } })

/** `prefix` names the temp directory (hp-…-), so a leftover one says which test made it. */
export async function stateWorld (t: { teardown: (fn: () => Promise<void>) => void }, prefix: string): Promise<StateWorld> {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const em = await startEmulator({ limits: { qps: 5000, qpm: 300000, advertiserQps: 5000 } })
  t.teardown(async () => { await em.close(); rmSync(dir, { recursive: true, force: true }) })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `${configHead(em, { qps: 2000, qpm: 120000, batchSize: 500 })}destinations:
  - { name: Acme, integration: first-party-record-sync, advertiser_id: "${kAdv}", connection: acme }
segments:
  - { name: loyal, inputs: [loyal.csv], destination: Acme }
`)
  const rows = ['email']
  for (let i = 0; i < 1500; i++) rows.push(`member${i}@example.com`)
  writeFileSync(join(dir, 'loyal.csv'), rows.join('\n') + '\n')
  const connect = async (): Promise<void> => { await connectDefault(dir, config) }
  await connect()
  return { dir, config, db: join(dir, 'state', DB_FILE), em, connect }
}

/** Identifiers in all of the emulator's audiences. */
export const members = (em: Emulator): number => em.state.snapshot().reduce((n, a) => n + Object.values(a.members).reduce((m, ids) => m + ids.length, 0), 0)
