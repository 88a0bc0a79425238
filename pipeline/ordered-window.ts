// A bounded window of jobs in flight whose results are applied in submission order: the hash
// batches of a job, the sorts of DigestStore, the writes of SequentialWriter.
//
// - Ordered: apply() sees results in the order their jobs were submitted, one call at a time.
// - Completion-driven: a result is applied as soon as its job and every earlier one are done,
//   not only when a caller waits, so a slow producer (a pipe on stdin) still has finished work
//   applied while it waits for input.
// - Bounded: at most `limit` jobs are outstanding (submitted and not yet applied), and their
//   weights (bytes, say) add up to at most `maxWeight`, though one job alone always may enter.
// - Fail-fast: the first failure (a job rejecting, apply throwing, or fail() from a task beside
//   the window) stops applying at once, wakes every waiting call, and is thrown by the next
//   submit() or drain() whatever position the failed job had; later results are not applied,
//   and every job's rejection is handled so none goes unhandled.
//
// Waiting is on promises settled by a change (a job done, a result applied, a failure), never on
// a loop over settled promises: the window cannot spin or hang once a failure stops the applying.

export interface OrderedWindowOptions<T> {
  /** Jobs outstanding at most; at least 1. */
  limit: number
  /** Total weight of outstanding jobs at most (one job alone always may enter). Default: unbounded. */
  maxWeight?: number
  /** Applies one job's result; called in submission order, never two at once. */
  apply: (result: T) => void | PromiseLike<void>
}

interface Entry<T> { done: boolean, value: T | undefined, weight: number }

export class OrderedWindow<T> {
  readonly #limit: number
  readonly #maxWeight: number
  readonly #apply: (result: T) => void | PromiseLike<void>
  // Outstanding jobs, oldest first; an entry leaves once its result is applied.
  readonly #entries: Array<Entry<T>> = []
  #weight = 0
  #pending = 0
  #applying = false
  #closed = false
  #failure: { error: unknown } | undefined
  #surfaced = false
  // Settled (and cleared) at the next change; shared by every call waiting meanwhile.
  #change: Promise<void> | undefined
  #wake: (() => void) | undefined

  constructor (options: OrderedWindowOptions<T>) {
    this.#limit = Math.max(1, options.limit)
    this.#maxWeight = options.maxWeight ?? Infinity
    this.#apply = options.apply
  }

  /** Jobs submitted and not yet applied. */
  get size (): number { return this.#entries.length }
  /** Their weight. */
  get weight (): number { return this.#weight }
  get failed (): boolean { return this.#failure !== undefined }

  /**
   * Waits until a job of `weight` fits, starts it (start() is called then, not before), and
   * resolves once there is room for one more job, so a caller that reads on between submits
   * reads only while the window has room. Throws the first failure instead. Not for concurrent
   * callers: one producer submits.
   */
  async submit (start: () => T | PromiseLike<T>, weight = 0): Promise<void> {
    this.#throwIfStopped()
    while (this.#open && this.#entries.length > 0 &&
      (this.#entries.length >= this.#limit || this.#weight + weight > this.#maxWeight)) await this.#changed()
    this.#throwIfStopped()
    const entry: Entry<T> = { done: false, value: undefined, weight }
    this.#entries.push(entry)
    this.#weight += weight
    let job: T | PromiseLike<T>
    try {
      job = start()
    } catch (error) {
      entry.done = true
      this.#fail(error)
      this.#surfaced = true
      throw error
    }
    if (isThenable(job)) {
      this.#pending++
      job.then(value => {
        this.#pending--
        entry.done = true
        entry.value = value
        this.#pump()
        if (this.#closed) this.#signal()
      }, (error: unknown) => {
        this.#pending--
        entry.done = true
        this.#fail(error)
      })
    } else {
      entry.done = true
      entry.value = job
      this.#pump()
    }
    while (this.#open && this.#entries.length >= this.#limit) await this.#changed()
    this.#throwIfStopped()
  }

  /** Waits until every submitted job is applied; throws the first failure instead. */
  async drain (): Promise<void> {
    while (this.#open && this.#entries.length > 0) await this.#changed()
    this.#throwIfStopped()
  }

  /**
   * Records a failure from outside the window (a background task the results depend on): it is
   * thrown by the next submit() or drain(), and no further result is applied.
   */
  fail (error: unknown): void {
    this.#fail(error)
  }

  /**
   * Applies nothing more and waits until every job has settled (their rejections handled) and
   * an apply in progress has returned, so the caller may release what the jobs use. Throws a
   * failure that no submit() or drain() has thrown yet, so none is lost; callers leaving on
   * another error may ignore it.
   */
  async close (): Promise<void> {
    this.#closed = true
    while (this.#pending > 0 || this.#applying) await this.#changed()
    this.#entries.length = 0
    this.#weight = 0
    if (!this.#surfaced) this.#throwIfFailed()
  }

  /** Applies finished results in order while the oldest job is done; one loop at a time. */
  #pump (): void {
    if (this.#applying || this.#closed || this.#failure !== undefined) return
    const head = this.#entries[0]
    if (head === undefined || !head.done) return
    this.#applying = true
    void this.#applyReady()
  }

  async #applyReady (): Promise<void> {
    try {
      for (let head = this.#entries[0]; head?.done === true && !this.#closed && this.#failure === undefined; head = this.#entries[0]) {
        const applied = this.#apply(head.value as T)
        if (applied !== undefined) await applied
        this.#entries.shift()
        this.#weight -= head.weight
        this.#signal()
      }
    } catch (error) {
      this.#fail(error)
    } finally {
      this.#applying = false
      this.#signal()
    }
  }

  #fail (error: unknown): void {
    this.#failure ??= { error }
    this.#signal()
  }

  get #open (): boolean { return this.#failure === undefined && !this.#closed }

  #throwIfStopped (): void {
    this.#throwIfFailed()
    if (this.#closed) throw new Error('the window is closed')
  }

  #throwIfFailed (): void {
    if (this.#failure === undefined) return
    this.#surfaced = true
    throw this.#failure.error
  }

  async #changed (): Promise<void> {
    if (this.#change === undefined) this.#change = new Promise<void>(resolve => { this.#wake = resolve })
    await this.#change
  }

  #signal (): void {
    const wake = this.#wake
    if (wake === undefined) return
    this.#change = undefined
    this.#wake = undefined
    wake()
  }
}

function isThenable<T> (value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}
