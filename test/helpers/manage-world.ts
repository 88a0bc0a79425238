// Reading what the management commands and the state say, for the audiences, connections and
// distributions tests (a World from distribute-world.ts).
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { HashpipeError } from '../../pipeline/errors.js'
import { DEFAULT_APP } from '../../adapters/emulator/emulator-state.js'
import type { Command, CommandIo } from '../../engine/command.js'
import { StateStore } from '../../engine/state/state-store.js'
import type { DistributionRecord } from '../../engine/state/records.js'
import type { World } from './distribute-world.js'

export interface Listed { audience_id: string, name: string, kind: string, cover_num: number, is_valid: boolean, validity: string, owner: null | { distribution: string, segment: string, destination: string, delivered_identifiers: number } }
export interface Listing { audiences: Listed[], missing: Array<{ audience_id: string, distribution: string, command: string }> }

/** `hashpipe audiences list --json`, parsed; throws with stderr when it fails. */
export async function listed (w: World, extra: string[] = []): Promise<Listing> {
  const r = await manage(['audiences', 'list', '--config', w.config, '--json', ...extra])
  if (r.code !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout) as Listing
}

/** The world's one distribution (seg → Acme) as the state records it. */
export function distribution (w: World): DistributionRecord | undefined {
  const state = StateStore.open(join(w.dir, 'state'))
  try {
    return state.distributions.find('seg', 'Acme')
  } finally {
    state.close()
  }
}

export interface ManageResult { code: number, stdout: string, stderr: string }

/**
 * Runs a management command (audiences, connections, distributions) in this process, as the CLI
 * would: a thrown HashpipeError becomes its `hashpipe: CODE: message` line and exit code. Much
 * faster than a child process on a loaded machine; the CLI wiring has its own test.
 */
export async function manage (args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<ManageResult> {
  const [name, ...rest] = args
  const command = (await import(`../../engine/commands/${name!}.js`) as { default: Command }).default
  let stdout = ''
  let stderr = ''
  const sink = (write: (s: string) => void): Writable => new Writable({ write (chunk: Buffer, _enc, done) { write(chunk.toString()); done() } })
  const io: CommandIo = {
    stdin: Readable.from([]),
    stdout: sink(s => { stdout += s }),
    stderr: sink(s => { stderr += s }),
    env: { ...process.env, TIKTOK_APP_SECRET: DEFAULT_APP.secret, ...options.env },
    signal: new AbortController().signal
  }
  try {
    return { code: await command(rest, io), stdout, stderr }
  } catch (err) {
    if (!(err instanceof HashpipeError)) throw err
    return { code: err.exitCode, stdout, stderr: `${stderr}hashpipe: ${err.code}: ${err.message}\n` }
  }
}
