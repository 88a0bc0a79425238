// The built-in TikTok API emulator: the endpoints hashpipe uses, TikTok's envelope and codes
// (errors as HTTP 200 with a non-zero code), per-app QPS/QPM and per-advertiser QPS limits over
// sliding windows, with counters (received, refused, the busiest second), set semantics,
// simulated cover_num, fault injection, and read-only inspection routes (GET
// /__emulator/audiences, GET /__emulator/limits). It lets the whole product run on one machine
// without a TikTok account; it is not a substitute for checking requests against TikTok's
// documented shapes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes } from 'node:crypto'
import type { AddressInfo, Socket } from 'node:net'
import { EmulatorState, type EmulatorSeed } from './emulator-state.js'
import { handleApi, type Reply } from './emulator-routes.js'
import { collectBody } from './emulator-body.js'
import { receiveUpload, type StreamedMultipart } from './emulator-upload.js'
import type { FileFail } from './emulator-files.js'

export interface EmulatorFaults {
  /** Share of API requests answered with HTTP 500/503. */
  error5xxRate?: number
  /** Share of API requests whose connection is destroyed without an answer. */
  resetRate?: number
  /** Delay before every answer. */
  slowMs?: number
  /** Answer every API request with 40100 during [startMs, startMs + durationMs) after start. */
  storm?: { startMs: number, durationMs: number }
  /** Tokens stop working (40105) after this many authenticated calls. */
  revokeTokenAfter?: number
  /** An identifier (hex digest) whose presence fails its whole mapping batch with 40002. */
  poisonId?: string
  /** An event_id whose presence fails its whole /event/track/ request with 40002. */
  poisonEventId?: string
  /** Customer-file paths older than this answer 40910 (expired). */
  fileTtlMs?: number
  /** Extra delay before answering a file upload. */
  uploadSlowMs?: number
}

export interface EmulatorLimits {
  /** App requests per sliding second, answered 40100 above it. */
  qps: number
  /** App requests per sliding minute, answered 40100 above it. */
  qpm: number
  /** Requests per advertiser per sliding second, answered 40133 above it. */
  advertiserQps: number
}

export interface EmulatorRateStats {
  /** API requests received (the /open_api prefix), whatever their answer. */
  received: number
  /** Requests that passed the rate limits. */
  accepted: number
  /** Answered 40100 (app limit, or the storm fault). */
  refusedApp: number
  /** Answered 40133 (advertiser limit). */
  refusedAdvertiser: number
  /** Most requests accepted for the app within one sliding second. */
  busiestSecond: number
  /** Most requests accepted for one advertiser within one sliding second. */
  busiestAdvertiserSecond: number
  /** Most /event/track/ requests accepted within one sliding second. */
  busiestEventSecond: number
}

export interface EmulatorOptions {
  host?: string
  port?: number
  seed?: EmulatorSeed
  /** Persist audiences and tokens here (atomic writes), so a demo survives restarts. */
  stateFile?: string
  limits?: EmulatorLimits
  /** The Events API's own quota (/event/track/); default TikTok's 1,000 QPS / 600,000 QPM. */
  eventLimits?: { qps: number, qpm: number }
  /** Keep every API request body (tests check what left the machine). */
  recordBodies?: boolean
  faults?: EmulatorFaults
  /** Random source for fault injection (tests pass a seeded one). */
  random?: () => number
  /** Customer-file audiences stay is_valid=false this long after a create or update (default 0; TikTok: up to 48 h). */
  processingMs?: number
  /** Customer-file upload size limit (default TikTok's 250 MB). */
  fileMaxBytes?: number
}

export interface Emulator {
  url: string
  /** The API base URL to put in `tiktok.api_base_url`. */
  apiBaseUrl: string
  authUrl: string
  state: EmulatorState
  faults: EmulatorFaults
  /** Requests by 'METHOD /path', and answers by TikTok code ('http503', 'reset' for faults). */
  stats: Map<string, number>
  limits: EmulatorLimits
  /** Live counters of the rate limits, for tests and benches. */
  rateStats: EmulatorRateStats
  /** Request bodies, when recordBodies is set. */
  bodies: string[]
  close: () => Promise<void>
}

