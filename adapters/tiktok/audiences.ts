// Partner-audience operations (docs/tiktok-api-notes.md §3) over TikTokClient. Ids are strings.
// A poison identifier that makes TikTok fail its whole mapping batch is isolated by bisection
// (about 2·log2(n) extra calls for one poison row) and reported; the rest is delivered.
import type { TikTokClient } from './tiktok-client.js'
import { ApiError } from './api-error.js'

export type IdSchemaName = 'EMAIL_SHA256' | 'PHONE_SHA256' | 'IDFA_SHA256' | 'AAID_SHA256'

export const kMaxAudienceName = 70

/** TikTok cuts longer names to 67 characters plus '...'; we send what TikTok will keep. */
export function audienceName (name: string): string {
  return name.length > kMaxAudienceName ? `${name.slice(0, 67)}...` : name
}

export async function createAudience (client: TikTokClient, advertiserId: string, name: string): Promise<string> {
  const data = await client.call<{ audience_id?: unknown }>('POST', '/segment/audience/', {
    advertiserId,
    body: { advertiser_id: advertiserId, action: 'create', custom_audience_name: audienceName(name) }
  })
  if (typeof data.audience_id !== 'string' || !/^\d+$/.test(data.audience_id)) {
    throw new ApiError('HP_ERR_API_PROTOCOL', 'TikTok created an audience but returned no audience_id; check the audience list in Ads Manager before retrying', { endpoint: '/segment/audience/' })
  }
  return data.audience_id
}

export async function deleteAudience (client: TikTokClient, advertiserId: string, audienceId: string): Promise<void> {
  await client.call('POST', '/segment/audience/', { advertiserId, body: { advertiser_id: advertiserId, action: 'delete', delete_audience_id: audienceId } })
}

export interface AudienceInfo {
  audienceId: string
  name: string
  coverNum: number
  isValid: boolean
  /** TikTok's label: 'Partner', 'Customer File Audience', 'Lookalike Audience', … */
  audienceType?: string
  /** Within 60 days of expired_time. */
  isExpiring?: boolean
  /** As TikTok sends them (the formats vary: epoch seconds or 'YYYY-MM-DD HH:MM:SS'). */
  createTime?: string
  expiredTime?: string
}

/** Partner audiences (what /segment/audience/ creates); an item without a type counts as one. */
export function isPartnerType (audienceType: string | undefined): boolean {
  return audienceType === undefined || /partner/i.test(audienceType)
}

export function isCustomerFileType (audienceType: string | undefined): boolean {
  return audienceType !== undefined && /customer ?file/i.test(audienceType)
}

export async function getAudiences (client: TikTokClient, advertiserId: string, audienceIds: string[]): Promise<AudienceInfo[]> {
  const data = await client.call<{ list?: Array<{ audience_details?: Record<string, unknown> }> }>('GET', '/dmp/custom_audience/get/', {
    advertiserId, query: { advertiser_id: advertiserId, custom_audience_ids: audienceIds }
  })
  return (data.list ?? []).map(item => {
    const d = item.audience_details ?? {}
    return { audienceId: String(d['audience_id']), name: String(d['name'] ?? ''), coverNum: Number(d['cover_num'] ?? 0), isValid: d['is_valid'] === true }
  })
}

/**
 * Every audience of the advertiser, of every type (partner and customer-file ones alike), page
 * by page until TikTok's total_page. Ids repeated across pages (the list shifting while it is
 * read) are kept once.
 */
export async function listAudiences (client: TikTokClient, advertiserId: string): Promise<AudienceInfo[]> {
  const out = new Map<string, AudienceInfo>()
  for (let page = 1; ; page++) {
    const data = await client.call<{ list?: Array<Record<string, unknown>>, page_info?: { total_page?: number } }>('GET', '/dmp/custom_audience/list/', {
      advertiserId, query: { advertiser_id: advertiserId, page, page_size: kListPageSize }
    })
    for (const d of data.list ?? []) {
      const a = listedAudience(d)
      if (!out.has(a.audienceId)) out.set(a.audienceId, a)
    }
    // A page past the end would be empty; a missing page_info means one page.
    if (page >= (data.page_info?.total_page ?? 1) || (data.list ?? []).length === 0) return [...out.values()]
  }
}

/** TikTok's list allows 1 to 100 per page. */
export const kListPageSize = 100

const timeText = (v: unknown): string | undefined => typeof v === 'string' || typeof v === 'number' ? String(v) : undefined

function listedAudience (d: Record<string, unknown>): AudienceInfo {
  const created = timeText(d['create_time'])
  const expires = timeText(d['expired_time'])
  return {
    audienceId: String(d['audience_id']),
    name: String(d['name'] ?? ''),
    coverNum: Number(d['cover_num'] ?? 0),
    isValid: d['is_valid'] === true,
    ...(typeof d['audience_type'] === 'string' ? { audienceType: d['audience_type'] } : {}),
    ...(typeof d['is_expiring'] === 'boolean' ? { isExpiring: d['is_expiring'] } : {}),
    ...(created !== undefined ? { createTime: created } : {}),
    ...(expires !== undefined ? { expiredTime: expires } : {})
  }
}

/**
 * The ids of the advertiser's Partner audiences named as `segmentName` would be.
 * Only Partner audiences (what /segment/audience/ creates) can be a segment's: a Customer
 * File audience of the same name made in Ads Manager is not adopted. An item without a type
 * counts as Partner, so a leaner answer never makes hashpipe create a twin.
 */
export async function findPartnerAudiences (client: TikTokClient, advertiserId: string, segmentName: string): Promise<string[]> {
  const name = audienceName(segmentName)
  return (await listAudiences(client, advertiserId))
    .filter(a => a.name === name && isPartnerType(a.audienceType))
    .map(a => a.audienceId)
}

/** Adds or deletes identifiers (lowercase hex digests of one id schema); returns the indexes of poisoned rows. */
export async function mapping (client: TikTokClient, advertiserId: string, audienceId: string, action: 'add' | 'delete', idSchema: IdSchemaName, digests: string[]): Promise<number[]> {
  const send = async (from: number, to: number): Promise<number[]> => {
    try {
      await client.call('POST', '/segment/mapping/', {
        advertiserId,
        body: {
          advertiser_ids: [advertiserId],
          action,
          id_schema: [idSchema],
          batch_data: digests.slice(from, to).map(id => [{ id, audience_ids: [audienceId] }])
        }
      })
      return []
    } catch (err) {
      if (!(err instanceof ApiError) || !err.rowError) throw err
      if (to - from === 1) return [from]
      const mid = (from + to) >>> 1
      return [...await send(from, mid), ...await send(mid, to)]
    }
  }
  return digests.length === 0 ? [] : await send(0, digests.length)
}
