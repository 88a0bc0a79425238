// Where DigestStore keeps its sorted runs once memory is over budget. The pipeline does no I/O of
// its own: the store asks for files through this port, and adapters/spill-files.ts implements it
// on a temporary directory (O_DIRECT writes, positional reads on libuv's threads).

/** One spill file: written once, front to back, then sealed and read at any position. */
export interface SpillFile {
  /** For messages: where the file is. */
  readonly name: string
  /** Bytes written so far (the offset the next write lands at). */
  readonly bytes: number
  /** Appends data; the caller may reuse the buffer once this resolves. */
  write: (data: Uint8Array) => Promise<void>
  /** Ends writing; afterwards the file may be read. */
  seal: () => Promise<void>
  /** Drops a file whose writing failed. */
  abort: () => Promise<void>
  /** Reads up to `length` bytes at `position` into `into[offset…]`; 0 at the end of the file. */
  read: (into: Uint8Array, offset: number, length: number, position: number) => Promise<number>
}

export interface SpillStorage {
  /** A new, empty spill file. Errors are HP_ERR_SPILL_IO with the fix in the message. */
  create: () => Promise<SpillFile>
  /** Removes every file this storage made; resolves when they are gone. Safe to call more than once. */
  close: () => Promise<void>
}
