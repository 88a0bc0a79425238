// AudienceApi over the real (or emulated) TikTok API: the TikTok client with the config's rate
// limits, wired to the metrics observer when metrics are on. TikTok's quota belongs to the app,
// so every client of one process (one per destination: each has its connection's token) paces
// through one limiter made by createAppLimiter.
import { TikTokClient, type ApiObserver } from '../../adapters/tiktok/tiktok-client.js'
import { RateLimiter, type Limiter } from '../../adapters/tiktok/rate-limiter.js'
import { RedisRateLimiter } from '../../adapters/tiktok/redis-rate-limiter.js'
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

/** The app's limiter for every client of this process: its QPS and QPM windows, per-advertiser limits and backoff. */
export async function createAppLimiter (config: TikTokConfig, metrics?: Metrics, quota: 'api' | 'events' = 'api'): Promise<Limiter> {
  const limits = quota === 'api' ? config.rateLimit : config.eventsRateLimit
  const observer: ApiObserver | undefined = metrics === undefined ? undefined : apiObserver(metrics)
  const redisUrl = config.rateLimit.redisUrl
  if (redisUrl !== undefined) {
    return await RedisRateLimiter.connect({
      url: redisUrl,
      appId: config.appId,
      apiBaseUrl: config.apiBaseUrl,
      quota,
      qps: limits.qps,
      qpm: limits.qpm,
      onWait: (scope, seconds) => observer?.onRateLimitWait?.({ scope, seconds })
    })
  }
  return new RateLimiter({
    qps: limits.qps,
    qpm: limits.qpm,
    onWait: (scope, seconds) => observer?.onRateLimitWait?.({ scope, seconds }),
    onRate: (scope, qps) => observer?.onRateChange?.({ scope, qps })
  })
}

export function createTikTokAudienceApi (config: TikTokConfig, accessToken: string, metrics?: Metrics, progress?: ApiObserver, limiter?: Limiter): AudienceApi & { close: () => Promise<void> } {
  const observer = bothObservers(metrics === undefined ? undefined : apiObserver(metrics), progress)
  const client = new TikTokClient({
    apiBaseUrl: config.apiBaseUrl,
    accessToken,
    rateLimit: config.rateLimit,
    retryBudgetMs: config.retryBudgetMs,
    ...(limiter !== undefined ? { limiter } : {}),
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
