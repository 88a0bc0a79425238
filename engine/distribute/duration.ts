// Durations on the command line: 0, 90s, 30m, 2h, 1d (a bare number is seconds).
import { UsageError } from '../../pipeline/errors.js'
const kUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, '': 1000 }

/** Milliseconds, or undefined for anything that is not a duration. */
export function parseDuration (text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|)\s*$/.exec(text)
  if (m === null) return undefined
  return Math.round(Number(m[1]) * kUnits[m[2]!]!)
}

/** `--retry-budget D`: a duration of at least 1 s, overriding tiktok.retry_budget. */
export function parseRetryBudget (text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const ms = parseDuration(text)
  if (ms === undefined || ms < 1000 || ms > 86_400_000) throw new UsageError(`--retry-budget must be a duration such as 90s, 10m or 1h (at least 1s, at most 24h), not '${text}'`)
  return ms
}
