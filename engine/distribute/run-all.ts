// Distributions (or conversions entries) side by side: at most `concurrency` at once, started in
// the config's order. Each catches its own failure, so one failing never stops the others; a
// throw out of `work` is what stops the run (an interrupt, a full disk, a bug): nothing is
// started after it, the ones running are told to stop through their signal and waited for (so
// their state is left resumable), and the first throw is rethrown.

export async function runAll<T> (items: readonly T[], concurrency: number, signal: AbortSignal | undefined, work: (item: T, index: number, signal: AbortSignal) => Promise<void>): Promise<void> {
  const stop = new AbortController()
  const stopped = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal])
  let next = 0
  let failure: { err: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (failure === undefined && !stopped.aborted && next < items.length) {
      const i = next++
      try {
        await work(items[i]!, i, stopped)
      } catch (err) {
        if (failure === undefined) { failure = { err }; stop.abort() }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker))
  if (failure !== undefined) throw failure.err
}

/**
 * One at a time: hashing uses every core through its worker pool, so two prepare phases at once
 * would only split the cores (and double the memory); deliveries, which wait on the network and
 * the rate limit, are what run side by side.
 */
export function oneAtATime (): <R>(fn: () => Promise<R>) => Promise<R> {
  let tail: Promise<unknown> = Promise.resolve()
  return async <R>(fn: () => Promise<R>): Promise<R> => {
    const mine = tail.then(fn)
    tail = mine.catch(() => {})
    return await mine
  }
}
