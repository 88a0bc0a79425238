// TikTok Marketing API v1.3 client: one undici Pool per origin, the Access-Token header, JSON
// bodies, GET list parameters as JSON-encoded strings, every response body consumed, a timeout
// on every request. Each answer goes through classify(): success, retry (capped exponential
// backoff within a total retry budget), rate limited (the limiter pauses), re-authorize (exit 4)
// or terminal. When the budget is spent the caller gets HP_ERR_API_UNAVAILABLE (exit 5, resumable).
import { Pool } from 'undici'
import { performance } from 'node:perf_hooks'
import { subscribe } from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseEnvelope, type Envelope } from './envelope.js'
import { classify } from './classify.js'
import { ApiError } from './api-error.js'
import { RateLimiter, type Limiter } from './rate-limiter.js'
import { multipart } from './multipart.js'
import type { Readable } from 'node:stream'

// When a request's first byte goes to the socket: undici publishes it on its diagnostics
// channels (undici 7 writes after request() has returned, a few ms later, more on a busy event
// loop). request:create is published inside request() when a connection takes the request at
// once, which ties undici's request object to the caller's sent().
let claim: ((request: object) => void) | undefined
const onWrite = new WeakMap<object, () => void>()
subscribe('undici:request:create', m => {
  const c = claim
  claim = undefined
  c?.((m as { request: object }).request)
})
subscribe('undici:client:sendHeaders', m => {
  const request = (m as { request: object }).request
  const f = onWrite.get(request)
  if (f === undefined) return
  onWrite.delete(request)
  f()
})

export interface ApiObserver {
  onRequest?: (e: { endpoint: string, codeClass: string, seconds: number }) => void
  onRetry?: (e: { endpoint: string, reason: string }) => void
  onRateLimitWait?: (e: { scope: string, seconds: number }) => void
  /** The adaptive rate of a scope changed (requests per second). */
  onRateChange?: (e: { scope: string, qps: number }) => void
  /**
   * A call keeps failing and is about to be retried: what TikTok answered last (an HTTP status,
   * an API code or a transport error code; never a body), since when it fails, and how much of
   * the retry budget is left. Rate-limit answers are not failures (onRateLimitWait).
   */
  onFailing?: (e: { endpoint: string, answer: string, failingMs: number, budgetLeftMs: number, attempts: number }) => void
}

export interface TikTokClientOptions {
  /** e.g. https://business-api.tiktok.com/open_api/v1.3 */
  apiBaseUrl: string
  accessToken?: string
  /** adaptive (default true): learn the allowed rate from rate-limit answers, never above qps. */
  rateLimit: { qps: number, qpm: number, advertiserQps?: number, adaptive?: boolean }
  timeoutMs?: number
  /** Total time retries may take for one call before it fails as unavailable. */
  retryBudgetMs?: number
  retryBaseMs?: number
  retryCapMs?: number
  /** Backoff after a rate-limit answer (base and cap). */
  rateLimitBackoffMs?: { base: number, cap: number }
  observer?: ApiObserver
  connections?: number
  /** A limiter shared with other clients of the same app (its creator stops it); rateLimit and rateLimitBackoffMs are then unused. */
  limiter?: Limiter
}

export interface CallOptions {
  query?: Record<string, string | number | boolean | string[] | undefined>
  body?: unknown
  advertiserId?: string
  /** Default true; the token exchange is the one call without it. */
  auth?: boolean
  /** Sees the response headers of the successful answer (e.g. TikTok's X-Tt-Ads-Throttle). */
  onHeaders?: (headers: Record<string, string | string[] | undefined>) => void
  /** A multipart/form-data body: text fields and one file streamed from disk (read anew on every attempt). */
  form?: { fields: Record<string, string>, file: { field: string, path: string, name: string, bytes: number } }
}

export class TikTokClient {
  readonly #pool: Pool
  readonly #basePath: string
  readonly #limiter: Limiter
  readonly #ownLimiter: boolean
  readonly #o: Required<Pick<TikTokClientOptions, 'timeoutMs' | 'retryBudgetMs' | 'retryBaseMs' | 'retryCapMs'>> & TikTokClientOptions
  #token: string | undefined

