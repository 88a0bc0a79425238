// The head every emulator-backed test config starts with (state dir and tiktok section), and
// the connect step that follows it: one place, so a new required tiktok key changes one file.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP, DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'
import { runCli } from './cli.js'

export interface HeadOptions {
  qps?: number
  qpm?: number
  /** null: no batch_size key (the config's default). */
  batchSize?: number | null
  /** tiktok.app_id (default: the emulator's default app). */
  appId?: string
  /** rate_limit.redis_url, written as given (a ${VAR} stays for the config to interpolate). */
  redisUrl?: string
  tiktok?: string
}

/** `state_dir: state` and a tiktok section pointing at `em`; `tiktok` appends keys to it. */
export function configHead (em: Awaited<ReturnType<typeof startEmulator>>, options: HeadOptions = {}): string {
  const redis = options.redisUrl === undefined ? '' : `, redis_url: "${options.redisUrl}"`
  const batch = options.batchSize === null ? '' : `\n  batch_size: ${options.batchSize ?? 100}`
  return `state_dir: state
tiktok:
  api_base_url: ${em.apiBaseUrl}
  auth_url: ${em.authUrl}
  app_id: "${options.appId ?? DEFAULT_APP.appId}"
  secret: \${TIKTOK_APP_SECRET}
  rate_limit: { qps: ${options.qps ?? 1000}, qpm: ${options.qpm ?? 60000}${redis} }${batch}${options.tiktok ?? ''}
`
}

/** `hashpipe connect tiktok` for connection `name` with the emulator's default token; throws on failure. */
export async function connectDefault (dir: string, config: string, name = 'acme', token = DEFAULT_TOKEN): Promise<void> {
  const file = join(dir, `${name}.token`)
  writeFileSync(file, token)
  const c = await runCli(['connect', 'tiktok', '--config', config, '--name', name, '--access-token-file', file], { env: { TIKTOK_APP_SECRET: DEFAULT_APP.secret } })
  if (c.code !== 0) throw new Error(c.stdout + c.stderr)
}
