// Crash and resume, end to end (2 of 3): SIGKILL at the named crashpoints of delivery and commit
// (a batch recorded, sent, acknowledged; before commit, between the snapshot rename and the
// database commit, after commit), then a rerun: exact audience, one audience, bounded resends.
import t from 'tap'
import { kPoints, killAtEachPoint } from '../helpers/crash-world.js'

t.test('SIGKILL during delivery and commit, then a rerun: exact audience, one audience, bounded resends', async t => {
  await killAtEachPoint(t, kPoints.slice(4))
})
