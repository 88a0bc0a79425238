// A first-in first-out async lock: one holder at a time, in the order lock() was called. The
// local and the Redis rate limiters take it per scope so reservations keep request order.
export class FifoLock {
  #tail: Promise<void> = Promise.resolve()

  /** Resolves when every earlier holder has released; call the returned function to release. */
  async lock (): Promise<() => void> {
    let release!: () => void
    const mine = new Promise<void>(resolve => { release = resolve })
    const before = this.#tail
    this.#tail = before.then(async () => await mine)
    await before
    return release
  }
}
