// An audience is created only after TikTok is asked for one of that distribution's name (every
// page of /dmp/custom_audience/list/), so a lost state.db never leads to a second audience; two
// of that name are refused rather than guessed between.
import t from 'tap'
import { rmSync } from 'node:fs'
import { kAdv, kCreate, members, run, stateWorld } from '../helpers/state-world.js'

const kList = 'GET /open_api/v1.3/dmp/custom_audience/list/'

t.test('state.db deleted after a delivery: the next run finds the audience by name (paged list), exactly one audience', async t => {
  const w = await stateWorld(t, 'hp-lookup-')
  t.equal((await run(['distribute', '--config', w.config, '--threads', '1'])).code, 0)
  const id = w.em.state.snapshot()[0]!.audienceId
  // More audiences than one list page holds (100), so finding it takes the second page.
  for (let i = 0; i < 150; i++) w.em.state.createAudience(kAdv, `other-${i}`)
  rmSync(w.db)
  await w.connect()
  w.em.stats.clear()
  const r = await run(['distribute', '--config', w.config, '--threads', '1', '--json'])
  t.equal(r.code, 0, r.stderr)
  t.equal(JSON.parse(r.stdout).distributions[0].result.audience_id, id)
  t.equal(w.em.stats.get(kCreate) ?? 0, 0, 'no create request')
  t.equal(w.em.stats.get(kList), 2, 'two list pages read')
  t.equal(w.em.state.snapshot().filter(a => a.name === 'loyal').length, 1, 'exactly one audience of that name')
})

t.test('a same-named audience twice on TikTok: refused, nothing sent to either', async t => {
  const w = await stateWorld(t, 'hp-lookup-')
  w.em.state.createAudience(kAdv, 'loyal')
  w.em.state.createAudience(kAdv, 'loyal')
  const r = await run(['distribute', '--config', w.config, '--threads', '1', '--json'])
  t.equal(r.code, 1)
  t.match(JSON.parse(r.stdout).distributions[0].error, { code: 'HP_ERR_REFUSED', message: /holds 2 audiences named 'loyal'/ })
  t.equal(members(w.em), 0)
})
