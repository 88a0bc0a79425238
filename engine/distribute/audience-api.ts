// What distribution needs from TikTok, as one small interface: the TikTok client implements it
// over HTTP, tests can implement it in memory. Ids are strings end to end (19 digits).
import type { IdSchema } from '../../pipeline/protocol.js'

export type MappingAction = 'add' | 'delete'

export interface MappingResult {
  /** Indexes (into the request's digests) of identifiers TikTok refused and that were isolated. */
  poisoned: number[]
}

export interface AudienceApi {
  /** Creates a partner audience; not idempotent (callers record the request first). */
  createAudience: (advertiserId: string, name: string) => Promise<string>
  /** Deletes a partner audience (`distribute --recreate-audience` replaces one). */
  deleteAudience: (advertiserId: string, audienceId: string) => Promise<void>
  /** Audience ids of the advertiser with this exact name, for recovery after a crash mid-create. */
  findAudiences: (advertiserId: string, name: string) => Promise<string[]>
  /** Adds or deletes one batch (≤ batch_size) of lowercase-hex digests of one id schema. */
  mapping: (advertiserId: string, audienceId: string, action: MappingAction, idSchema: IdSchema, digests: string[]) => Promise<MappingResult>
  /** TikTok's matched reach (cover_num) of the audience. */
  coverNum: (advertiserId: string, audienceId: string) => Promise<number>
}
