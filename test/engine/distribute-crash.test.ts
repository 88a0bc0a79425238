// Crash and resume, end to end (1 of 3): `hashpipe distribute` against the emulator is SIGKILLed
// at the first half of its named crashpoints (preparing, planning, creating the audience), then
// run again. Whatever the kill point, the final audience equals the segment's identifier set,
// exactly one audience exists, and the mapping requests sent in total exceed the plan's batches
// by at most the in-flight window. distribute-crash-deliver.test.ts kills at the other half,
// distribute-crash-random.test.ts at random moments and in Record Sync's delete phase.
import t from 'tap'
import { kPoints, killAtEachPoint } from '../helpers/crash-world.js'

t.test('SIGKILL before delivery starts, then a rerun: exact audience, one audience, bounded resends', async t => {
  await killAtEachPoint(t, kPoints.slice(0, 4))
})
