// The app's quota shared by every hashpipe process (on any machine) that uses the same TikTok
// app and API base URL, through one Redis: tiktok.rate_limit.redis_url.
//
// A sliding-window log per scope: a sorted set of reservation times. One Lua script trims what
// left the windows, counts the last second (QPS) and the last minute (QPM) of the app and the
// last second of the advertiser, honours the shared pause, and either reserves (adds the time
// to the app's and the advertiser's sets) or answers how long to wait, atomically, on Redis's
// own clock (TIME), so machines whose clocks differ still share one window. TikTok's windows
// slide; so do these: no second ever holds more than qps reservations, no minute more than qpm.
// Reservations are also paced, (1 s + margin) / qps apart, by a due time every process shares
// (a key of its own), so the app's requests leave evenly rather than in bursts.
// A reservation is only a timestamp that ages out: a process killed with requests in flight
// leaves nothing that holds the others back beyond one window, and there is no count to leak.
//
// Why not bottleneck's Redis mode: its recovery compares script error messages with exact
// strings, and Redis 7 prefixes them with "ERR ", so once its settings key expires (or Redis
// restarts) every schedule() rejects for good; reproduced on Debian 12's Redis 7.0. Why not
// BullMQ's limiter: it counts a fixed window (INCR + PEXPIRE), which lets 2 × max through in
// one second across a window edge, and it would make every request a job in a queue.
//
// A rate-limit answer seen by one process pauses all of them: the pause (until when, strikes,
// last strike) is a hash in Redis that every reservation honours, extended with capped, jittered
// exponential backoff; answers to requests sent before the last strike are the same news and
// do not extend it, a success sent after it clears it. The adaptive rate of the embedded limiter
// is per process and not used here: the windows enforce the configured quota exactly.
//
// Keys start with hp:rl:{H}, H a hash of (app id, API base URL, quota): no token and no
// identifier is ever stored, and every key expires (PEXPIRE ≥ its window). The braces keep one
// app's keys in one Redis Cluster slot. Redis unreachable (at start, or for unavailableAfterMs
// mid-run): a coded error naming the URL (never its password), exit 5; nothing is sent without
// a reservation, so nothing is lost, and there is no fallback to local limits.
import { Redis } from 'ioredis'
import { createHash, randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { HashpipeError, ExitCode } from '../../pipeline/errors.js'
import type { Limiter, RateScope } from './rate-limiter.js'
import { FifoLock } from './fifo-lock.js'

export interface RedisRateLimitOptions {
  /** redis://[:PASSWORD@]HOST:PORT[/DB] (or rediss:// for TLS). */
  url: string
  appId: string
  apiBaseUrl: string
  /** Which of the app's quotas: the Marketing API's, or the Events API's own. */
  quota: 'api' | 'events'
  qps: number
  qpm: number
  /** Per-advertiser QPS (default: the app QPS). */
  advertiserQps?: number
  backoffBaseMs?: number
  backoffCapMs?: number
  /**
   * Added to every window: a request is counted at TikTok when it arrives. A reservation's time
   * is moved to the moment its request was written (schedule()'s sent()), so this process's
   * event loop, GC and commits between the grant and the write are no longer in it; what it
   * covers is the way from the socket to TikTok's counter. Default 30 ms (at most qps requests
   * per 1.03 s, 97 % of the quota); 80 ms before reservations were moved.
   */
  marginMs?: number
  /** How long Redis may stay unreachable mid-run before the run stops (default 3 s). */
  unavailableAfterMs?: number
  onWait?: (scope: RateScope, seconds: number) => void
}

// KEYS: app log, app pause, advertiser log, advertiser pause, app pace. ARGV: qps, qpm,
// advertiser qps (0: none), member, margin ms. Returns { wait ms (0: reserved), pause ms, a
// pause key exists (0/1), Redis's time of the reservation }.
const kReserve = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local qps, qpm, aqps = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local margin = tonumber(ARGV[5])
-- The minute gets at least 2 %: at TikTok's tiers qpm = 60 × qps, so at full rate every request
-- sits on the minute's edge, and an arrival later than the margin there is a 40100 for the
-- whole app (1 % was not enough for processes starved of CPU for over half a second).
local sec, minute = 1000 + margin, 60000 + math.max(margin, 1200)
local wait, pause, paused = 0, 0, 0
local function pauseOf (k)
  local u = redis.call('HGET', k, 'until')
  if u then paused = 1; return tonumber(u) - now end
  return 0
end
pause = math.max(pauseOf(KEYS[2]), aqps > 0 and pauseOf(KEYS[4]) or 0)
wait = pause
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - minute)
local inSecond = redis.call('ZCOUNT', KEYS[1], '(' .. (now - sec), '+inf')
if inSecond >= qps then
  local e = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - sec), '+inf', 'WITHSCORES', 'LIMIT', inSecond - qps, 1)
  wait = math.max(wait, tonumber(e[2]) + sec - now)
