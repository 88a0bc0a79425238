// OrderedWindow: results applied in submission order, as soon as they are ready; never more than
// `limit` jobs (or `maxWeight` of them) outstanding; the first failure, wherever it happens,
// fails the next call instead of hanging it, and nothing after it is applied or left unhandled.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { OrderedWindow } from '../../pipeline/ordered-window.js'

interface Deferred<T> { promise: Promise<T>, resolve: (v: T) => void, reject: (e: unknown) => void }
function deferred<T> (): Deferred<T> {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
  return { promise, resolve, reject }
}

let seed = 7
const rnd = (): number => { seed = (seed * 48271) % 2147483647; return seed / 2147483647 }

// A rejection nobody handles would fail the file; record them too, to assert there were none.
const unhandled: unknown[] = []
process.on('unhandledRejection', error => { unhandled.push(error) })

/** Within `ms`, or the promise named `what` hung. */
async function within<T> (p: Promise<T>, what: string, ms = 2000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} hung`)), ms) })
  try { return await Promise.race([p, hang]) } finally { clearTimeout(timer) }
}

t.test('results are applied in submission order, jobs finishing in any order', async t => {
  const applied: number[] = []
  const window = new OrderedWindow<number>({ limit: 4, apply: n => { applied.push(n) } })
  for (let i = 0; i < 200; i++) {
    const delay = Math.floor(rnd() * 4)
    await window.submit(async () => { await sleep(delay); return i })
  }
  await window.drain()
  await window.close()
  t.same(applied, Array.from({ length: 200 }, (_, i) => i))
  t.equal(window.size, 0)
})

t.test('a finished job is applied at once, while the producer waits for something else', async t => {
  const applied: number[] = []
  const window = new OrderedWindow<number>({ limit: 8, apply: n => { applied.push(n) } })
  const jobs = [deferred<number>(), deferred<number>(), deferred<number>()]
  for (const d of jobs) await window.submit(() => d.promise)
  jobs[1]!.resolve(1)
  await sleep(5)
  t.same(applied, [], 'not before the earlier job')
  jobs[0]!.resolve(0)
  await sleep(5)
  t.same(applied, [0, 1], 'no submit or drain was waiting, yet both were applied')
  jobs[2]!.resolve(2)
  await window.drain()
  t.same(applied, [0, 1, 2])
})

t.test('apply calls never overlap, and a job counts until its result is applied', async t => {
  let running = 0
  let overlap = false
  const applied: number[] = []
  const window = new OrderedWindow<number>({
    limit: 3,
    apply: async n => {
      overlap ||= running > 0
      running++
      await sleep(Math.floor(rnd() * 3))
      running--
      applied.push(n)
    }
  })
  let maxSize = 0
  for (let i = 0; i < 60; i++) {
    await window.submit(() => i)
    maxSize = Math.max(maxSize, window.size)
    t.ok(window.size < 3, 'room for another when submit returns')
  }
  await window.drain()
  t.notOk(overlap)
  t.ok(maxSize <= 2)
  t.same(applied, Array.from({ length: 60 }, (_, i) => i))
})

t.test('the count bound is never exceeded', async t => {
  for (const limit of [1, 2, 5]) {
    let outstanding = 0
    let peak = 0
    const window = new OrderedWindow<number>({ limit, apply: () => { outstanding-- } })
    for (let i = 0; i < 100; i++) {
      const delay = Math.floor(rnd() * 3)
      await window.submit(async () => {
        outstanding++
        peak = Math.max(peak, outstanding)
        await sleep(delay)
        return i
      })
    }
    await window.drain()
    t.equal(outstanding, 0)
    t.ok(peak <= limit, `limit ${limit}: peak ${peak}`)
    t.equal(peak, limit, `limit ${limit}: the window fills`)
  }
})

t.test('the weight bound is never exceeded, but one heavy job alone may enter', async t => {
  let weight = 0
  let peakWeight = 0
  let peakCount = 0
  let count = 0
  const weights: number[] = []
  for (let i = 0; i < 150; i++) weights.push(i % 37 === 0 ? 250 : 1 + Math.floor(rnd() * 40))
  const window = new OrderedWindow<number>({ limit: 6, maxWeight: 100, apply: i => { weight -= weights[i]!; count-- } })
  for (let i = 0; i < weights.length; i++) {
    const delay = Math.floor(rnd() * 3)
    await window.submit(async () => {
      weight += weights[i]!
      count++
      if (weights[i]! <= 100) peakWeight = Math.max(peakWeight, weight)
      else t.equal(count, 1, `heavy job ${i} entered alone`)
      peakCount = Math.max(peakCount, count)
      await sleep(delay)
      return i
    }, weights[i])
    t.ok(window.weight <= 100 || window.size === 1)
  }
  await window.drain()
  t.ok(peakWeight <= 100, `peak weight ${peakWeight}`)
  t.ok(peakCount <= 6, `peak count ${peakCount}`)
  t.equal(window.weight, 0)
})

// The producer's loop as the three users write it: submit each job, then drain.
async function produce (window: OrderedWindow<number>, jobs: Array<() => Promise<number> | number>): Promise<void> {
  for (const job of jobs) await window.submit(job)
  await window.drain()
}

t.test('a job failing at any position fails the run, applies nothing after it, and never hangs', async t => {
  const n = 9
  for (const limit of [1, 3, 9]) {
    for (let k = 0; k < n; k++) {
      for (const timing of ['at once', 'late', 'after the later ones'] as const) {
        const applied: number[] = []
        const window = new OrderedWindow<number>({ limit, apply: i => { applied.push(i) } })
        const error = new Error(`job ${k} failed`)
        const jobs = Array.from({ length: n }, (_, i) => async (): Promise<number> => {
          if (i === k) {
            await sleep(timing === 'at once' ? 0 : timing === 'late' ? 3 : 8)
            throw error
          }
          await sleep(i > k && timing === 'after the later ones' ? 0 : 1)
          return i
        })
        const what = `limit ${limit}, job ${k} failing ${timing}`
        await t.rejects(within(produce(window, jobs), what), error, what)
        t.ok(applied.every(i => i < k), `${what}: nothing at or after the failure applied`)
        t.same(applied, applied.map((_, i) => i), `${what}: a prefix, in order`)
        await within(window.close(), `${what}: close`)
        await t.rejects(window.drain(), error, `${what}: the failure stays`)
      }
    }
  }
  await sleep(10)
  t.same(unhandled, [], 'no unhandled rejection')
})

t.test('an apply failing at any position, the last included, fails the run without hanging', async t => {
  const n = 7
  for (const limit of [1, 3]) {
    for (let k = 0; k < n; k++) {
      const applied: number[] = []
      const error = new Error(`apply ${k} failed`)
      const window = new OrderedWindow<number>({
        limit,
        apply: async i => {
          await sleep(0)
          if (i === k) throw error
          applied.push(i)
        }
      })
      const jobs = Array.from({ length: n }, (_, i) => async (): Promise<number> => { await sleep(1); return i })
      await t.rejects(within(produce(window, jobs), `apply ${k}`), error)
      t.same(applied, Array.from({ length: k }, (_, i) => i), `limit ${limit}, apply ${k}: exactly the results before it`)
      await within(window.close(), 'close')
    }
  }
})

t.test('a background failure while the window is full wakes the waiting submit', async t => {
  const applied: number[] = []
  const window = new OrderedWindow<number>({ limit: 3, apply: i => { applied.push(i) } })
  const jobs = [deferred<number>(), deferred<number>(), deferred<number>()]
  await window.submit(() => jobs[0]!.promise)
  await window.submit(() => jobs[1]!.promise)
  // The third fills the window: this submit waits for room that the stuck jobs do not give.
  const waiting = window.submit(() => jobs[2]!.promise)
  await sleep(5)
  const spill = new Error('spill failed: disk full')
  window.fail(spill)
  await t.rejects(within(waiting, 'the submit waiting for room'), spill)
  await t.rejects(window.submit(() => 4), spill, 'and every later one')
  jobs[0]!.resolve(0)
  jobs[1]!.reject(new Error('a later failure'))
  jobs[2]!.resolve(2)
  await within(window.close(), 'close')
  t.same(applied, [], 'nothing applied after the failure')
  await t.rejects(window.drain(), spill, 'the first failure is the one kept')
  await sleep(5)
  t.same(unhandled, [])
})

t.test('a background failure while drain waits fails the drain', async t => {
  const window = new OrderedWindow<number>({ limit: 2, apply: () => {} })
  const stuck = deferred<number>()
  await window.submit(() => stuck.promise)
  const draining = window.drain()
  await sleep(5)
  const error = new Error('background')
  window.fail(error)
  await t.rejects(within(draining, 'drain'), error)
  stuck.resolve(1)
  await within(window.close(), 'close')
})

t.test('close waits for every job to settle; it throws a failure nobody has seen', async t => {
  const window = new OrderedWindow<number>({ limit: 4, apply: () => {} })
  const a = deferred<number>()
  const b = deferred<number>()
  await window.submit(() => a.promise)
  await window.submit(() => b.promise)
  let closed = false
  const error = new Error('unseen')
  const closing = window.close().then(() => { closed = true }, (e: unknown) => { closed = true; throw e })
  await sleep(5)
  t.notOk(closed, 'still waiting for the jobs')
  a.reject(error)
  await sleep(5)
  t.notOk(closed)
  b.resolve(2)
  await t.rejects(within(closing, 'close'), error, 'not lost')
  await t.rejects(window.submit(() => 1), error, 'closed and failed')

  const seen = new OrderedWindow<number>({ limit: 2, apply: () => {} })
  await seen.submit(async () => { throw error })
  await t.rejects(seen.drain(), error)
  await seen.close()
  t.pass('an error already thrown by drain is not thrown again by close')
  await t.rejects(seen.submit(() => 1), error)

  const idle = new OrderedWindow<number>({ limit: 2, apply: () => {} })
  await idle.close()
  await t.rejects(idle.submit(() => 1), /closed/, 'no submit after close')
})

t.test('synchronous values and a start that throws', async t => {
  const applied: string[] = []
  const window = new OrderedWindow<string>({ limit: 3, apply: s => { applied.push(s) } })
  await window.submit(() => 'a')
  t.same(applied, ['a'], 'a value is applied at once')
  const later = deferred<string>()
  await window.submit(() => later.promise)
  await window.submit(() => 'c')
  t.same(applied, ['a'], 'but not before an earlier job')
  later.resolve('b')
  await window.drain()
  t.same(applied, ['a', 'b', 'c'])
  const boom = new Error('start threw')
  await t.rejects(window.submit(() => { throw boom }), boom)
  await t.rejects(window.drain(), boom)
  await window.close()
})
