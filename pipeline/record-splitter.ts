// Main-thread splitter: raw input chunks in, batches of whole records out, each in an owned
// ArrayBuffer ready to be transferred to a worker (a stream chunk's own .buffer is never sent:
// it may be a slice of Node's shared pool).
//
// Invariants:
// - a batch ends right after a newline that is outside quotes (or at the end of input), so no
//   record is ever split between two batches;
// - memory is bounded by the batch capacity: a record that does not fit in a whole batch is
//   reported as a long record and skipped up to the next newline, never accumulated.
//
// Quotes (CSV only) follow RFC 4180 as the worker parses them: a quote opens a quoted field only
// at the start of a field; inside, "" is an escaped quote and a lone quote closes the field.

export interface SplitBatch { kind: 'batch', buffer: ArrayBuffer, byteLength: number, firstByte: number }
/** A record longer than the batch capacity, skipped up to the next newline. */
export interface LongRecord { kind: 'long', byteOffset: number, lines: number }
export type SplitEvent = SplitBatch | LongRecord

export interface RecordSplitterOptions {
  capacity: number
  quotes: boolean
  delimiter: number
  /** Byte offset of the first byte pushed (after a BOM or a header row). */
  startOffset?: number
}

const kNewline = 10
const kQuote = 34

export class RecordSplitter {
  readonly #capacity: number
  readonly #quotes: boolean
  readonly #delimiter: number
  readonly #free: ArrayBuffer[] = []
  #buf: Buffer
  #n = 0
  #recEnd = 0
  #scanPos = 0
  #inQuote = false
  #skipping = false
  #base: number

  constructor (options: RecordSplitterOptions) {
    this.#capacity = options.capacity
    this.#quotes = options.quotes
    this.#delimiter = options.delimiter
    this.#base = options.startOffset ?? 0
    this.#buf = this.#acquire()
  }

  /** Hands a buffer back (from a batch result) for reuse. */
  recycle (buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.#capacity && this.#free.length < 8) this.#free.push(buffer)
  }

  #acquire (): Buffer {
    return Buffer.from(this.#free.pop() ?? new ArrayBuffer(this.#capacity))
  }

  push (chunk: Uint8Array): SplitEvent[] {
    const events: SplitEvent[] = []
    let off = 0
    while (off < chunk.length) {
      if (this.#skipping) {
        const nl = chunk.indexOf(kNewline, off)
        const stop = nl === -1 ? chunk.length : nl + 1
        this.#base += stop - off
        off = stop
        if (nl !== -1) this.#skipping = false
        continue
      }
      const take = Math.min(this.#capacity - this.#n, chunk.length - off)
      this.#buf.set(chunk.subarray(off, off + take), this.#n)
      this.#n += take
      off += take
      this.#scan()
      if (this.#n === this.#capacity) this.#flushFull(events)
    }
    return events
  }

  end (): SplitEvent[] {
    const events: SplitEvent[] = []
    if (!this.#skipping && this.#n > 0) events.push(this.#emit(this.#n))
    this.#n = 0
    return events
  }

  #emit (length: number): SplitBatch {
    const batch: SplitBatch = { kind: 'batch', buffer: this.#buf.buffer as ArrayBuffer, byteLength: length, firstByte: this.#base }
    const next = this.#acquire()
    // The partial record after the boundary starts the next batch.
    if (length < this.#n) this.#buf.copy(next, 0, length, this.#n)
    this.#buf = next
    this.#n -= length
    this.#scanPos -= length
    this.#recEnd = 0
    this.#base += length
    return batch
  }

  #flushFull (events: SplitEvent[]): void {
    if (this.#recEnd > 0) {
      events.push(this.#emit(this.#recEnd))
      return
    }
    // No record boundary in a whole batch: the record is too long to hold. Count the lines it
    // spanned so far (newlines inside quotes) and skip to the next newline.
    let lines = 1
    for (let i = this.#buf.indexOf(kNewline, 0); i !== -1 && i < this.#n; i = this.#buf.indexOf(kNewline, i + 1)) lines++
    events.push({ kind: 'long', byteOffset: this.#base, lines })
    this.#base += this.#n
    this.#n = 0
    this.#scanPos = 0
    this.#recEnd = 0
    this.#inQuote = false
    this.#skipping = true
  }

  /** Advances #scanPos to #n, moving #recEnd past the last record boundary found. */
  #scan (): void {
    const buf = this.#buf
    const to = this.#n
    let p = this.#scanPos
    if (!this.#quotes) {
      const nl = buf.lastIndexOf(kNewline, to - 1)
      if (nl >= p) this.#recEnd = nl + 1
      this.#scanPos = to
      return
    }
    while (p < to) {
      let q = buf.indexOf(kQuote, p)
      if (q >= to) q = -1
      if (!this.#inQuote) {
        const segEnd = q === -1 ? to : q
        if (segEnd > p) {
          const nl = buf.lastIndexOf(kNewline, segEnd - 1)
          if (nl >= p) this.#recEnd = nl + 1
        }
        if (q === -1) { p = to; break }
        const prev = q === 0 ? kNewline : buf[q - 1]
        if (prev === kNewline || prev === this.#delimiter) this.#inQuote = true
        p = q + 1
      } else {
        if (q === -1) { p = to; break }
        // Whether this quote closes the field depends on the next byte: wait for it.
        if (q + 1 >= to) { p = q; break }
        if (buf[q + 1] === kQuote) { p = q + 2; continue }
        this.#inQuote = false
        p = q + 1
      }
    }
    this.#scanPos = p
  }
}