end
local inMinute = redis.call('ZCARD', KEYS[1])
if inMinute >= qpm then
  local e = redis.call('ZRANGE', KEYS[1], inMinute - qpm, inMinute - qpm, 'WITHSCORES')
  wait = math.max(wait, tonumber(e[2]) + minute - now)
end
-- The pace: the next reservation is due one spacing after the last was due, not after it was
-- made, so the lateness of a process's timer and of its round trip to Redis (a few ms each, on
-- every request) is made up by the next interval instead of added to every one. Later than one
-- spacing (idle, or held by a window) the pace starts again from now: no burst after idle time.
local spacing = sec / qps
local due = tonumber(redis.call('GET', KEYS[5]) or '')
if due and due > now then wait = math.max(wait, due - now) end
if aqps > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - sec)
  local n = redis.call('ZCARD', KEYS[3])
  if n >= aqps then
    local e = redis.call('ZRANGE', KEYS[3], n - aqps, n - aqps, 'WITHSCORES')
    wait = math.max(wait, tonumber(e[2]) + sec - now)
  end
end
if wait > 0 then return { math.ceil(wait), math.ceil(math.max(pause, 0)), paused, now } end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], minute + 1000)
local nextDue = now + spacing
if due and now - due <= spacing then nextDue = due + spacing end
redis.call('SET', KEYS[5], string.format('%.3f', nextDue), 'PX', math.ceil(sec + 1000))
if aqps > 0 then
  redis.call('ZADD', KEYS[3], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[3], sec + 1000)
