// Crash and resume (see distribute-crash.test.ts): SIGKILL while batches are recorded, sent and
// acknowledged, then a rerun: exact audience, one audience, bounded resends.
import t from 'tap'
import { kPoints, killAtEachPoint } from '../helpers/crash-world.js'

t.test('SIGKILL during delivery, then a rerun: exact audience, one audience, bounded resends', async t => {
  await killAtEachPoint(t, kPoints.filter(p => p.startsWith('after-batch-')))
})
