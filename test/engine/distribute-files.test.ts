// Customer-file delivery end to end against the emulator: a first load as split upload files
// (one create), later runs as APPEND/REMOVE files, --replace once a day, the refusals before any
// call, TikTok's processing window (exit 5, then the rerun continues from the recorded files),
// and the audience type fixed once the audience exists.
import t from 'tap'
import { writeFileSync, readFileSync } from 'node:fs'
import { distributeWorld, people, expectedMembers } from '../helpers/distribute-world.js'

const kUpload = 'POST /open_api/v1.3/dmp/custom_audience/file/upload/'
const kCreate = 'POST /open_api/v1.3/dmp/custom_audience/create/'
const kUpdate = 'POST /open_api/v1.3/dmp/custom_audience/update/'
// 10,000-byte files hold 153 digest lines: 1,200 identifiers make 8 files.
const kFiles = { destination: ', audience_type: customer_file', tiktok: '\n  file_max_bytes: 10000' }

t.test('first load, APPEND/REMOVE deltas, --replace once a day, refusals', async t => {
  const w = await distributeWorld(t, 'first-party-record-sync', 100, kFiles)
  const calls = (k: string): number => w.em.stats.get(k) ?? 0

  writeFileSync(w.input, people(0, 900))
  let r = await w.distribute()
  t.equal(r.code, 1, 'under 1,000 identifiers refused')
  t.match(r.stdout, /holds 900 identifiers; TikTok refuses customer-file audiences/)
  t.equal(calls(kUpload) + calls(kCreate), 0, 'before any upload or create')

  writeFileSync(w.input, people(0, 1200))
  r = await w.distribute()
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.equal(calls(kUpload), 8, '1,200 identifiers in 8 files of at most 10,000 bytes')
  t.equal(calls(kCreate), 1, 'one create carries them all (≤ 50 paths)')
  t.equal(w.mappings(), 0, 'no /segment/mapping/ call')
  t.same(w.audienceIds().length, 1)
  t.same(w.members(), expectedMembers(0, 1200), 'the audience holds the snapshot')

  writeFileSync(w.input, people(100, 1300))
  r = await w.distribute()
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.equal(calls(kUpload), 10, 'one APPEND file and one REMOVE file')
  t.equal(calls(kUpdate), 2)
  t.same(w.members(), expectedMembers(100, 1300), 'adds appended, removes removed')
  t.match(r.stdout, /100 added, 100 deleted/)

  writeFileSync(w.input, people(0, 1100))
  r = await w.distribute(['--replace'])
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.same(w.members(), expectedMembers(0, 1100), 'REPLACE swaps in the whole snapshot')
  r = await w.distribute(['--replace'])
  t.equal(r.code, 2, 'a second --replace within 24 h refused')
  t.match(r.stdout, /allows about one REPLACE a day/)
  t.equal(w.audienceIds().length, 1, 'one audience throughout')

  const status = await w.run(['status', '--config', w.config])
  t.match(status.stdout, /audience:\s+\d+/)

  // The audience is customer_file now: the type can't change.
  writeFileSync(w.config, readFileSync(w.config, 'utf8').replace(', audience_type: customer_file', ''))
  r = await w.distribute()
  t.equal(r.code, 78, 'changing audience_type refused')
  t.match(r.stdout, /already has a customer_file audience/)
  const v = await w.run(['validate', '--config', w.config])
  t.equal(v.code, 78, 'validate refuses it too')
  t.match(v.stderr, /destinations\[0\]\.audience_type/)
})

t.test('processing: exit 5 and when to rerun; the rerun continues from the recorded files', async t => {
  const w = await distributeWorld(t, 'first-party', 100, { ...kFiles, emulator: { processingMs: 3_600_000 } })
  const calls = (k: string): number => w.em.stats.get(k) ?? 0
  writeFileSync(w.input, people(0, 1200))
  t.equal((await w.distribute()).code, 0, 'a first load needs no valid audience')
  const status = await w.run(['status', '--config', w.config])
  t.match(status.stdout, /processing since/)
  writeFileSync(w.input, people(0, 1300))
  let r = await w.distribute()
  t.equal(r.code, 5, 'still processing: resumable')
  t.match(r.stdout, /still processing audience \d+ .*run again/)
  const uploads = calls(kUpload)
  for (const a of w.em.state.files.audiences.values()) a.processingUntil = 0
  r = await w.distribute(['--wait-processing', '5s'])
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.equal(calls(kUpload), uploads, 'no file uploaded again')
  t.same(w.members(), expectedMembers(0, 1300))
})

t.test('more than 50 files: the create takes 50 paths, APPEND updates the rest', async t => {
  const w = await distributeWorld(t, 'first-party', 100, kFiles)
  writeFileSync(w.input, people(0, 8000))
  const filler = Array.from({ length: 400 }, (_, i) => w.em.state.createAudience('7123456789012345678', `other-${i}`))
  let r = await w.distribute()
  t.equal(r.code, 1, 'the advertiser holds 400 audiences')
  t.match(r.stdout, /TikTok's limit of 400 audiences per advertiser; delete audiences/)
  for (const id of filler) w.em.state.audiences.delete(id)
  r = await w.distribute()
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.equal(w.em.stats.get(kUpload), 53, '8,000 identifiers in 53 files, uploaded once across both runs')
  t.equal(w.em.stats.get(kCreate), 2, 'the refused create and the one that made the audience')
  t.equal(w.em.stats.get(kUpdate), 1, 'the 3 files past 50 in one APPEND')
  t.equal(w.audienceIds().length, 1)
  t.equal(w.members().size, 8000)
})