end
return { 0, 0, paused, now }
`

// KEYS: app log, advertiser log. ARGV: member, the time its request was written (Redis's clock).
// Moves the reservation later, never earlier; a reservation already aged out stays out.
const kSent = `
redis.call('ZADD', KEYS[1], 'XX', 'GT', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', 'GT', ARGV[2], ARGV[1])
return 0
`

// KEYS: the scope's pause. ARGV: how long ago the refused request was sent (this process's
// clock measures the interval; Redis's clock places it), base ms, cap ms, jitter factor.
// Returns the pause left in ms.
const kBackoff = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local sentAt = now - tonumber(ARGV[1])
local base, cap, jitter = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '-1')
local untilAt = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
-- 2 ms of slack: the age crossed the network and both clocks count whole ms.
if sentAt <= last + 2 then return math.max(0, math.ceil(untilAt - now)) end
local strikes = tonumber(redis.call('HGET', KEYS[1], 'strikes') or '0') + 1
local ms = math.floor(math.min(cap, base * 2 ^ (strikes - 1)) * jitter)
untilAt = math.max(untilAt, now + ms)
redis.call('HSET', KEYS[1], 'until', untilAt, 'strikes', strikes, 'last', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(untilAt - now) + cap)
return math.ceil(untilAt - now)
`

// KEYS: the scope's pause. ARGV: how long ago the successful request was sent. A success sent
// after the last strike ends the pause and the strikes. Returns whether a pause key remains.
const kRecovered = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = redis.call('HGET', KEYS[1], 'last')
if not last then return 0 end
if now - tonumber(ARGV[1]) > tonumber(last) + 2 then redis.call('DEL', KEYS[1]); return 0 end
return 1
`

interface Scripts {
  hpReserve: (...args: Array<string | number>) => Promise<[number, number, number, number]>
  hpSent: (...args: Array<string | number>) => Promise<number>
  hpBackoff: (...args: Array<string | number>) => Promise<number>
  hpRecovered: (...args: Array<string | number>) => Promise<number>
}

/** The URL as it may be shown: the password replaced. */
export function redactRedisUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return '(an unparseable URL)'
  }
}

/** The key prefix of one app's quota: nothing in it identifies the app's owner or its data. */
export function quotaNamespace (appId: string, apiBaseUrl: string, quota: string): string {
  const h = createHash('sha256').update(`${appId}\n${apiBaseUrl.replace(/\/+$/, '')}\n${quota}`).digest('hex').slice(0, 20)
  return `hp:rl:{${h}}`
}

export class RedisRateLimiter implements Limiter {
  readonly #redis: Redis & Scripts
  readonly #o: Required<Omit<RedisRateLimitOptions, 'onWait' | 'advertiserQps'>> & Pick<RedisRateLimitOptions, 'onWait' | 'advertiserQps'>
  readonly #ns: string
  readonly #shownUrl: string
  readonly #fifos = new Map<string, FifoLock>()
  readonly #stopped = new AbortController()
  /** Scopes whose pause key existed at their last reservation: a success must try to clear it. */
  readonly #pauseSeen = new Set<string>()
  /** The backoff and recovery writes not yet done: a reservation waits for them, in order. */
  #writes: Promise<void> = Promise.resolve()
  /** A write that failed: the next reservation throws it. */
  #failure: HashpipeError | undefined
  readonly #me = randomBytes(6).toString('hex')
  #seq = 0

  private constructor (redis: Redis, options: RedisRateLimitOptions) {
    this.#redis = redis as Redis & Scripts
    this.#o = { backoffBaseMs: 1000, backoffCapMs: 60_000, marginMs: 30, unavailableAfterMs: 3000, ...options }
    this.#ns = quotaNamespace(options.appId, options.apiBaseUrl, options.quota)
    this.#shownUrl = redactRedisUrl(options.url)
    this.#redis.defineCommand('hpReserve', { numberOfKeys: 5, lua: kReserve })
    this.#redis.defineCommand('hpBackoff', { numberOfKeys: 1, lua: kBackoff })
    this.#redis.defineCommand('hpRecovered', { numberOfKeys: 1, lua: kRecovered })
    this.#redis.defineCommand('hpSent', { numberOfKeys: 2, lua: kSent })
  }

  /** Connects and checks Redis answers; a coded error (exit 5) when it does not. */
  static async connect (options: RedisRateLimitOptions): Promise<RedisRateLimiter> {
    const redis = new Redis(options.url, {
      lazyConnect: true,
      // Fail fast while disconnected: a reservation that cannot be made is an error the run
      // reports, never a request sent without one.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      retryStrategy: times => Math.min(100 * times, 1000)
    })
    // Connection errors surface through the commands; without a listener ioredis prints them.
    redis.on('error', () => {})
    try {
      await redis.connect()
      await redis.ping()
    } catch (err) {
      redis.disconnect()
      throw unavailable(redactRedisUrl(options.url), err, 'at start')
    }
    return new RedisRateLimiter(redis, options)
  }

  #key (scope: string): string { return `${this.#ns}:${scope}` }
  #advKey (advertiserId: string): string {
    return this.#key(`adv:${createHash('sha256').update(`${this.#ns}\n${advertiserId}`).digest('hex').slice(0, 16)}`)
  }

  /** A Redis call, retried while Redis is briefly away; a coded error once it stayed away. */
  async #call<R> (fn: () => Promise<R>): Promise<R> {
    let since: number | undefined
    for (;;) {
      this.#checkStopped()
      try {
        return await fn()
      } catch (err) {
        since ??= Date.now()
        if (Date.now() - since >= this.#o.unavailableAfterMs) throw unavailable(this.#shownUrl, err, 'mid-run')
        await sleep(100)
      }
    }
  }

  #checkStopped (): void {
    if (this.#stopped.signal.aborted) throw new HashpipeError('HP_ERR_ABORTED', 'the TikTok client was closed while a request waited for the rate limit; the run is resumable: run the command again')
  }

  async schedule<T> (advertiserId: string | undefined, fn: (sent: () => void) => Promise<T>): Promise<T> {
    const scope = advertiserId === undefined ? 'app' : `adv:${advertiserId}`
    let fifo = this.#fifos.get(scope)
    if (fifo === undefined) { fifo = new FifoLock(); this.#fifos.set(scope, fifo) }
    const release = await fifo.lock()
    const keys = [this.#key('app'), this.#key('app:pause'), advertiserId === undefined ? this.#key('none') : this.#advKey(advertiserId), advertiserId === undefined ? this.#key('none:pause') : `${this.#advKey(advertiserId)}:pause`, this.#key('app:pace')]
    let member: string
    let reservedAt: number
    let askedAt: number
    try {
      await this.#writes
      if (this.#failure !== undefined) throw this.#failure
      const aqps = advertiserId === undefined ? 0 : this.#o.advertiserQps ?? this.#o.qps
      for (;;) {
        member = `${this.#me}:${this.#seq++}`
        askedAt = Date.now()
        const [wait, pause, paused, at] = await this.#call(async () => await this.#redis.hpReserve(...keys, this.#o.qps, this.#o.qpm, aqps, member, this.#o.marginMs))
        if (paused === 1) this.#pauseSeen.add(scope)
        reservedAt = at
        if (wait <= 0) break
        if (pause > 0) this.#o.onWait?.('app', pause / 1000)
        await sleep(wait, undefined, { signal: this.#stopped.signal }).catch(() => {})
        this.#checkStopped()
      }
    } finally { release() }
    let moved = false
    return await fn(() => {
      if (moved) return
      moved = true
      // Redis reserved at most (now − askedAt) after it was asked, so this time is never earlier
      // than the write on Redis's clock: later the reservation may err, earlier it must not.
      const writtenAt = reservedAt + Date.now() - askedAt
      this.#write(async () => { await this.#redis.hpSent(keys[0]!, keys[2]!, member, writtenAt) })
    })
  }

  backoff (scope: RateScope, advertiserId?: string, sentAt: number = Date.now()): number {
    const onApp = scope === 'app' || advertiserId === undefined
    const key = onApp ? this.#key('app:pause') : `${this.#advKey(advertiserId)}:pause`
    this.#pauseSeen.add(onApp ? 'app' : `adv:${advertiserId}`)
    const jitter = 0.5 + Math.random() / 2
    // The age is taken as the script is sent, so that Redis's clock places the send right.
    this.#write(async () => { await this.#redis.hpBackoff(key, Math.max(0, Date.now() - sentAt), this.#o.backoffBaseMs, this.#o.backoffCapMs, jitter) })
    // The caller only weighs this against its retry budget; the pause itself is waited out in
    // schedule(), from Redis.
    return this.#o.backoffBaseMs
  }

  recovered (advertiserId?: string, sentAt: number = Date.now()): void {
    const scopes: Array<[string, string]> = [['app', this.#key('app:pause')]]
    if (advertiserId !== undefined) scopes.push([`adv:${advertiserId}`, `${this.#advKey(advertiserId)}:pause`])
    for (const [scope, key] of scopes) {
      if (!this.#pauseSeen.has(scope)) continue
      this.#write(async () => { if (await this.#redis.hpRecovered(key, Math.max(0, Date.now() - sentAt)) === 0) this.#pauseSeen.delete(scope) })
    }
  }

  #write (fn: () => Promise<void>): void {
    this.#writes = this.#writes.then(async () => {
      if (this.#failure !== undefined || this.#stopped.signal.aborted) return
      try { await this.#call(fn) } catch (err) {
        if (err instanceof HashpipeError && err.code !== 'HP_ERR_ABORTED') this.#failure ??= err
      }
    })
  }

  currentRate (advertiserId?: string): number {
    return advertiserId === undefined ? this.#o.qps : this.#o.advertiserQps ?? this.#o.qps
  }

  async stop (): Promise<void> {
    await this.#writes
    this.#stopped.abort()
    this.#redis.disconnect()
  }
}

function unavailable (shownUrl: string, err: unknown, when: string): HashpipeError {
  return new HashpipeError('HP_ERR_RATE_LIMIT_UNAVAILABLE',
    `the shared rate limit in Redis (tiktok.rate_limit.redis_url: ${shownUrl}) is unreachable ${when} (${(err as Error).message}); ` +
    'no request is sent without it, so nothing was lost and the run is resumable: start Redis (or fix the URL) and run the command again',
    ExitCode.DESTINATION_UNAVAILABLE, { cause: err })
}
