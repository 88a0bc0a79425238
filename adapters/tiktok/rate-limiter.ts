// The only file that imports bottleneck. One app-wide limiter (QPS spacing plus a QPM reservoir:
// TikTok's tiers are per developer app, shared by every advertiser and audience), one limiter
// per advertiser chained to it, and a pause that rate-limit answers (40100/40016 app, 40133
// advertiser) extend with jittered, capped exponential backoff. Requests wait out the pause
// before entering the limiter, so a 40100 storm slows the request rate instead of hammering.
import Bottleneck from 'bottleneck'
import { setTimeout as sleep } from 'node:timers/promises'

export interface RateLimitOptions {
  qps: number
  qpm: number
  /** Per-advertiser QPS (TikTok does not publish it; default: the app QPS). */
  advertiserQps?: number
  /** First backoff after a rate-limit answer, and its cap. */
  backoffBaseMs?: number
  backoffCapMs?: number
  onWait?: (scope: 'app' | 'advertiser', seconds: number) => void
}

interface Pause { until: number, strikes: number }

export class RateLimiter {
  readonly #app: Bottleneck
  readonly #advertisers = new Map<string, Bottleneck>()
  readonly #pauses = new Map<string, Pause>()
  readonly #options: Required<Omit<RateLimitOptions, 'onWait' | 'advertiserQps'>> & Pick<RateLimitOptions, 'onWait' | 'advertiserQps'>

  constructor (options: RateLimitOptions) {
    this.#options = { backoffBaseMs: 1000, backoffCapMs: 60_000, ...options }
    this.#app = new Bottleneck({
      // A couple of ms over the exact spacing: network jitter must not squeeze 11 requests into
      // one of TikTok's one-second windows.
      minTime: Math.ceil(1000 / options.qps) + 2,
      reservoir: options.qpm,
      reservoirRefreshAmount: options.qpm,
      reservoirRefreshInterval: 60_000
    })
  }

  #advertiser (id: string): Bottleneck {
    let l = this.#advertisers.get(id)
    if (l === undefined) {
      l = new Bottleneck({ minTime: Math.ceil(1000 / (this.#options.advertiserQps ?? this.#options.qps)) + 2 })
      l.chain(this.#app)
      this.#advertisers.set(id, l)
    }
    return l
  }

  async #waitPause (key: string, scope: 'app' | 'advertiser'): Promise<void> {
    for (;;) {
      const p = this.#pauses.get(key)
      const ms = p === undefined ? 0 : p.until - Date.now()
      if (ms <= 0) return
      this.#options.onWait?.(scope, ms / 1000)
      await sleep(ms)
    }
  }

  /** Runs fn when both the app and the advertiser limiter allow it. */
  async schedule<T> (advertiserId: string | undefined, fn: () => Promise<T>): Promise<T> {
    await this.#waitPause('app', 'app')
    if (advertiserId !== undefined) await this.#waitPause(`adv:${advertiserId}`, 'advertiser')
    const limiter = advertiserId === undefined ? this.#app : this.#advertiser(advertiserId)
    return await limiter.schedule(fn)
  }

  /** A rate-limit answer: extend the pause for its scope; returns the pause in ms. */
  backoff (scope: 'app' | 'advertiser', advertiserId?: string): number {
    const key = scope === 'app' || advertiserId === undefined ? 'app' : `adv:${advertiserId}`
    const p = this.#pauses.get(key) ?? { until: 0, strikes: 0 }
    p.strikes++
    const raw = Math.min(this.#options.backoffCapMs, this.#options.backoffBaseMs * 2 ** (p.strikes - 1))
    const ms = Math.round(raw * (0.5 + Math.random() / 2))
    p.until = Math.max(p.until, Date.now() + ms)
    this.#pauses.set(key, p)
    return ms
  }

  /** A success: the scope's backoff starts from the base again next time. */
  recovered (advertiserId?: string): void {
    this.#pauses.delete('app')
    if (advertiserId !== undefined) this.#pauses.delete(`adv:${advertiserId}`)
  }

  async stop (): Promise<void> {
    for (const l of this.#advertisers.values()) await l.stop({ dropWaitingJobs: true })
    await this.#app.stop({ dropWaitingJobs: true })
  }
}
