// AudienceApi over the real (or emulated) TikTok API: the TikTok client with the config's rate
// limits, wired to the metrics observer when metrics are on.
import { TikTokClient, type ApiObserver } from '../../adapters/tiktok/tiktok-client.js'
import { createAudience, deleteAudience, getAudiences, findPartnerAudiences, listAudiences, mapping, type IdSchemaName } from '../../adapters/tiktok/audiences.js'
import { apiObserver, type Metrics } from '../metrics.js'
import type { TikTokConfig } from '../config.js'
import type { AudienceApi, FileAudienceApi } from './audience-api.js'
import { uploadFile, createFileAudience, updateFileAudience, findFileAudiences, fileAudienceState } from '../../adapters/tiktok/custom-audiences.js'

function fileAudienceApi (client: TikTokClient): FileAudienceApi {
  return {
    upload: async (advertiserId, file) => await uploadFile(client, advertiserId, file),
    create: async (advertiserId, name, paths) => await createFileAudience(client, advertiserId, name, paths),
    update: async (advertiserId, audienceId, action, paths) => { await updateFileAudience(client, advertiserId, audienceId, action, paths) },
    find: async (advertiserId, name) => await findFileAudiences(client, advertiserId, name),
    info: async (advertiserId, audienceId) => await fileAudienceState(client, advertiserId, audienceId)
  }
}

export function createTikTokAudienceApi (config: TikTokConfig, accessToken: string, metrics?: Metrics, progress?: ApiObserver): AudienceApi & { close: () => Promise<void> } {
  const observer = bothObservers(metrics === undefined ? undefined : apiObserver(metrics), progress)
  const client = new TikTokClient({
    apiBaseUrl: config.apiBaseUrl,
    accessToken,
    rateLimit: config.rateLimit,
    retryBudgetMs: config.retryBudgetMs,
    ...(observer !== undefined ? { observer } : {})
  })
  return {
    createAudience: async (advertiserId, name) => await createAudience(client, advertiserId, name),
    deleteAudience: async (advertiserId, audienceId) => { await deleteAudience(client, advertiserId, audienceId) },
    findAudiences: async (advertiserId, name) => await findPartnerAudiences(client, advertiserId, name),
    exists: async (advertiserId, audienceId) => (await listAudiences(client, advertiserId)).some(a => a.audienceId === audienceId),
    mapping: async (advertiserId, audienceId, action, idSchema, digests) => ({ poisoned: await mapping(client, advertiserId, audienceId, action, idSchema as IdSchemaName, digests) }),
    coverNum: async (advertiserId, audienceId) => (await getAudiences(client, advertiserId, [audienceId]))[0]?.coverNum ?? 0,
    files: fileAudienceApi(client),
    close: async () => { await client.close() }
  }
}

/** Metrics and progress both see the client's events. */
export function bothObservers (a: ApiObserver | undefined, b: ApiObserver | undefined): ApiObserver | undefined {
  if (a === undefined || b === undefined) return a ?? b
  const keys = ['onRequest', 'onRetry', 'onRateLimitWait', 'onRateChange', 'onFailing'] as const
  return Object.fromEntries(keys.map(k => [k, (e: never) => { (a[k] as ((e: never) => void) | undefined)?.(e); (b[k] as ((e: never) => void) | undefined)?.(e) }])) as ApiObserver
}
