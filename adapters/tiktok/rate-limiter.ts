// The TikTok client's rate limiting. TikTok's tiers are per developer app, shared by every
// advertiser and audience, plus per-advertiser limits (40133); its windows slide. Two modes:
//
// Adaptive (the default): each scope (the app, each advertiser) spaces its requests at the rate
// an AdaptiveRate has learnt from TikTok's answers, at most the configured QPS, and the app keeps
// a sliding 60-s window for the QPM quota. The spacing is decided when a request leaves, from
// the rate at that moment: a FIFO per scope, a request passes its advertiser's then the app's.
// (bottleneck fixes each queued job's start time when it enters, so a lowered rate or a pause
// reached the queued requests only after they had been refused.) A rate-limit answer lowers
// its scope's rate and pauses the scope with jittered, capped exponential backoff; only answers
// to requests sent after the scope's last strike count as news, so the in-flight rest of a burst
// neither doubles the pause nor, by succeeding, cancels it.
//
// Fixed (`adaptive: false`, the behaviour before the adaptive rate): bottleneck spaces requests
// at the configured QPS with a QPM reservoir; every refusal is a strike, any success clears it.
//
// TikTok counts a request when it arrives, not when the limiter let it go: whatever runs between
// the grant and the write (a GC pause, a synchronous commit, another task on the event loop)
// delays one request and not the next, and a window that held qps grants can then hold qps + 1
// arrivals. So the adaptive mode keeps a log of send times per scope, each moved from its grant
// to the moment the request was handed to the connection (the `sent` callback of schedule()),
// and lets a request go only when fewer than qps of them lie in the last 1 s + marginMs (and
// fewer than qpm in the last 60 s + marginMs). What is left for the margin is the way from the
// socket to TikTok's counter: the network's jitter, not this process's.
import Bottleneck from 'bottleneck'
import { setTimeout as sleep } from 'node:timers/promises'
import { HashpipeError } from '../../pipeline/errors.js'
import { AdaptiveRate, type AdaptiveRateOptions } from './adaptive-rate.js'
import { FifoLock } from './fifo-lock.js'

export type RateScope = 'app' | 'advertiser'

export interface RateLimitOptions {
  qps: number
  qpm: number
  /** Per-advertiser QPS (TikTok does not publish it; default: the app QPS). */
  advertiserQps?: number
  /** First backoff after a rate-limit answer, and its cap. */
  backoffBaseMs?: number
  backoffCapMs?: number
  /** Learn the allowed rate from TikTok's answers (default true). */
  adaptive?: boolean
  /**
   * Added to TikTok's windows (1 s, 60 s), and the spacing at the current rate is
   * (1000 + marginMs) / rate: what may separate the hand-off to the socket from TikTok's count
   * (default 30 ms, 97 % of the quota at most).
   */
  marginMs?: number
  /** Tuning of the adaptive rate (tests; the defaults are documented in README.md). */
  adaptiveOptions?: Omit<AdaptiveRateOptions, 'ceiling'>
  onWait?: (scope: RateScope, seconds: number) => void
  /** The adaptive rate of a scope changed (requests per second). */
  onRate?: (scope: RateScope, qps: number) => void
}

/** What the TikTok client needs of a limiter: the embedded one below, or the shared one in Redis (redis-rate-limiter.ts). */
export interface Limiter {
  /**
   * Runs fn when both the app and the advertiser limits allow it. fn calls sent() when the
   * request has been handed to the connection (its bytes written, or queued behind none): the
   * limits then count it from that moment instead of the grant.
   */
  schedule: <T>(advertiserId: string | undefined, fn: (sent: () => void) => Promise<T>) => Promise<T>
  /** A rate-limit answer to a request sent at sentAt (this process's clock); returns the pause in ms. */
  backoff: (scope: RateScope, advertiserId?: string, sentAt?: number) => number
  /** A success of a request sent at sentAt. */
  recovered: (advertiserId?: string, sentAt?: number) => void
  /** Requests per second the app (or one advertiser) may use now. */
  currentRate: (advertiserId?: string) => number
  stop: () => Promise<void>
}

