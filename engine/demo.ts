// `npm run demo`: the main job end to end on this machine, without a TikTok account. Starts the
// built-in TikTok emulator, writes a config under .hashpipe/demo/, connects through the OAuth
// flow (the emulator's consent page approves at once), distributes the bundled sample customers
// file, and prints status — the README walkthrough, run for you.
import { mkdir, rm, writeFile, copyFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { startEmulator } from '../adapters/emulator/emulator.js'
import { DEFAULT_APP } from '../adapters/emulator/emulator-state.js'
import connect from './commands/connect.js'
import distribute from './commands/distribute.js'
import status from './commands/status.js'
import type { CommandIo } from './command.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = join(root, '.hashpipe/demo')

async function main (): Promise<number> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  await copyFile(join(root, 'test/fixtures/sample/customers.csv'), join(dir, 'customers.csv'))
  const em = await startEmulator({ stateFile: join(dir, 'emulator-state.json') })
  const controller = new AbortController()
  const io: CommandIo = { stdin: new PassThrough(), stdout: process.stdout, stderr: process.stderr, env: { ...process.env, TIKTOK_APP_SECRET: DEFAULT_APP.secret }, signal: controller.signal }
  try {
    process.stdout.write(`1. TikTok emulator listening on ${em.url}\n\n`)
    const config = join(dir, 'hashpipe.yaml')
    await writeFile(config, `# Written by npm run demo: the emulator stands in for TikTok.
state_dir: state
tiktok:
  api_base_url: ${em.apiBaseUrl}
  auth_url: ${em.authUrl}
  app_id: "${DEFAULT_APP.appId}"
  secret: \${TIKTOK_APP_SECRET:?the app secret is required}
destinations:
  - name: Acme US
    integration: first-party-record-sync
    advertiser_id: "7123456789012345678"
    connection: acme
segments:
  - name: loyal-customers
    inputs: [customers.csv]
    columns: { email: Email, phone: Phone, maid: MAID }
    destination: Acme US
`)
    process.stdout.write(`2. config: ${config}\n\n3. hashpipe connect tiktok --config ${config} --name acme\n`)
    // Play the user's part: open the printed consent URL (the emulator approves and redirects).
    const consent = new Writable({
      write (chunk: Buffer, _enc, cb) {
        const text = chunk.toString()
        process.stdout.write(text)
        const url = /https?:\/\/\S+portal\/auth\S+/.exec(text)?.[0]
        if (url !== undefined) void fetch(url).then(r => r.text()).catch(() => {})
        cb()
      }
    })
    let code = await connect(['tiktok', '--config', config, '--name', 'acme', '--timeout', '30'], { ...io, stdout: consent })
    if (code !== 0) return code
    process.stdout.write(`\n4. hashpipe distribute --config ${config}\n`)
    code = await distribute(['--config', config], io)
    if (code !== 0) return code
    process.stdout.write(`\n5. hashpipe status --config ${config}\n`)
    code = await status(['--config', config], io)
    process.stdout.write(`\nThe emulator's audiences: ${em.url}/__emulator/audiences (while it runs: hashpipe emulator --state ${join(dir, 'emulator-state.json')})\n`)
    return code
  } finally {
    await em.close()
  }
}

main().then(code => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`hashpipe demo: ${(err as Error).message}\n`)
  process.exitCode = 1
})
