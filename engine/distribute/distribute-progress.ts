// Progress of long runs on stderr, for several distributions running at once, each under its
// label (`segment → destination`, or `conversions NAME`): on a TTY one live line per running
// distribution (cli-progress MultiBar), otherwise a plain line when a phase begins and one per
// distribution every `intervalMs`. A call that keeps failing at TikTok gets a warning line,
// from the client's retry loop (ApiObserver.onFailing). Counts, sizes, rates and HTTP statuses
// only: never an identifier, a digest or a response body.
import cliProgress from 'cli-progress'
import type { Writable } from 'node:stream'
import type { ProgressSnapshot } from '../hash-job.js'
import type { ApiObserver } from '../../adapters/tiktok/tiktok-client.js'
import { formatCount } from '../../pipeline/format-count.js'

export type RunPhase = 'prepare' | 'plan' | 'deliver' | 'commit' | 'send'

/** One distribution's progress, handed to runDistribution. */
export interface RunProgress {
  phase: (phase: RunPhase) => void
  /** The hash pass of prepare (bytes read of the inputs, identifiers seen). */
  hashed: (p: ProgressSnapshot) => void
  /** What TikTok acknowledged so far of `total` (undefined: not known up front); `note` adds counts. */
  sent: (done: number, total: number | undefined, note?: string) => void
  /** Retries, rate-limit waits and long failures of this distribution's TikTok calls. */
  readonly observer: ApiObserver
  /** The distribution is over (done or failed): its line goes away. */
  end: () => void
}

export interface DistributeProgress {
  /** The progress of the distribution under `label`; the same one while it is tracked. */
  track: (label: string) => RunProgress
  /** For the TikTok client made before the distribution starts: events go to `label`'s progress while it is tracked. */
  observer: (label: string) => ApiObserver
  /** Ends every line and the timer. Idempotent. */
  stop: () => void
}

export interface DistributeProgressOptions {
  /** Where the lines go (stderr). */
  stream: Writable & { isTTY?: boolean }
  /** Live lines (default: stream.isTTY). */
  isTTY?: boolean
  /** Off (--json): a reporter that prints nothing. */
  enabled?: boolean
  /** A line per running distribution this often on a non-TTY (default 10 s). */
  intervalMs?: number
  /** A TikTok call failing this long gets a warning line, then every `warnEveryMs` (defaults 30 s, at most a quarter of the budget). */
  warnAfterMs?: number
  warnEveryMs?: number
  now?: () => number
}

const kNoop: RunProgress = { phase () {}, hashed () {}, sent () {}, observer: {}, end () {} }

export function noProgress (): DistributeProgress {
  return { track: () => kNoop, observer: () => ({}), stop () {} }
}

const num = formatCount
const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`

/** Rejects per reason, most frequent first: `phone_invalid 60, email_invalid 9`. */
export function reasons (byReason: Partial<Record<string, number>>): string {
  return Object.entries(byReason).filter(([, k]) => (k ?? 0) > 0).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0)).map(([k, v]) => `${k} ${num(v ?? 0)}`).join(', ')
}

/** 45 s, 2 min, 1 h 5 min: how long, at the precision a person reads it. */
export function humanDuration (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.round(s / 60)} min`
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
}

