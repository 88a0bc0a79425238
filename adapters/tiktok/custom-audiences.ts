// Customer File audience operations (/dmp/custom_audience/*) over TikTokClient: file upload
// (multipart, MD5 as file_signature), create with file paths, update with APPEND/REMOVE/REPLACE,
// delete, state (is_valid, cover_num) and finding one by name. Ids are strings.
import type { TikTokClient } from './tiktok-client.js'
import { ApiError } from './api-error.js'
import { audienceName, listAudiences, getAudiences, deleteAudience, isCustomerFileType, isPartnerType, type AudienceInfo } from './audiences.js'

/** One file holds one id type under a MULTIPLE_TYPES header row naming it. */
export const kCalculateType = 'MULTIPLE_TYPES'
/** TikTok: at most 500 paths per create; fewer than 50 per request recommended. */
export const kMaxPathsPerCall = 50
/** TikTok's file_path codes: expired (the file must be uploaded again). */
export const kFileExpired = 40910

export interface UploadSpec { path: string, name: string, bytes: number, md5: string }

export async function uploadFile (client: TikTokClient, advertiserId: string, file: UploadSpec): Promise<string> {
  const data = await client.call<{ file_path?: unknown }>('POST', '/dmp/custom_audience/file/upload/', {
    advertiserId,
    form: { fields: { advertiser_id: advertiserId, calculate_type: kCalculateType, file_signature: file.md5 }, file: { field: 'file', path: file.path, name: file.name, bytes: file.bytes } }
  })
  if (typeof data.file_path !== 'string' || data.file_path.length !== 16) {
    throw new ApiError('HP_ERR_API_PROTOCOL', 'TikTok accepted a file upload but returned no 16-character file_path; the upload is repeated on the next run', { endpoint: '/dmp/custom_audience/file/upload/' })
  }
  return data.file_path
}

export async function createFileAudience (client: TikTokClient, advertiserId: string, name: string, filePaths: string[]): Promise<string> {
  const data = await client.call<{ custom_audience_id?: unknown }>('POST', '/dmp/custom_audience/create/', {
    advertiserId,
    body: { advertiser_id: advertiserId, custom_audience_name: audienceName(name), file_paths: filePaths, calculate_type: kCalculateType }
  })
  const id = data.custom_audience_id
  if (typeof id !== 'string' || !/^\d+$/.test(id)) {
    throw new ApiError('HP_ERR_API_PROTOCOL', 'TikTok created a customer-file audience but returned no custom_audience_id; the next run finds it by name', { endpoint: '/dmp/custom_audience/create/' })
  }
  return id
}

export async function updateFileAudience (client: TikTokClient, advertiserId: string, audienceId: string, action: 'APPEND' | 'REMOVE' | 'REPLACE', filePaths: string[]): Promise<void> {
  await client.call('POST', '/dmp/custom_audience/update/', {
    advertiserId, body: { advertiser_id: advertiserId, custom_audience_id: audienceId, action, file_paths: filePaths }
  })
}

export async function deleteFileAudience (client: TikTokClient, advertiserId: string, audienceId: string): Promise<void> {
  await client.call('POST', '/dmp/custom_audience/delete/', { advertiserId, body: { advertiser_id: advertiserId, custom_audience_ids: [audienceId] } })
}

/** Customer-file audiences of this name: a partner audience of the same name is not adopted. */
export async function findFileAudiences (client: TikTokClient, advertiserId: string, segmentName: string): Promise<string[]> {
  const name = audienceName(segmentName)
  return (await listAudiences(client, advertiserId))
    .filter(a => a.name === name && isCustomerFileType(a.audienceType))
    .map(a => a.audienceId)
}

export async function fileAudienceState (client: TikTokClient, advertiserId: string, audienceId: string): Promise<{ isValid: boolean, coverNum: number } | undefined> {
  const a = (await getAudiences(client, advertiserId, [audienceId]))[0]
  return a === undefined ? undefined : { isValid: a.isValid, coverNum: a.coverNum }
}

/**
 * Deletes an audience as listed: a partner audience through /segment/audience/ (how it was
 * made), any other kind through /dmp/custom_audience/delete/.
 */
export async function deleteListedAudience (client: TikTokClient, advertiserId: string, audience: Pick<AudienceInfo, 'audienceId' | 'audienceType'>): Promise<void> {
  if (isPartnerType(audience.audienceType)) await deleteAudience(client, advertiserId, audience.audienceId)
  else await deleteFileAudience(client, advertiserId, audience.audienceId)
}
