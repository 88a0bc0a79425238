// The emulator's audience list as TikTok pages it (page, page_size 1–100, page_info), with
// TikTok's 40002 for paging out of range; the client's listAudiences reads every page once and
// deleteListedAudience picks the endpoint by the audience's type; mapping adds are counted per
// audience, re-sends included.
import t from 'tap'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'
import { TikTokClient } from '../../adapters/tiktok/tiktok-client.js'
import { listAudiences, mapping } from '../../adapters/tiktok/audiences.js'
import { deleteListedAudience } from '../../adapters/tiktok/custom-audiences.js'

const kAdv = '7123456789012345678'
const kList = 'GET /open_api/v1.3/dmp/custom_audience/list/'

t.test('paging, validation, listing, deleting, received counts', async t => {
  const em = await startEmulator({ limits: { qps: 1000, qpm: 60000, advertiserQps: 1000 } })
  const client = new TikTokClient({ apiBaseUrl: em.apiBaseUrl, accessToken: DEFAULT_TOKEN, rateLimit: { qps: 500, qpm: 30000 }, retryBudgetMs: 1000 })
  t.teardown(async () => { await client.close(); await em.close() })
  const ids = Array.from({ length: 250 }, (_, i) => em.state.createAudience(kAdv, `a${i}`))
  const get = async (query: Record<string, string>): Promise<{ code: number, data: { list?: Array<{ audience_id: string }>, page_info?: Record<string, number> } }> => {
    const url = new URL(`${em.apiBaseUrl}/dmp/custom_audience/list/`)
    for (const [k, v] of Object.entries({ advertiser_id: kAdv, ...query })) url.searchParams.set(k, v)
    return await (await fetch(url, { headers: { 'access-token': DEFAULT_TOKEN } })).json() as never
  }
  const third = await get({ page: '3', page_size: '100' })
  t.equal(third.code, 0)
  t.equal(third.data.list?.length, 50)
  t.same(third.data.page_info, { page: 3, page_size: 100, total_number: 250, total_page: 3 })
  t.equal((await get({})).data.list?.length, 10, 'TikTok\'s default page_size is 10')
  for (const bad of [{ page_size: '101' }, { page_size: '0' }, { page: '0' }, { page: 'x' }]) {
    t.equal((await get(bad)).code, 40002, `${JSON.stringify(bad)} refused`)
  }

  em.stats.clear()
  const all = await listAudiences(client, kAdv)
  t.equal(em.stats.get(kList), 3, 'three pages of 100')
  t.same(all.map(a => a.audienceId).sort(), [...ids].sort())
  t.match(all[0], { name: 'a0', audienceType: 'Partner', isValid: true, coverNum: 0, isExpiring: false, createTime: /^\d+$/ })

  await deleteListedAudience(client, kAdv, all[0]!)
  t.equal(em.stats.get('POST /open_api/v1.3/segment/audience/'), 1, 'a partner audience is deleted where it was made')
  t.notOk(em.state.audiences.has(all[0]!.audienceId))

  const digest = 'a'.repeat(64)
  await mapping(client, kAdv, ids[1]!, 'add', 'EMAIL_SHA256', [digest])
  await mapping(client, kAdv, ids[1]!, 'add', 'EMAIL_SHA256', [digest])
  t.equal(em.state.received.get(ids[1]!), 2, 'both adds received, one member')
  t.equal(em.state.audiences.get(ids[1]!)?.members.get('EMAIL_SHA256')?.size, 1)
})
