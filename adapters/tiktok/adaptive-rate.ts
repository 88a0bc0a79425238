// The request rate one scope (the app, or one advertiser) may use right now, learnt from TikTok's
// answers: additive increase while requests succeed, multiplicative decrease on a rate-limit
// answer, never above the configured quota and never below a floor.
//
// Plain AIMD against a limit counted in a sliding one-second window over a few requests per
// second refuses about one request per sawtooth cycle, and the cycle is a few requests long,
// so two refinements:
// - The decrease starts from what TikTok let through in the second before the refused request
//   was sent (when that is below the current rate), so an overshoot from the configured 10 QPS
//   to a 3 QPS reality is corrected by one decrease, not four.
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
  /** Send times of recent successes, for the rate TikTok let through. */
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

  /** A request sent at sentAt succeeded: the rate grows by increase·ceiling per second since the last growth (at most one second's worth, so idle time does not count). */
  succeeded (sentAt: number = this.#o.now()): void {
    const now = this.#o.now()
    this.#accepted.push(sentAt)
    if (this.#accepted.length > 4 * this.ceiling + 16) this.#prune(now)
    const dt = Math.min(now - this.#lastGrowth, 1000) / 1000
    this.#lastGrowth = now
    if (dt <= 0) return
    const knee = this.knee
    const cap = knee === undefined ? this.ceiling : Math.max(this.floor, Math.min(this.ceiling, knee * this.#o.kneeMargin))
    if (this.#rate < cap) this.#rate = Math.min(cap, this.#rate + this.#o.increase * this.ceiling * dt)
  }

  /** A request sent at sentAt was refused for its rate; returns whether the rate went down. */
  refused (sentAt: number = this.#o.now()): boolean {
    const now = this.#o.now()
    if (now - this.#lastDecrease < this.#o.cooldownMs) return false
    this.#prune(now)
    let measured = 0
    for (const t of this.#accepted) if (t > sentAt - kWindowMs && t <= sentAt) measured++
    // Nothing got through (a storm, or the first request): no knee to learn, only back off.
    const from = measured >= 1 ? Math.min(this.#rate, measured) : this.#rate
    if (measured >= 1) this.#knee = { rate: from, until: now + this.#o.kneeHoldMs }
    this.#rate = Math.max(this.floor, Math.min(this.ceiling, from * this.#o.decrease))
    this.#lastDecrease = now
    this.#lastGrowth = now
    return true
  }

  #prune (now: number): void {
    const keep = now - 2 * kWindowMs - this.#o.cooldownMs
    this.#accepted = this.#accepted.filter(t => t > keep)
  }
}