export const API_PREFIX = '/open_api/v1.3'
/** Room for a multipart wrapper around the largest upload. */
const kBodySlack = 1 << 20

// Arrival times in order. Requests are stamped when they arrive but judged when their bodies
// have been read, so a judged arrival can be earlier than one already admitted: every window
// of `span` that would hold it is checked, not only the one ending at it.
function upper (w: number[], t: number): number {
  let lo = 0
  let hi = w.length
  while (lo < hi) { const mid = (lo + hi) >> 1; if (w[mid]! <= t) lo = mid + 1; else hi = mid }
  return lo
}

/** With an arrival at t, the most arrivals any window (y − span, y] holding t would count; undefined when one would exceed limit. */
function fits (w: number[], t: number, span: number, limit: number): number | undefined {
  const i = upper(w, t)
  let busiest = 0
  // The window ending at t (j = i − 1), then those ending at each later arrival within span.
  for (let j = i - 1; j < w.length; j++) {
    const y = j < i ? t : w[j]!
    if (y >= t + span) break
    const n = upper(w, y) - upper(w, y - span) + 1
    if (n > limit) return undefined
    busiest = Math.max(busiest, n)
  }
  return busiest
}

/** Inserts t in order and forgets what no window can reach any more. */
function admit (w: number[], t: number): void {
  w.splice(upper(w, t), 0, t)
  // A few seconds beyond the minute: a judged arrival may be that much older than the latest.
  let n = 0
  while (n < w.length && w[n]! <= w[w.length - 1]! - 65_000) n++
  if (n > 0) w.splice(0, n)
}

