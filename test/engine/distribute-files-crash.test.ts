// Crash safety of customer-file delivery: SIGKILL at each named step of the file path (files
// written, before an upload, after an upload answered but before it was recorded, before and
// after the create, between updates, after an update, before commit), each rerun continuing the
// same run; then exactly one audience holding the latest snapshot, and no file uploaded again
// beyond those in flight at a kill. Also an expired file_path after a crash: uploaded again.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { cliPath } from '../helpers/cli.js'
import { DEFAULT_APP } from '../../adapters/emulator/emulator-state.js'
import { distributeWorld, people, expectedMembers } from '../helpers/distribute-world.js'

const kUpload = 'POST /open_api/v1.3/dmp/custom_audience/file/upload/'
const kCreate = 'POST /open_api/v1.3/dmp/custom_audience/create/'
const kFiles = { destination: ', audience_type: customer_file', tiktok: '\n  file_max_bytes: 10000' }
/** Uploads run this many at a time: what a kill mid-upload may leave in flight. */
const kInFlight = 3

t.test('kills along the file path, then reruns', async t => {
  const w = await distributeWorld(t, 'first-party-record-sync', 100, kFiles)
  const uploads = (): number => w.em.stats.get(kUpload) ?? 0
  const kill = async (point: string, extra: string[] = []): Promise<void> => {
    const r = await w.distribute(extra, { HASHPIPE_CRASHPOINT: point })
    t.equal(r.signal, 'SIGKILL', `killed at ${point}`)
  }

  // First load: 1,200 identifiers in 8 files.
  writeFileSync(w.input, people(0, 1200))
  await kill('after-files-written')
  t.equal(uploads(), 0, 'nothing uploaded before the files were recorded')
  await kill('before-file-upload:2')
  await kill('after-file-upload:3')
  await kill('after-create-audience')
  t.equal(w.em.stats.get(kCreate), 1, 'created once')
  let r = await w.distribute()
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.equal(w.em.stats.get(kCreate), 1, 'the create whose answer was lost is recovered by name, not repeated')
  t.equal(w.audienceIds().length, 1, 'one audience')
  t.same(w.members(), expectedMembers(0, 1200), 'members equal the snapshot')
  t.ok(uploads() >= 8 && uploads() <= 8 + 2 * kInFlight, `8 files, re-uploaded only when in flight at a kill (${uploads()} uploads)`)

  // A delta: one APPEND file and one REMOVE file, two updates.
  const before = uploads()
  writeFileSync(w.input, people(100, 1300))
  await kill('between-updates:1')
  await kill('after-update:1')
  await kill('before-commit')
  r = await w.distribute()
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.same(w.members(), expectedMembers(100, 1300), 'members equal the new snapshot')
  t.equal(uploads() - before, 2, 'the delta files uploaded once')
  t.equal(w.audienceIds().length, 1)
})

t.test('a file_path that expired while the run was down is uploaded again', async t => {
  const w = await distributeWorld(t, 'first-party', 100, kFiles)
  writeFileSync(w.input, people(0, 1200))
  t.equal((await w.distribute([], { HASHPIPE_CRASHPOINT: 'before-create-audience' })).signal, 'SIGKILL')
  const uploaded = w.em.stats.get(kUpload) ?? 0
  t.equal(uploaded, 8)
  w.em.faults.fileTtlMs = 3000
  await new Promise(resolve => setTimeout(resolve, 3100))
  const r = await w.distribute()
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.equal(w.em.stats.get('40910'), 1, 'the create met expired paths once')
  t.equal((w.em.stats.get(kUpload) ?? 0) - uploaded, 8, 'each file uploaded again, once')
  t.same(w.members(), expectedMembers(0, 1200))
})

t.test('kills at random moments of a first load with slow uploads, then a rerun', async t => {
  const w = await distributeWorld(t, 'first-party', 100, kFiles)
  w.em.faults.uploadSlowMs = 150
  writeFileSync(w.input, people(0, 1200))
  let seed = 11
  for (let i = 0; i < 3; i++) {
    seed = (seed * 48271) % 2147483647
    const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cliPath, 'distribute', '--config', w.config, '--threads', '1'], { env: { ...process.env, TIKTOK_APP_SECRET: DEFAULT_APP.secret }, stdio: 'ignore' })
    const exited = once(child, 'exit')
    await new Promise(resolve => setTimeout(resolve, 400 + (seed % 1500)))
    child.kill('SIGKILL')
    await exited
  }
  const r = await w.distribute()
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.equal(w.audienceIds().length, 1, 'one audience')
  t.same(w.members(), expectedMembers(0, 1200), 'members equal the snapshot')
  t.ok((w.em.stats.get(kUpload) ?? 0) <= 8 + 3 * kInFlight, 'uploads repeated only when in flight at a kill')
})