interface Pause { until: number, strikes: number, lastStrike: number }

/** A send time in a scope's log; moved later (never earlier) when the request is written. */
interface Stamp { t: number }

/**
 * Send times in time order, oldest first. Stamps only move later, and a moved stamp is put
 * back in order, so the k-th most recent is at length − k.
 */
class SendLog {
  readonly #stamps: Stamp[] = []

  get length (): number { return this.#stamps.length }
  /** The k-th most recent time (1: the latest). */
  recent (k: number): number { return this.#stamps[this.#stamps.length - k]!.t }

  add (t: number): Stamp {
    const s = { t }
    this.#stamps.push(s)
    this.#reorder(this.#stamps.length - 1)
    return s
  }

  move (s: Stamp, t: number): void {
    if (t <= s.t) return
    s.t = t
    const i = this.#stamps.lastIndexOf(s)
    if (i >= 0) this.#reorder(i)
  }

  /** Drops the times at or before `before`. */
  prune (before: number): void {
    let n = 0
    while (n < this.#stamps.length && this.#stamps[n]!.t <= before) n++
    if (n > 0) this.#stamps.splice(0, n)
  }

  #reorder (i: number): void {
    const a = this.#stamps
    while (i + 1 < a.length && a[i]!.t > a[i + 1]!.t) { [a[i], a[i + 1]] = [a[i + 1]!, a[i]!]; i++ }
    while (i > 0 && a[i - 1]!.t > a[i]!.t) { [a[i], a[i - 1]] = [a[i - 1]!, a[i]!]; i-- }
  }
}

interface Scope {
  kind: RateScope
  key: string
  rate: AdaptiveRate
  fifo: FifoLock
  /** Between grants: it sets the pace, the log keeps the windows (a write delayed by d would otherwise add d to every interval). */
  spacing: number
  /**
   * When the pace lets the next grant go. It advances by the spacing from where it was, not from
   * the grant: a timer that fires late (it does, by a few ms on a busy event loop) would
   * otherwise add its lateness to every interval, twenty times a second, and the windows would
   * never be filled (91 % of the quota in the conversions bench).
   */
  due: number
  /** Its QPS quota: at most this many sends per 1 s + margin. */
  limit: number
  log: SendLog
}

export const DEFAULT_MARGIN_MS = 30

// Fixed mode: a couple of ms over the exact spacing, as before.
const fixedSpacing = (qps: number): number => Math.ceil(1000 / qps) + 2

export class RateLimiter implements Limiter {
  readonly #options: RateLimitOptions & { backoffBaseMs: number, backoffCapMs: number }
  readonly #adaptive: boolean
  readonly #pauses = new Map<string, Pause>()
  readonly #stopped = new AbortController()
  // Adaptive mode.
  readonly #app: Scope
  readonly #advertisers = new Map<string, Scope>()
  /** Send times within the last minute (and margin), for the QPM quota. */
  readonly #minute = new SendLog()
  readonly #margin: number
  // Fixed mode.
  #fixedApp: Bottleneck | undefined
  readonly #fixedAdvertisers = new Map<string, Bottleneck>()

  constructor (options: RateLimitOptions) {
    this.#options = { backoffBaseMs: 1000, backoffCapMs: 60_000, ...options }
    this.#adaptive = options.adaptive ?? true
    this.#margin = options.marginMs ?? DEFAULT_MARGIN_MS
    this.#app = this.#scope('app', 'app', options.qps)
    if (!this.#adaptive) {
      this.#fixedApp = new Bottleneck({
        minTime: fixedSpacing(options.qps),
        reservoir: options.qpm,
        reservoirRefreshAmount: options.qpm,
        reservoirRefreshInterval: 60_000
      })
    }
  }

