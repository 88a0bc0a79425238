// Which months a usage report may cover. TikTok reports in the ad account's time zone, adjusts a
// day's spend the next day and runs its data fix at 12:00 UTC, so a month is reportable from
// the first 12:00 UTC at least a full day after the month ended in the advertiser's zone.
import { UsageError } from '../../pipeline/errors.js'

export interface Month { year: number, month: number, text: string, first: string, last: string, days: number }

export function parseMonth (text: string): Month {
  const m = /^(\d{4})-(\d{2})$/.exec(text)
  const year = Number(m?.[1])
  const month = Number(m?.[2])
  if (m === null || month < 1 || month > 12 || year < 2000) throw new UsageError(`--month must be a month YYYY-MM such as 2026-10, not '${text}'`)
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate()
  return { year, month, text, first: `${text}-01`, last: `${text}-${String(days).padStart(2, '0')}`, days }
}

/** The month after `m`, as YYYY-MM. */
function next (m: Month): Month {
  return parseMonth(m.month === 12 ? `${m.year + 1}-01` : `${m.year}-${String(m.month + 1).padStart(2, '0')}`)
}

export function previousMonth (m: Month): Month {
  return parseMonth(m.month === 1 ? `${m.year - 1}-12` : `${m.year}-${String(m.month - 1).padStart(2, '0')}`)
}

/** The calendar month containing `at` (UTC). */
export function monthOf (at: Date): Month {
  return parseMonth(at.toISOString().slice(0, 7))
}

/** Offset of `zone` from UTC at instant `t`, in ms (positive east of Greenwich). */
function zoneOffset (t: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(t))
  const get = (type: string): number => Number(parts.find(p => p.type === type)?.value)
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(t / 1000) * 1000
}

/** The instant local midnight starts `date` (YYYY-MM-DD) in `zone`. */
export function zonedMidnight (date: string, zone: string): number {
  const naive = Date.parse(`${date}T00:00:00Z`)
  let t = naive - zoneOffset(naive, zone)
  t = naive - zoneOffset(t, zone)
  return t
}

export function knownZone (zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone }).format(0)
    return true
  } catch {
    return false
  }
}

/** When `m` becomes reportable for an account in `zone`. */
export function reportableFrom (m: Month, zone: string): Date {
  const ended = zonedMidnight(next(m).first, zone)
  const dayLater = ended + 86_400_000
  const noon = new Date(dayLater)
  noon.setUTCHours(12, 0, 0, 0)
  return new Date(noon.getTime() >= dayLater ? noon.getTime() : noon.getTime() + 86_400_000)
}

/** Refuses a month not yet reportable, saying why and when it will be. */
export function assertReportable (m: Month, zone: string, now: Date, advertiser: string): void {
  const from = reportableFrom(m, zone)
  if (now.getTime() >= from.getTime()) return
  const ended = zonedMidnight(next(m).first, zone)
  const why = now.getTime() < ended
    ? `${m.text} has not ended yet in advertiser ${advertiser}'s time zone (${zone})`
    : now.getTime() < ended + 86_400_000
      ? `${m.text} ended less than a day ago in advertiser ${advertiser}'s time zone (${zone}); TikTok adjusts a day's spend the next day and fixes its data at 12:00 UTC`
      : `${m.text}'s last day in advertiser ${advertiser}'s time zone (${zone}) has had its next-day adjustment, but TikTok's daily data fix (12:00 UTC) has not run since`
  throw new UsageError(`${why}; the report for ${m.text} can be made from ${from.toISOString()} — run it again then`)
}

/** The newest month reportable by `now` for an account on UTC (status and doctor have no time zone). */
export function lastReportableMonth (now: Date): Month {
  const m = previousMonth(monthOf(now))
  return now.getTime() >= reportableFrom(m, 'Etc/GMT').getTime() ? m : previousMonth(m)
}

/** The instant `m` ended in UTC. */
export function monthEnd (m: Month): number {
  return zonedMidnight(next(m).first, 'Etc/GMT')
}

/** Refuses, before any TikTok call, a month that has not ended in any time zone (UTC+14 ends first). */
export function assertEndedAnywhere (m: Month, now: Date): void {
  const ended = zonedMidnight(next(m).first, 'Etc/GMT-14')
  if (now.getTime() < ended) throw new UsageError(`${m.text} has not ended yet in any time zone (the first, UTC+14, ends it at ${new Date(ended).toISOString()}); a usage report covers a past month`)
}
