// The setting of the validate tests: a config with one segment and its input, the CLI run in a
// child process with the app id and secret in its environment, and what connect records.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { StateStore } from '../../engine/state/state-store.js'
import { CANARY_SECRETS } from './canary.js'

const kCli = fileURLToPath(new URL('../../engine/cli.js', import.meta.url))
export const kSecret = CANARY_SECRETS[1]!.plain
export const kEnv = { TIKTOK_APP_ID: '7000000000000000001', TIKTOK_APP_SECRET: kSecret }

export interface Result { code: number, stdout: string, stderr: string }

export async function cli (args: string[], env: Record<string, string> = kEnv): Promise<Result> {
  return await new Promise(resolve => {
    execFile(process.execPath, [kCli, ...args], { env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

export const kConfig = `# test config
tiktok:
  app_id: \${TIKTOK_APP_ID}
  secret: \${TIKTOK_APP_SECRET:?TikTok app secret is required}
destinations:
  - name: Acme US
    integration: first-party
    advertiser_id: "7123456789012345678"
    connection: acme
segments:
  - name: loyal-2026
    inputs: [data/loyal.csv]
    columns: { email: Email }
    destination: Acme US
`

export function setup (): { dir: string, config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-validate-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'data'))
  writeFileSync(join(dir, 'data', 'loyal.csv'), 'Email\na@b.example\n')
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, kConfig)
  return { dir, config }
}

/** What `connect` records: the token, the connection and (unless told otherwise) the activated destination. */
export function connectAndActivate (stateDir: string, { activate = true }: { activate?: boolean } = {}): void {
  const state = StateStore.open(stateDir)
  try {
    state.tokens.write('acme', CANARY_SECRETS[0]!.plain)
    state.catalog.putConnection({ name: 'acme', advertiserIds: ['7123456789012345678'], scopes: [] })
    state.catalog.putDestination({ name: 'Acme US', advertiserId: '7123456789012345678', integration: 'first-party', connection: 'acme', region: 'US' })
    if (activate) state.catalog.activateDestination('Acme US', 'ADMIN')
  } finally {
    state.close()
  }
}
