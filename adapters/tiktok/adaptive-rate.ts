// The request rate one scope (the app, or one advertiser) may use right now, learnt from TikTok's
// answers: additive increase while requests succeed, multiplicative decrease on a rate-limit
// answer, never above the configured quota and never below a floor.
//
// Plain AIMD against a limit counted in a sliding one-second window over a few requests per
// second refuses about one request per sawtooth cycle, and the cycle is a few requests long,
// so two refinements:
// - The decrease starts from what TikTok let through: the most successes within one second
//   over the last two (when that is below the current rate), so an overshoot from the
//   configured 10 QPS to a 3 QPS reality is corrected by one decrease, not four. (Only the
//   second just before the refusal would undercount by one whenever answers' latencies vary,
//   and at 2 or 3 QPS one is a third of the limit.)
// Answers are timed when they arrive: TikTok stamps a request somewhere between its sending and
// its answer, and the arrival is the bound that never frees a window too early.
// - That measured rate is remembered as the knee for kneeHoldMs: growth stops just below it
//   (kneeMargin) and resumes, probing for more room, only when the hold has passed.
// A decrease takes effect at most once per cooldownMs: the requests already sent at the old rate
// come back refused too, and must not push the rate to the floor.

export interface AdaptiveRateOptions {
  /** The configured quota in requests per second; the rate never exceeds it. */
  ceiling: number
  /** Lowest rate, requests per second (default 0.5, or the ceiling when that is lower). */
  floor?: number
  /** Factor applied on a rate-limit answer (default 0.7). */
  decrease?: number
  /** Growth per second of successful operation, as a share of the ceiling (default 0.1). */
  increase?: number
  /** At most one decrease per this many ms (default 1000: TikTok's QPS window). */
  cooldownMs?: number
  /** How long a measured knee caps the growth (default 10 s). */
  kneeHoldMs?: number
  /** Growth stops at this share of the knee while it holds (default 0.95). */
  kneeMargin?: number
  now?: () => number
}

export const ADAPTIVE_DEFAULTS = { floor: 0.5, decrease: 0.7, increase: 0.1, cooldownMs: 1000, kneeHoldMs: 10_000, kneeMargin: 0.95 } as const

const kWindowMs = 1000

export class AdaptiveRate {
  readonly ceiling: number
  readonly floor: number
  readonly #o: Required<Omit<AdaptiveRateOptions, 'ceiling' | 'floor'>>
  #rate: number
  #lastDecrease = Number.NEGATIVE_INFINITY
  #lastGrowth: number
  #knee: { rate: number, until: number } | undefined
  /** Arrival times of recent successes, for the rate TikTok let through. */
  #accepted: number[] = []

  constructor (options: AdaptiveRateOptions) {
    if (!(options.ceiling > 0)) throw new RangeError(`adaptive rate ceiling must be positive, not ${options.ceiling}`)
    this.#o = { ...ADAPTIVE_DEFAULTS, now: Date.now, ...options }
    this.ceiling = options.ceiling
    this.floor = Math.min(options.ceiling, options.floor ?? ADAPTIVE_DEFAULTS.floor)
    this.#rate = options.ceiling
    this.#lastGrowth = this.#o.now()
  }

  /** Requests per second allowed now. */
  get rate (): number { return this.#rate }

  /** The knee growth stops below, while one holds. */
  get knee (): number | undefined {
    return this.#knee !== undefined && this.#o.now() < this.#knee.until ? this.#knee.rate : undefined
  }

  /** A success arrived: the rate grows by increase·ceiling per second since the last growth (at most one second's worth, so idle time does not count). */
  succeeded (): void {
    const now = this.#o.now()
    this.#accepted.push(now)
    if (this.#accepted.length > 4 * this.ceiling + 16) this.#prune(now)
    const dt = Math.min(now - this.#lastGrowth, 1000) / 1000
    this.#lastGrowth = now
    if (dt <= 0) return
    const knee = this.knee
    const cap = knee === undefined ? this.ceiling : Math.max(this.floor, Math.min(this.ceiling, knee * this.#o.kneeMargin))
    if (this.#rate < cap) this.#rate = Math.min(cap, this.#rate + this.#o.increase * this.ceiling * dt)
  }

  /** A rate-limit answer arrived; returns whether the rate went down. */
  refused (): boolean {
    const now = this.#o.now()
    if (now - this.#lastDecrease < this.#o.cooldownMs) return false
    this.#prune(now)
    const measured = this.#busiestSecond(now)
    // Nothing got through (a storm, or the first request): no knee to learn, only back off.
    const from = measured >= 1 ? Math.min(this.#rate, measured) : this.#rate
    if (measured >= 1) this.#knee = { rate: from, until: now + this.#o.kneeHoldMs }
    this.#rate = Math.max(this.floor, Math.min(this.ceiling, from * this.#o.decrease))
    this.#lastDecrease = now
    this.#lastGrowth = now
    return true
  }

  /**
   * When the one-second window that just refused a request has room again, judging by this
   * scope's own successes in it: the first of them leaves it then. With none in it (a storm,
   * someone else's traffic) nothing is known: now.
   */
  roomAt (): number {
    const now = this.#o.now()
    let first = Number.POSITIVE_INFINITY
    for (const t of this.#accepted) if (t > now - kWindowMs && t < first) first = t
    return first === Number.POSITIVE_INFINITY ? now : first + kWindowMs
  }

  /** The most successes that arrived within one second, over the last two seconds. */
  #busiestSecond (now: number): number {
    const a = this.#accepted
    let best = 0
    let from = 0
    for (let to = 0; to < a.length; to++) {
      if (a[to]! <= now - 2 * kWindowMs) { from = to + 1; continue }
      while (from < to && a[from]! <= a[to]! - kWindowMs) from++
      best = Math.max(best, to - from + 1)
    }
    return best
  }

  #prune (now: number): void {
    const keep = now - 2 * kWindowMs - this.#o.cooldownMs
    this.#accepted = this.#accepted.filter(t => t > keep)
  }
}