  #scope (kind: RateScope, key: string, qps: number): Scope {
    return { kind, key, rate: new AdaptiveRate({ ...this.#options.adaptiveOptions, ceiling: qps }), fifo: new FifoLock(), spacing: this.#spacing(qps), due: Number.NEGATIVE_INFINITY, limit: Math.max(1, Math.floor(qps)), log: new SendLog() }
  }

  #spacing (qps: number): number { return (1000 + this.#margin) / qps }

  #advertiser (id: string): Scope {
    let s = this.#advertisers.get(id)
    if (s === undefined) {
      s = this.#scope('advertiser', `adv:${id}`, this.#options.advertiserQps ?? this.#options.qps)
      this.#advertisers.set(id, s)
    }
    return s
  }

  /** Runs fn when both the app and the advertiser limits allow it. */
  async schedule<T> (advertiserId: string | undefined, fn: (sent: () => void) => Promise<T>): Promise<T> {
    if (!this.#adaptive) return await this.#scheduleFixed(advertiserId, async () => await fn(() => {}))
    const adv = advertiserId === undefined ? undefined : this.#advertiser(advertiserId)
    const stamps: Array<[SendLog, Stamp]> = []
    const releaseAdv = adv === undefined ? undefined : await adv.fifo.lock()
    try {
      if (adv !== undefined) await this.#waitTurn(adv)
      const releaseApp = await this.#app.fifo.lock()
      try {
        await this.#waitTurn(this.#app)
        const now = Date.now()
        this.#paced(this.#app, now)
        if (adv !== undefined) this.#paced(adv, now)
        for (const log of [this.#app.log, this.#minute, ...(adv !== undefined ? [adv.log] : [])]) stamps.push([log, log.add(now)])
      } finally { releaseApp() }
    } finally { releaseAdv?.() }
    let moved = false
    return await fn(() => {
      if (moved) return
      moved = true
      const now = Date.now()
      for (const [log, stamp] of stamps) log.move(stamp, now)
    })
  }

  /** Waits out the scope's pause, its spacing at the current rate and (app) the QPM window. */
  async #waitTurn (s: Scope): Promise<void> {
    for (;;) {
      if (this.#stopped.signal.aborted) throw new HashpipeError('HP_ERR_ABORTED', 'the TikTok client was closed while a request waited for the rate limit; the run is resumable: run the command again')
      const now = Date.now()
      const pause = (this.#pauses.get(s.key)?.until ?? 0) - now
      const second = 1000 + this.#margin
      s.log.prune(now - second)
      let wait = Math.max(pause, s.due - now)
      if (s.log.length >= s.limit) wait = Math.max(wait, s.log.recent(s.limit) + second - now)
      if (s.kind === 'app') {
        const minute = 60_000 + this.#margin
        this.#minute.prune(now - minute)
        if (this.#minute.length >= this.#options.qpm) wait = Math.max(wait, this.#minute.recent(this.#options.qpm) + minute - now)
      }
      if (wait <= 0) return
      if (pause > 0) this.#options.onWait?.(s.kind, pause / 1000)
      await sleep(wait, undefined, { signal: this.#stopped.signal }).catch(() => {})
    }
  }

  /**
   * A grant at `now`: the next is due one spacing after this one was due. Lateness up to one
   * spacing is made up by the next interval (two requests may then leave together); a grant
   * later than that (the scope was idle, or waited for a window) starts the pace again from
   * itself, so idle time never turns into a burst. The windows, not the pace, keep TikTok's
   * limits. (A quarter of the spacing was not enough: on the sender's busy event loop one
   * timer in ten fired later than that, and the conversions bench stayed at 91 %.)
   */
  #paced (s: Scope, now: number): void {
    s.due = now - s.due <= s.spacing ? s.due + s.spacing : now + s.spacing
  }

  async #scheduleFixed<T> (advertiserId: string | undefined, fn: () => Promise<T>): Promise<T> {
    await this.#waitPauseFixed('app', 'app')
    if (advertiserId !== undefined) await this.#waitPauseFixed(`adv:${advertiserId}`, 'advertiser')
    let limiter = this.#fixedApp!
    if (advertiserId !== undefined) {
      let l = this.#fixedAdvertisers.get(advertiserId)
      if (l === undefined) {
        l = new Bottleneck({ minTime: fixedSpacing(this.#options.advertiserQps ?? this.#options.qps) })
        l.chain(this.#fixedApp!)
        this.#fixedAdvertisers.set(advertiserId, l)
      }
      limiter = l
    }
    return await limiter.schedule(fn)
  }

  async #waitPauseFixed (key: string, scope: RateScope): Promise<void> {
    for (;;) {
      const p = this.#pauses.get(key)
      const ms = p === undefined ? 0 : p.until - Date.now()
      if (ms <= 0) return
      this.#options.onWait?.(scope, ms / 1000)
      await sleep(ms)
    }
  }

  /** Requests per second the scope may use now. */
  currentRate (advertiserId?: string): number {
    if (!this.#adaptive) return advertiserId === undefined ? this.#options.qps : this.#options.advertiserQps ?? this.#options.qps
    return (advertiserId === undefined ? this.#app : this.#advertiser(advertiserId)).rate.rate
  }

  /** A rate-limit answer to a request sent at sentAt: lowers the scope's rate and extends its pause; returns the pause in ms. */
  backoff (scope: RateScope, advertiserId?: string, sentAt: number = Date.now()): number {
    const onApp = scope === 'app' || advertiserId === undefined
    const key = onApp ? 'app' : `adv:${advertiserId}`
    if (this.#adaptive) {
      const s = onApp ? this.#app : this.#advertiser(advertiserId)
      if (s.rate.refused()) this.#respace(s)
    }
    const now = Date.now()
    const p = this.#pauses.get(key) ?? { until: 0, strikes: 0, lastStrike: Number.NEGATIVE_INFINITY }
    // Sent before the last strike: the pause already answers it.
    if (this.#adaptive && sentAt <= p.lastStrike) return Math.max(0, p.until - now)
    p.strikes++
    p.lastStrike = now
    let ms: number
    if (this.#adaptive && p.strikes === 1) {
      // A first refusal after successes: the lowered rate is the answer; only wait until the
      // window that refused it has room for one more.
      ms = Math.max(0, (onApp ? this.#app : this.#advertiser(advertiserId)).rate.roomAt() + 2 - now)
    } else {
      // Refused again without a success in between: exponential backoff (one step later when adaptive).
      const raw = Math.min(this.#options.backoffCapMs, this.#options.backoffBaseMs * 2 ** (p.strikes - (this.#adaptive ? 2 : 1)))
      ms = Math.round(raw * (0.5 + Math.random() / 2))
    }
    p.until = Math.max(p.until, now + ms)
    this.#pauses.set(key, p)
    return this.#adaptive ? p.until - now : ms
  }

  /** A success of a request sent at sentAt: the rates grow, and the backoff starts from the base again next time. */
  recovered (advertiserId?: string, sentAt: number = Date.now()): void {
    if (this.#adaptive) {
      this.#app.rate.succeeded()
      this.#respace(this.#app)
      if (advertiserId !== undefined) {
        const adv = this.#advertiser(advertiserId)
        adv.rate.succeeded()
        this.#respace(adv)
      }
    }
    this.#clear('app', sentAt)
    if (advertiserId !== undefined) this.#clear(`adv:${advertiserId}`, sentAt)
  }

  #clear (key: string, sentAt: number): void {
    const p = this.#pauses.get(key)
    if (p !== undefined && (!this.#adaptive || sentAt > p.lastStrike)) this.#pauses.delete(key)
  }

  #respace (s: Scope): void {
    const next = this.#spacing(s.rate.rate)
    if (next === s.spacing) return
    s.spacing = next
    this.#options.onRate?.(s.kind, s.rate.rate)
  }

  async stop (): Promise<void> {
    this.#stopped.abort()
    for (const l of this.#fixedAdvertisers.values()) await l.stop({ dropWaitingJobs: true })
    await this.#fixedApp?.stop({ dropWaitingJobs: true })
  }
}
