// A destination's audience type is fixed once its audience exists: TikTok has no conversion
// between partner and customer-file audiences, and the delivered record describes one kind.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { HashpipeError, ExitCode } from '../../pipeline/errors.js'
import type { DestinationConfig } from '../config.js'
import type { DistributionRecord } from '../state/records.js'
import { StateStore, DB_FILE } from '../state/state-store.js'

/** The refusal for a distribution whose audience is of another type than the config now asks, or undefined. */
export function audienceTypeChange (d: DistributionRecord, destination: DestinationConfig): string | undefined {
  if (d.audienceId === null) return undefined
  const recorded = d.audienceType ?? 'partner'
  if (recorded === destination.audienceType) return undefined
  return `destination '${destination.name}' has audience_type ${destination.audienceType}, but segment '${d.segment}' already has a ${recorded} audience there (${d.audienceId}); TikTok can't convert an audience and hashpipe's delivered record describes that one. Set audience_type: ${recorded} again, or add a destination under a new name (same advertiser_id) with audience_type: ${destination.audienceType} and point the segment at it: it gets a new audience of that type`
}

export function assertAudienceType (d: DistributionRecord, destination: DestinationConfig): void {
  const problem = audienceTypeChange(d, destination)
  if (problem !== undefined) throw new HashpipeError('HP_ERR_CONFIG_INVALID', problem, ExitCode.CONFIG)
}

/** `validate`: every recorded distribution whose audience type the config would change (no state, no problems). */
export function audienceTypeProblems (stateDir: string, destinations: readonly DestinationConfig[]): Array<{ path: string, message: string }> {
  if (!existsSync(join(stateDir, DB_FILE))) return []
  const state = StateStore.open(stateDir)
  try {
    const out: Array<{ path: string, message: string }> = []
    for (const d of state.distributions.list()) {
      const i = destinations.findIndex(x => x.name === d.destination)
      const problem = i < 0 ? undefined : audienceTypeChange(d, destinations[i]!)
      if (problem !== undefined) out.push({ path: `destinations[${i}].audience_type`, message: problem })
    }
    return out
  } finally {
    state.close()
  }
}
