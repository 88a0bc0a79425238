// `hashpipe audiences list` against the emulator: the listing pages through TikTok's list and
// names each audience's owner distribution, or none; customer-file audiences show TikTok's
// processing.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { distributeWorld, people, kAdv } from '../helpers/distribute-world.js'
import { listed, manage } from '../helpers/manage-world.js'

t.test('list: the distributed audience with its owner, one made elsewhere as unowned, every page read', async t => {
  const w = await distributeWorld(t, 'first-party')
  writeFileSync(w.input, people(0, 1200))
  t.equal((await w.distribute()).code, 0)
  const [owned] = w.audienceIds()
  const other = w.em.state.createAudience(kAdv, 'made in Ads Manager')
  // More than one page of TikTok's list (100 a page).
  for (let i = 0; i < 120; i++) w.em.state.createAudience(kAdv, `filler-${i}`)
  w.em.stats.clear()
  const out = await listed(w)
  t.equal(w.em.stats.get('GET /open_api/v1.3/dmp/custom_audience/list/'), 2, 'two pages read')
  t.equal(out.audiences.length, 122)
  t.equal(new Set(out.audiences.map(a => a.audience_id)).size, 122, 'no audience twice')
  t.match(out.audiences.find(a => a.audience_id === owned), { name: 'seg', kind: 'partner', is_valid: true, validity: 'valid', cover_num: Math.floor(1200 * 0.62), owner: { distribution: 'seg:Acme', segment: 'seg', destination: 'Acme', delivered_identifiers: 1200 } })
  t.match(out.audiences.find(a => a.audience_id === other), { name: 'made in Ads Manager', owner: null })
  t.same(out.missing, [])

  const text = await manage(['audiences', 'list', '--config', w.config])
  t.equal(text.code, 0)
  t.match(text.stdout, new RegExp(`ad account ${kAdv} \\(destination Acme\\): 122 audiences`))
  t.match(text.stdout, new RegExp(`${owned}\\s+partner\\s+744\\s+valid\\s+1,200\\s+seg:Acme\\s+seg\\n`))
  t.match(text.stdout, new RegExp(`${other}\\s+partner\\s+0\\s+valid\\s+-\\s+none\\s+made in Ads Manager\\n`))

  const bad = await manage(['audiences', 'list', '--config', w.config, '--destination', 'Nope', '--json'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /^hashpipe: HP_ERR_USAGE: --destination 'Nope' is not in the config; defined: Acme/m)
  t.match(JSON.parse(bad.stdout), { error: { code: 'HP_ERR_USAGE' } })
})

t.test('list: a customer-file audience is listed as processing while TikTok computes it', async t => {
  const w = await distributeWorld(t, 'first-party', 100, { destination: ', audience_type: customer_file', emulator: { processingMs: 600_000 } })
  writeFileSync(w.input, people(0, 1500))
  t.equal((await w.distribute()).code, 0)
  const out = await listed(w)
  t.equal(out.audiences.length, 1)
  t.match(out.audiences[0], { kind: 'customer_file', is_valid: false, validity: 'processing', owner: { distribution: 'seg:Acme', delivered_identifiers: 1500 } })
})

t.test('list: a revoked token is exit 4, naming connect', async t => {
  const w = await distributeWorld(t, 'first-party')
  for (const token of w.em.state.tokens.values()) token.revoked = true
  const r = await manage(['audiences', 'list', '--config', w.config])
  t.equal(r.code, 4)
  t.match(r.stderr, /^hashpipe: HP_ERR_API_REAUTHORIZE: /m)
})