export async function startEmulator (options: EmulatorOptions = {}): Promise<Emulator> {
  const state = new EmulatorState(options.seed, options.stateFile, { processingMs: options.processingMs ?? 0, fileMaxBytes: options.fileMaxBytes ?? 250_000_000 })
  const limits: EmulatorLimits = { ...(options.limits ?? { qps: 10, qpm: 600, advertiserQps: 10 }) }
  const rateStats: EmulatorRateStats = { received: 0, accepted: 0, refusedApp: 0, refusedAdvertiser: 0, busiestSecond: 0, busiestAdvertiserSecond: 0, busiestEventSecond: 0 }
  const faults: EmulatorFaults = { ...options.faults }
  const random = options.random ?? Math.random
  const started = Date.now()
  const stats = new Map<string, number>()
  const count = (k: string): void => { stats.set(k, (stats.get(k) ?? 0) + 1) }
  const appWindow: number[] = []
  const eventLimits = options.eventLimits ?? { qps: 1000, qpm: 600_000 }
  const eventWindow: number[] = []
  const bodies: string[] = []
  const overEventLimit = (now: number): number | undefined => {
    const second = fits(eventWindow, now, 1000, eventLimits.qps)
    if (second === undefined || fits(eventWindow, now, 60_000, eventLimits.qpm) === undefined) return 40100
    admit(eventWindow, now)
    rateStats.busiestEventSecond = Math.max(rateStats.busiestEventSecond, second)
    return undefined
  }
  const advWindows = new Map<string, number[]>()
  const sockets = new Set<Socket>()
  let saveTimer: NodeJS.Timeout | undefined
  const scheduleSave = (): void => {
    if (options.stateFile === undefined || saveTimer !== undefined) return
    saveTimer = setTimeout(() => { saveTimer = undefined; state.save() }, 500)
  }

  // Sliding windows of request times: the app's (QPS and QPM) and each advertiser's (QPS). A
  // request is counted at its arrival (its headers parsed), as an API gateway counts it, not
  // when its body has been read and its turn to be handled has come: those add this process's
  // own delays, which TikTok's counter does not have. A window still never holds more than the
  // limit of arrivals.
  const overLimit = (advertiserId: string | undefined, now: number): number | undefined => {
    const second = fits(appWindow, now, 1000, limits.qps)
    if (second === undefined || fits(appWindow, now, 60_000, limits.qpm) === undefined) return 40100
    if (advertiserId !== undefined) {
      const w = advWindows.get(advertiserId) ?? []
      const adv = fits(w, now, 1000, limits.advertiserQps)
      if (adv === undefined) return 40133
      admit(w, now)
      advWindows.set(advertiserId, w)
      rateStats.busiestAdvertiserSecond = Math.max(rateStats.busiestAdvertiserSecond, adv)
    }
    admit(appWindow, now)
    rateStats.accepted++
    rateStats.busiestSecond = Math.max(rateStats.busiestSecond, second)
    return undefined
  }

  const send = (res: ServerResponse, reply: Reply): void => {
    count(reply.status === 200 ? String(reply.body?.code ?? 0) : `http${reply.status}`)
    if (reply.body?.code === 40100) rateStats.refusedApp++
    else if (reply.body?.code === 40133) rateStats.refusedAdvertiser++
    if (reply.redirect !== undefined) {
      res.writeHead(302, { location: reply.redirect })
      res.end()
      return
    }
    const text = JSON.stringify(reply.body)
    res.writeHead(reply.status, { 'content-type': 'application/json', 'x-tt-logid': reply.body?.request_id ?? '', ...reply.headers })
    res.end(text)
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const arrivedAt = Date.now()
    // Uploads are read as they stream in (no body buffer) unless bodies are recorded.
    const upload = req.method === 'POST' && options.recordBodies !== true && /multipart\/form-data/i.test(req.headers['content-type'] ?? '') &&
      (req.url ?? '').split('?')[0]!.endsWith('/file/upload/')
    const handle = (raw: Buffer, multipart: StreamedMultipart | FileFail | undefined): void => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://emulator')
        count(`${req.method ?? 'GET'} ${url.pathname}`)
        if (options.recordBodies === true && url.pathname.startsWith(API_PREFIX)) bodies.push(raw.toString('utf8'))
        if (faults.slowMs !== undefined && faults.slowMs > 0) await new Promise(resolve => setTimeout(resolve, faults.slowMs))
        const isApi = url.pathname.startsWith(API_PREFIX)
        if (isApi) rateStats.received++
        if (url.pathname === '/__emulator/limits' && req.method === 'GET') {
          send(res, { status: 200, body: { code: 0, message: 'OK', request_id: randomBytes(8).toString('hex'), data: { limits, stats: rateStats } } })
          return
        }
        if (isApi && faults.resetRate !== undefined && random() < faults.resetRate) { count('reset'); req.socket.destroy(); return }
        if (isApi && faults.error5xxRate !== undefined && random() < faults.error5xxRate) {
          count('http503')
          res.writeHead(503, { 'content-type': 'text/html' })
          res.end('<html><body>503 Service Unavailable</body></html>')
          return
        }
        const requestId = randomBytes(8).toString('hex')
        if (isApi && faults.storm !== undefined) {
          const t = Date.now() - started
          if (t >= faults.storm.startMs && t < faults.storm.startMs + faults.storm.durationMs) {
            send(res, { status: 200, body: { code: 40100, message: 'Too many requests (emulated storm)', request_id: requestId, data: {} } })
            return
          }
        }
        if (faults.uploadSlowMs !== undefined && url.pathname.endsWith('/file/upload/')) await new Promise(resolve => setTimeout(resolve, faults.uploadSlowMs))
        state.files.options.fileTtlMs = faults.fileTtlMs
        const reply = await handleApi({ state, faults, overLimit: advertiserId => overLimit(advertiserId, arrivedAt), overEventLimit: () => overEventLimit(arrivedAt), requestId, scheduleSave }, req.method ?? 'GET', url, req.headers, /multipart\/form-data/i.test(req.headers['content-type'] ?? '') ? '' : raw.toString('utf8'), raw, multipart)
        send(res, reply)
      })().catch(err => {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ code: 50000, message: `emulator error: ${(err as Error).message}`, request_id: '', data: {} }))
      })
    }
    if (upload) receiveUpload(req, state.files.options.fileMaxBytes, multipart => handle(Buffer.alloc(0), multipart))
    else collectBody(req, state.files.options.fileMaxBytes + kBodySlack, raw => handle(raw, undefined))
  })
  server.on('connection', s => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  return {
    url,
    apiBaseUrl: `${url}${API_PREFIX}`,
    authUrl: `${url}/portal/auth`,
    state,
    faults,
    stats,
    limits,
    rateStats,
    bodies,
    close: async () => {
      if (saveTimer !== undefined) { clearTimeout(saveTimer); state.save() }
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
