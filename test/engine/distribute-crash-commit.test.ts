// Crash and resume (see distribute-crash.test.ts): SIGKILL before the commit, between the
// snapshot's rename and the database commit, and after it, then a rerun: exact audience, one
// audience, bounded resends.
import t from 'tap'
import { kPoints, killAtEachPoint } from '../helpers/crash-world.js'

t.test('SIGKILL around the commit, then a rerun: exact audience, one audience, bounded resends', async t => {
  await killAtEachPoint(t, kPoints.slice(kPoints.indexOf('before-commit')))
})
