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
  /** Whether the advertiser still has this audience (any type); absent: not checked. */
  exists?: (advertiserId: string, audienceId: string) => Promise<boolean>
  /** TikTok's matched reach (cover_num) of the audience. */
  coverNum: (advertiserId: string, audienceId: string) => Promise<number>
  /** Customer-file audiences (destinations with audience_type: customer_file). */
  files?: FileAudienceApi
}

export type FileAction = 'APPEND' | 'REMOVE' | 'REPLACE'

export interface FileAudienceApi {
  /** Uploads one file (streamed from disk, MD5 checked by TikTok); returns its 16-character file_path. */
  upload: (advertiserId: string, file: { path: string, name: string, bytes: number, md5: string }) => Promise<string>
  /** Creates the audience from at most 50 file paths; not idempotent (callers record the request first). */
  create: (advertiserId: string, name: string, filePaths: string[]) => Promise<string>
  update: (advertiserId: string, audienceId: string, action: FileAction, filePaths: string[]) => Promise<void>
  /** Customer-file audience ids of the advertiser with this exact name. */
  find: (advertiserId: string, name: string) => Promise<string[]>
  /** is_valid (false while TikTok processes) and cover_num; undefined if TikTok does not know the audience. */
  info: (advertiserId: string, audienceId: string) => Promise<{ isValid: boolean, coverNum: number } | undefined>
}
