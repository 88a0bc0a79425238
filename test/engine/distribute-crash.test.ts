// Crash and resume, end to end: `hashpipe distribute` against the emulator is SIGKILLed at every
// named crashpoint and at random moments, then run again. Whatever the kill point, the final
// audience equals the segment's identifier set, exactly one audience exists, and the mapping
// requests sent in total exceed the plan's batches by at most the in-flight window.
// The kills are spread over five files so each stays short on a busy machine:
//   distribute-crash.test.ts              preparing, planning, creating the audience
//   distribute-crash-deliver.test.ts      a batch recorded, sent, acknowledged
//   distribute-crash-commit.test.ts       before, inside and after the commit
//   distribute-crash-random.test.ts       random moments
//   distribute-crash-record-sync.test.ts  Record Sync's delete phase over changing inputs
import t from 'tap'
import { kPoints, killAtEachPoint } from '../helpers/crash-world.js'

t.test('SIGKILL before delivery starts, then a rerun: exact audience, one audience, bounded resends', async t => {
  await killAtEachPoint(t, kPoints.slice(0, 4))
})
