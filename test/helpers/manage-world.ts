// Reading what the management commands and the state say, for the audiences, connections and
// distributions tests (a World from distribute-world.ts).
import { join } from 'node:path'
import { StateStore } from '../../engine/state/state-store.js'
import type { DistributionRecord } from '../../engine/state/records.js'
import type { World } from './distribute-world.js'

export interface Listed { audience_id: string, name: string, kind: string, cover_num: number, is_valid: boolean, validity: string, owner: null | { distribution: string, segment: string, destination: string, delivered_identifiers: number } }
export interface Listing { audiences: Listed[], missing: Array<{ audience_id: string, distribution: string, command: string }> }

/** `hashpipe audiences list --json`, parsed; throws with stderr when it fails. */
export async function listed (w: World, extra: string[] = []): Promise<Listing> {
  const r = await w.run(['audiences', 'list', '--config', w.config, '--json', ...extra])
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
