// Progress for long runs on stderr: a bar on a TTY (bytes done/total, identifiers/s, ETA), a plain
// line every `intervalMs` otherwise (logs, CI). Only counts and sizes: never an identifier.
import cliProgress from 'cli-progress'
import type { Writable } from 'node:stream'
import type { ProgressSnapshot } from './hash-job.js'
import { formatCount } from '../pipeline/format-count.js'

export interface ProgressReporter {
  update: (p: ProgressSnapshot) => void
  stop: () => void
}

function mib (bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`
}

function rate (p: ProgressSnapshot): string {
  const r = p.seconds > 0 ? p.identifiers / p.seconds : 0
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : `${Math.round(r / 1000)} k/s`
}

function eta (p: ProgressSnapshot): string {
  if (p.bytesTotal === undefined || p.bytesDone === 0) return '?'
  const s = p.seconds * (p.bytesTotal - p.bytesDone) / p.bytesDone
  return s < 60 ? `${Math.ceil(s)}s` : `${Math.floor(s / 60)}m${Math.ceil(s % 60)}s`
}

export function createProgress (stream: Writable & { isTTY?: boolean }, intervalMs = 10_000): ProgressReporter {
  if (stream.isTTY === true) {
    const bar = new cliProgress.SingleBar({
      stream,
      format: 'hashpipe {bar} {percentage}% | {done}/{total} | {ids} ids | {rate} | ETA {etaText}',
      hideCursor: true,
      clearOnComplete: true
    }, cliProgress.Presets.shades_classic)
    let started = false
    return {
      update (p) {
        const total = p.bytesTotal ?? Math.max(p.bytesDone, 1)
        const payload = { done: mib(p.bytesDone), total: p.bytesTotal === undefined ? '?' : mib(total), ids: formatCount(p.identifiers), rate: rate(p), etaText: eta(p) }
        if (!started) { bar.start(total, p.bytesDone, payload); started = true } else { bar.setTotal(total); bar.update(p.bytesDone, payload) }
      },
      stop () { if (started) bar.stop() }
    }
  }
  let last = 0
  return {
    update (p) {
      if (p.seconds * 1000 - last < intervalMs) return
      last = p.seconds * 1000
      const pct = p.bytesTotal === undefined ? '' : `${Math.floor(100 * p.bytesDone / Math.max(1, p.bytesTotal))}% `
      stream.write(`hashpipe: ${pct}${mib(p.bytesDone)}${p.bytesTotal === undefined ? '' : `/${mib(p.bytesTotal)}`}, ${formatCount(p.identifiers)} identifiers, ${rate(p)}, ETA ${eta(p)}\n`)
    },
    stop () {}
  }
}
