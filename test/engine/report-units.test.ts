// The usage report's exact money, its month rules across time zones, and the data_cost_percent
// config key.
import t from 'tap'
import { formatAmount, parseAmount, parsePercent, percentOf } from '../../engine/report/money.js'
import { assertReportable, lastReportableMonth, parseMonth, reportableFrom, zonedMidnight } from '../../engine/report/month.js'
import { splitDates } from '../../adapters/tiktok/reporting.js'
import { checkConfig } from '../../engine/config.js'

t.test('money is exact', async t => {
  // 0.1 + 0.2 in floats is 0.30000000000000004; here it is 0.30.
  t.equal(formatAmount(parseAmount('0.1', 'x') + parseAmount('0.2', 'x'), 'USD'), '0.30')
  t.equal(formatAmount(parseAmount('1200', 'x'), 'JPY'), '1200')
  t.equal(formatAmount(parseAmount('1.234', 'x'), 'KWD'), '1.234')
  t.equal(formatAmount(parseAmount('0.005', 'x'), 'USD'), '0.005', 'more digits than the currency has are kept, not rounded away')
  t.throws(() => parseAmount('1e3', 'spend of ad group 1'), /spend of ad group 1: '1e3' is not a decimal amount/)
  t.equal(formatAmount(percentOf(parseAmount('10.05', 'x'), parsePercent('15')!, 'USD'), 'USD'), '1.51', '1.5075 rounds half up to 1.51')
  t.equal(formatAmount(percentOf(parseAmount('0.10', 'x'), parsePercent('12.5')!, 'USD'), 'USD'), '0.01', '0.0125 → 0.01')
  t.equal(formatAmount(percentOf(parseAmount('333', 'x'), parsePercent('15')!, 'JPY'), 'JPY'), '50', '49.95 yen → 50')
  t.equal(parsePercent('0'), undefined)
  t.equal(parsePercent('100.5'), undefined)
})

t.test('months, time zones and date ranges', async t => {
  const oct = parseMonth('2026-10')
  t.same([oct.first, oct.last, oct.days], ['2026-10-01', '2026-10-31', 31])
  t.equal(parseMonth('2028-02').days, 29)
  t.throws(() => parseMonth('2026-1'), /--month must be a month YYYY-MM/)
  t.equal(new Date(zonedMidnight('2026-11-01', 'America/Los_Angeles')).toISOString(), '2026-11-01T07:00:00.000Z', 'PDT is UTC-7 on 1 November 2026')
  t.equal(new Date(zonedMidnight('2026-11-02', 'America/Los_Angeles')).toISOString(), '2026-11-02T08:00:00.000Z', 'and PST UTC-8 after the change')
  t.equal(reportableFrom(oct, 'Etc/GMT').toISOString(), '2026-11-02T12:00:00.000Z')
  t.equal(reportableFrom(oct, 'Pacific/Kiritimati').toISOString(), '2026-11-01T12:00:00.000Z', 'UTC+14 ends its month half a day before UTC')
  t.equal(reportableFrom(oct, 'Pacific/Pago_Pago').toISOString(), '2026-11-02T12:00:00.000Z', 'UTC-11: a day after the month ended is 11:00 UTC on the 2nd, before that day\'s data fix')
  t.throws(() => assertReportable(oct, 'Pacific/Pago_Pago', new Date('2026-11-02T10:30:00Z'), '7123456789012345678'), /ended less than a day ago in advertiser 7123456789012345678's time zone \(Pacific\/Pago_Pago\)/)
  t.throws(() => assertReportable(oct, 'Pacific/Pago_Pago', new Date('2026-11-02T11:30:00Z'), '7123456789012345678'), /data fix \(12:00 UTC\) has not run since.*from 2026-11-02T12:00:00\.000Z/)
  t.doesNotThrow(() => assertReportable(oct, 'Etc/GMT', new Date('2026-11-02T13:00:00Z'), '7123456789012345678'))
  t.equal(lastReportableMonth(new Date('2026-11-02T11:59:00Z')).text, '2026-09')
  t.equal(lastReportableMonth(new Date('2026-11-02T12:00:00Z')).text, '2026-10')
  t.same(splitDates('2026-10-01', '2026-10-31', 30), [['2026-10-01', '2026-10-30'], ['2026-10-31', '2026-10-31']], 'a 31-day month in two ranges')
  t.same(splitDates('2026-02-01', '2026-02-28', 30), [['2026-02-01', '2026-02-28']])
})

t.test('data_cost_percent', async t => {
  const config = (dest: string): ReturnType<typeof checkConfig> => checkConfig(`tiktok: { app_id: "1", secret: s }
destinations:
  - { name: D, advertiser_id: "7123456789012345678", connection: c, ${dest} }
`)
  const marketplace = 'integration: data-marketplace-3pd, data_usage_reporting_requirement: true, payment_model: true, payment_requirement: true, reporting_contact_email: a@example.com'
  t.equal(config(`${marketplace}, data_cost_percent: 15`).config?.destinations[0]?.marketplace?.dataCostPercent, '15')
  t.equal(config(`${marketplace}, data_cost_percent: "12.5%"`).config?.destinations[0]?.marketplace?.dataCostPercent, '12.5')
  t.equal(config(marketplace).config?.destinations[0]?.marketplace?.dataCostPercent, undefined, 'optional')
  t.match(config(`${marketplace}, data_cost_percent: 150`).problems, [{ path: 'destinations[0].data_cost_percent', message: /above 0 and at most 100/ }])
  t.match(config('integration: first-party, data_cost_percent: 10').problems, [{ path: 'destinations[0].data_cost_percent', message: /applies only to integration data-marketplace-3pd/ }])
})