  constructor (options: TikTokClientOptions) {
    this.#o = { timeoutMs: 30_000, retryBudgetMs: 10 * 60_000, retryBaseMs: 500, retryCapMs: 30_000, ...options }
    const url = new URL(options.apiBaseUrl)
    this.#basePath = url.pathname.replace(/\/+$/, '')
    this.#pool = new Pool(url.origin, { connections: options.connections ?? 8, headersTimeout: this.#o.timeoutMs, bodyTimeout: this.#o.timeoutMs })
    this.#token = options.accessToken
    this.#ownLimiter = options.limiter === undefined
    this.#limiter = options.limiter ?? new RateLimiter({
      qps: options.rateLimit.qps,
      qpm: options.rateLimit.qpm,
      ...(options.rateLimit.advertiserQps !== undefined ? { advertiserQps: options.rateLimit.advertiserQps } : {}),
      ...(options.rateLimitBackoffMs !== undefined ? { backoffBaseMs: options.rateLimitBackoffMs.base, backoffCapMs: options.rateLimitBackoffMs.cap } : {}),
      ...(options.rateLimit.adaptive !== undefined ? { adaptive: options.rateLimit.adaptive } : {}),
      onWait: (scope, seconds) => options.observer?.onRateLimitWait?.({ scope, seconds }),
      onRate: (scope, qps) => options.observer?.onRateChange?.({ scope, qps })
    })
  }

  setAccessToken (token: string): void { this.#token = token }

  /** Requests per second the app (or one advertiser) may use now: learnt from rate-limit answers, at most the configured quota. */
  currentRate (advertiserId?: string): number { return this.#limiter.currentRate(advertiserId) }

  /** One API call with retries; resolves with `data` of a successful envelope. */
  async call<T = Record<string, unknown>> (method: 'GET' | 'POST', endpoint: string, options: CallOptions = {}): Promise<T> {
    const started = Date.now()
    // Serialized once, before the limiter's grant: a 1,000-event body is ~250 KB of JSON, and
    // the time between the grant and the write is time TikTok's window does not wait for.
    const json = options.body === undefined ? undefined : JSON.stringify(options.body)
    let attempt = 0
    for (;;) {
      let sentAt = 0
      const r = await this.#limiter.schedule(options.advertiserId, async sent => { sentAt = Date.now(); return await this.#once(method, endpoint, options, json, sent) })
      const outcome = classify(r.status, r.envelope?.code, r.transportError)
      this.#o.observer?.onRequest?.({ endpoint, codeClass: outcome.codeClass, seconds: r.seconds })
      const details = { endpoint, ...(r.status !== undefined ? { httpStatus: r.status } : {}), ...(r.envelope !== undefined ? { apiCode: r.envelope.code, requestId: r.envelope.request_id, apiMessage: r.envelope.message } : {}) }
      const what = r.transportError ?? (r.envelope === undefined ? `HTTP ${r.status ?? '-'} with no JSON envelope` : `code ${r.envelope.code} (${r.envelope.message})`)
      if (outcome.verdict === 'success') {
        this.#limiter.recovered(options.advertiserId, sentAt)
        if (r.headers !== undefined) options.onHeaders?.(r.headers)
        return r.envelope!.data as T
      }
      if (outcome.verdict === 'reauthorize') {
        throw new ApiError('HP_ERR_API_REAUTHORIZE', `TikTok refused ${endpoint}: ${what}; the connection's authorization is missing, revoked or lacks permission — run hashpipe connect tiktok again (an Ad Account Admin or Operator must authorize)`, details)
      }
      if (outcome.verdict === 'terminal') {
        throw new ApiError('HP_ERR_API_TERMINAL', `TikTok rejected ${endpoint}: ${what}`, details)
      }
      attempt++
      let wait: number
      if (outcome.verdict === 'rate_limited') {
        wait = this.#limiter.backoff(outcome.scope ?? 'app', options.advertiserId, sentAt)
        this.#o.observer?.onRetry?.({ endpoint, reason: 'rate_limited' })
      } else {
        const raw = Math.min(this.#o.retryCapMs, this.#o.retryBaseMs * 2 ** (attempt - 1))
        wait = Math.round(raw * (0.5 + Math.random() / 2))
        this.#o.observer?.onRetry?.({ endpoint, reason: outcome.codeClass === 'network' ? 'network' : outcome.codeClass === 'invalid_response' ? 'invalid_response' : 'server_error' })
      }
      const failingMs = Date.now() - started
      // The last wait is cut to what the budget has left, so the budget is used to its end
      // (a final attempt at its deadline) rather than given up a doubling early.
      if (outcome.verdict !== 'rate_limited' && failingMs < this.#o.retryBudgetMs) wait = Math.min(wait, this.#o.retryBudgetMs - failingMs)
      if (failingMs + wait > this.#o.retryBudgetMs || failingMs >= this.#o.retryBudgetMs) {
        throw new ApiError('HP_ERR_API_UNAVAILABLE', `TikTok ${endpoint} still failing after ${attempt} attempt(s) over ${Math.round((Date.now() - started) / 1000)} s (last: ${what}); the run is resumable — run the command again later`, details)
      }
      // Rate-limit pauses are waited out inside the limiter; other retries wait here.
      if (outcome.verdict !== 'rate_limited') {
        const answer = r.transportError !== undefined ? r.transportError.split(':')[0]! : r.status !== undefined && r.status !== 200 ? String(r.status) : `code ${r.envelope?.code ?? '-'}`
        this.#o.observer?.onFailing?.({ endpoint, answer, failingMs, budgetLeftMs: this.#o.retryBudgetMs - failingMs, attempts: attempt })
        await sleep(wait)
      }
    }
  }

  async #once (method: string, endpoint: string, options: CallOptions, json: string | undefined, sent: () => void): Promise<{ status?: number, headers?: Record<string, string | string[] | undefined>, envelope?: Envelope, transportError?: string, seconds: number }> {
    const t0 = performance.now()
    const query = new URLSearchParams()
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v === undefined) continue
      query.set(k, Array.isArray(v) ? JSON.stringify(v) : String(v))
    }
    const qs = query.toString()
    const headers: Record<string, string> = { accept: 'application/json' }
    if (options.auth !== false && this.#token !== undefined) headers['access-token'] = this.#token
    let body: string | Readable | undefined
    if (json !== undefined) {
      headers['content-type'] = 'application/json'
      body = json
    } else if (options.form !== undefined) {
      const form = multipart(options.form)
      headers['content-type'] = form.contentType
      headers['content-length'] = String(form.length)
      body = form.body
    }
    try {
      let claimed = false
      claim = request => { claimed = true; onWrite.set(request, sent) }
      let pending
      try {
        pending = this.#pool.request({
          method: method as 'GET' | 'POST',
          path: `${this.#basePath}${endpoint}${qs === '' ? '' : `?${qs}`}`,
          headers,
          ...(body !== undefined ? { body } : {}),
          headersTimeout: this.#o.timeoutMs,
          bodyTimeout: this.#o.timeoutMs
        })
      } finally { claim = undefined }
      const res = await pending
      // Queued behind busy connections, the write went unseen: the answer is later than the
      // arrival, so counting the request from now errs on the safe side.
      if (!claimed) sent()
      // Always read the body: an unconsumed body holds the connection (undici README).
      const text = await res.body.text()
      const envelope = parseEnvelope(text)
      return { status: res.statusCode, headers: res.headers, ...(envelope !== undefined ? { envelope } : {}), seconds: (performance.now() - t0) / 1000 }
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      return { transportError: `${e.code ?? 'ERR'}: ${e.message}`, seconds: (performance.now() - t0) / 1000 }
    }
  }

  async close (): Promise<void> {
    if (this.#ownLimiter) await this.#limiter.stop()
    await this.#pool.close()
  }
}