function eta (seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?'
  const s = Math.ceil(seconds)
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

function perSecond (n: number, seconds: number): string {
  if (seconds <= 0 || n <= 0) return '-'
  const r = n / seconds
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : r >= 1e4 ? `${Math.round(r / 1000)} k/s` : `${num(r)}/s`
}

interface Track {
  label: string
  phase: RunPhase | undefined
  hash: ProgressSnapshot | undefined
  done: number
  total: number | undefined
  note: string
  /** Acknowledged count and time when the deliver phase began: the rate counts this run only. */
  deliverFrom: { done: number, at: number } | undefined
  retries: number
  waits: number
  waitSeconds: number
  /** The failing call: when it was last warned about. */
  failing: { warnedAt: number, lastFailingMs: number } | undefined
  bar: cliProgress.SingleBar | undefined
  /** The deliver line waits for the first position (the plan's total comes with it). */
  announce: boolean
}

export function createDistributeProgress (options: DistributeProgressOptions): DistributeProgress {
  if (options.enabled === false) return noProgress()
  const { stream } = options
  const tty = options.isTTY ?? stream.isTTY === true
  const now = options.now ?? Date.now
  const intervalMs = options.intervalMs ?? 10_000
  const tracks = new Map<string, { track: Track, progress: RunProgress }>()
  let stopped = false

  const multi = tty
    ? new cliProgress.MultiBar({
      stream,
      format: '{label} {phase} {bar} {percentage}% | {detail}',
      hideCursor: true,
      clearOnComplete: true,
      // A stream taken for a TTY that is not one (tests, a pseudo-terminal wrapper) still gets lines.
      noTTYOutput: stream.isTTY !== true,
      barsize: 24
    }, cliProgress.Presets.shades_classic)
    : undefined

  const detail = (t: Track): string => {
    switch (t.phase) {
      case 'prepare': {
        const p = t.hash
        if (p === undefined) return 'hashing the inputs'
        const left = p.bytesTotal === undefined || p.bytesDone === 0 ? Number.NaN : p.seconds * (p.bytesTotal - p.bytesDone) / p.bytesDone
        return `${p.bytesTotal === undefined ? '' : `${Math.floor(100 * p.bytesDone / Math.max(1, p.bytesTotal))}% `}${mib(p.bytesDone)}${p.bytesTotal === undefined ? '' : `/${mib(p.bytesTotal)}`}, ${num(p.identifiers)} identifiers, ${perSecond(p.identifiers, p.seconds)}, ETA ${eta(left)}`
      }
      case 'plan': return 'comparing with what TikTok holds'
      case 'commit': return `${num(t.done)} sent; recording the delivered set`
      case 'deliver':
      case 'send': {
        if (t.announce) return t.phase === 'deliver' ? 'finding the audience' : 'starting'
        const from = t.deliverFrom ?? { done: t.done, at: now() }
        const seconds = (now() - from.at) / 1000
        const moved = t.done - from.done
        const left = t.total === undefined || moved <= 0 ? Number.NaN : seconds * (t.total - t.done) / moved
        const extras = [
          t.retries > 0 ? `${num(t.retries)} retr${t.retries === 1 ? 'y' : 'ies'}` : '',
          t.waits > 0 ? `${num(t.waits)} rate-limit wait${t.waits === 1 ? '' : 's'} (${t.waitSeconds.toFixed(1)} s)` : ''
        ].filter(x => x !== '')
        return `${t.total === undefined ? `${num(t.done)} sent` : `${num(t.done)} of ${num(t.total)} sent`}${t.note === '' ? '' : `, ${t.note}`}${moved <= 0 ? '' : `, ${perSecond(moved, seconds)}`}${t.total === undefined || t.done >= t.total || moved <= 0 ? '' : `, ETA ${eta(left)}`}${extras.length === 0 ? '' : `, ${extras.join(', ')}`}`
      }
      default: return 'starting'
    }
  }

  const fraction = (t: Track): [number, number] => {
    if (t.phase === 'prepare' && t.hash !== undefined) return [t.hash.bytesDone, t.hash.bytesTotal ?? Math.max(1, t.hash.bytesDone)]
    if ((t.phase === 'deliver' || t.phase === 'send') && t.total !== undefined) return [t.done, Math.max(1, t.total)]
    if (t.phase === 'commit') return [1, 1]
    return [0, 1]
  }

  const line = (t: Track): string => `hashpipe: ${t.label}: ${t.phase ?? 'start'}: ${detail(t)}\n`

  const render = (t: Track): void => {
    if (stopped) return
    if (multi === undefined) return
    const [value, total] = fraction(t)
    const payload = { label: t.label, phase: (t.phase ?? 'start').padEnd(7), detail: detail(t) }
    if (t.bar === undefined) t.bar = multi.create(total, value, payload)
    else { t.bar.setTotal(total); t.bar.update(value, payload) }
  }

  const say = (text: string): void => {
    if (stopped) return
    if (multi !== undefined) multi.log(text)
    else stream.write(text)
  }

  const timer = multi === undefined
    ? setInterval(() => { for (const { track } of tracks.values()) say(line(track)) }, intervalMs)
    : undefined
  timer?.unref()

  return {
    observer (label) {
      const on = <K extends keyof ApiObserver>(k: K): NonNullable<ApiObserver[K]> => ((e: never) => { (tracks.get(label)?.progress.observer[k] as ((e: never) => void) | undefined)?.(e) }) as NonNullable<ApiObserver[K]>
      return { onRetry: on('onRetry'), onRateLimitWait: on('onRateLimitWait'), onRequest: on('onRequest'), onFailing: on('onFailing') }
    },
    track (label) {
      const known = tracks.get(label)
      if (known !== undefined) return known.progress
      const t: Track = { label, phase: undefined, hash: undefined, done: 0, total: undefined, note: '', deliverFrom: undefined, retries: 0, waits: 0, waitSeconds: 0, failing: undefined, bar: undefined, announce: false }
      const observer: ApiObserver = {
        onRetry () { t.retries++; render(t) },
        onRateLimitWait ({ seconds }) { t.waits++; t.waitSeconds += seconds; render(t) },
        onRequest ({ codeClass }) { if (codeClass === 'success') t.failing = undefined },
        onFailing ({ answer, failingMs, budgetLeftMs }) {
          const budget = failingMs + budgetLeftMs
          const after = Math.min(options.warnAfterMs ?? 30_000, budget / 4)
          const every = Math.min(options.warnEveryMs ?? 30_000, budget / 4)
          // A smaller failing time than last seen is another call (or the same one succeeded in between).
          if (t.failing !== undefined && failingMs < t.failing.lastFailingMs) t.failing = undefined
          if (failingMs < after) return
          const at = now()
          if (t.failing !== undefined && at - t.failing.warnedAt < every) { t.failing.lastFailingMs = failingMs; return }
          t.failing = { warnedAt: at, lastFailingMs: failingMs }
          const what = /^\d{3}$/.test(answer) ? `answered ${answer}` : answer.startsWith('code ') ? `answered ${answer}` : `could not be reached (${answer})`
          say(`hashpipe: warning: ${label}: TikTok ${what} for ${humanDuration(failingMs)}; retrying, budget ${humanDuration(budgetLeftMs)} left\n`)
        }
      }
      const progress: RunProgress = {
        observer,
        phase (phase) {
          if (t.phase === phase) return
          if (multi === undefined && (t.phase === 'deliver' || t.phase === 'send')) say(line(t))
          t.phase = phase
          t.announce = phase === 'deliver' || phase === 'send'
          if (t.announce) t.deliverFrom = undefined
          if (multi === undefined && !t.announce) say(line(t))
          render(t)
        },
        hashed (p) { t.hash = p; render(t) },
        sent (done, total, note) {
          if (t.deliverFrom === undefined) t.deliverFrom = { done, at: now() }
          t.done = done
          t.total = total
          t.note = note ?? ''
          if (t.announce && multi === undefined) say(line(t))
          t.announce = false
          render(t)
        },
        end () {
          if (!tracks.delete(label)) return
          if (t.bar !== undefined && multi !== undefined && !stopped) multi.remove(t.bar)
        }
      }
      tracks.set(label, { track: t, progress })
      return progress
    },
    stop () {
      if (stopped) return
      if (timer !== undefined) clearInterval(timer)
      multi?.stop()
      stopped = true
      tracks.clear()
    }
  }
}
