// The emulator's /adgroup/get/ and /report/integrated/get/ keep TikTok's parameter rules.
import t from 'tap'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'
import { monthDates, seededDays, type EmulatorAdGroup } from '../../adapters/emulator/emulator-reporting.js'

const kAdv = '7123456789012345678'

t.test('report and ad group rules', async t => {
  const em = await startEmulator({ limits: { qps: 1000, qpm: 60000, advertiserQps: 1000 } })
  t.teardown(async () => { await em.close() })
  const group = (id: string, deleted: boolean): EmulatorAdGroup => ({
    advertiserId: kAdv,
    campaignId: '1700000000000000001',
    campaignName: 'C',
    adgroupId: id,
    name: `G${id.slice(-1)}`,
    audienceIds: ['1800000000000000000'],
    excludedAudienceIds: [],
    deleted,
    days: seededDays(Number(id.slice(-1)), monthDates('2026-10'))
  })
  em.state.adGroups.set('1710000000000000001', group('1710000000000000001', false))
  em.state.adGroups.set('1710000000000000002', group('1710000000000000002', true))
  const get = async (path: string, params: Record<string, string>): Promise<{ code: number, message: string, data: Record<string, unknown> }> => {
    const res = await fetch(`${em.apiBaseUrl}${path}?${new URLSearchParams({ advertiser_id: kAdv, ...params }).toString()}`, { headers: { 'access-token': DEFAULT_TOKEN } })
    return await res.json() as { code: number, message: string, data: Record<string, unknown> }
  }
  const report = { report_type: 'BASIC', data_level: 'AUCTION_ADGROUP', dimensions: '["adgroup_id","stat_time_day"]', metrics: '["spend","impressions"]', start_date: '2026-10-01', end_date: '2026-10-30', page_size: '1000' }

  const live = await get('/adgroup/get/', { page_size: '1000' })
  t.same((live.data['list'] as Array<{ adgroup_id: string }>).map(g => g.adgroup_id), ['1710000000000000001'], 'deleted ad groups left out by default')
  const all = await get('/adgroup/get/', { page_size: '1000', filtering: '{"primary_status":"STATUS_ALL"}' })
  t.equal((all.data['list'] as unknown[]).length, 2, 'STATUS_ALL includes them')
  t.equal((await get('/adgroup/get/', { page_size: '1001' })).code, 40002, 'page_size above 1000 refused')

  const r = await get('/report/integrated/get/', report)
  t.equal(r.code, 0, r.message)
  const rows = r.data['list'] as Array<{ dimensions: Record<string, string>, metrics: Record<string, unknown> }>
  t.equal(rows.length, 30, 'one row per day of the live ad group only')
  t.equal(typeof rows[0]!.metrics['spend'], 'string', 'metric values are strings')
  t.match(rows[0]!.metrics['spend'], /^\d+\.\d\d$/)
  t.equal(rows[0]!.dimensions['stat_time_day'], '2026-10-01 00:00:00')
  const withDeleted = await get('/report/integrated/get/', { ...report, filtering: JSON.stringify([{ field_name: 'adgroup_status', filter_type: 'IN', filter_value: '["STATUS_ALL"]' }]) })
  t.equal((withDeleted.data['list'] as unknown[]).length, 60, 'the status filter keeps deleted ad groups')
  t.equal((await get('/report/integrated/get/', { ...report, end_date: '2026-10-31' })).code, 40002, '31 days with stat_time_day refused')
  t.equal((await get('/report/integrated/get/', { ...report, dimensions: '["adgroup_id"]', end_date: '2026-10-31' })).code, 0, '31 days without stat_time_day allowed')
  t.equal((await get('/report/integrated/get/', { ...report, dimensions: 'adgroup_id' })).code, 40002, 'array parameters must be JSON-encoded')
  t.equal((await get('/report/integrated/get/', { ...report, advertiser_id: '7123456789012345670' })).code, 40001, 'an advertiser the token does not reach')
})
