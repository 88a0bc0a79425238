// A digest of a file's whole content, taken from the chunks the hash pass reads anyway, so a
// resumed run can tell a file edited in place (same size, same mtime) from the one its plan was
// made from, without a second read during the run. Each chunk is hashed on libuv's threads
// (WebCrypto's digest copies the bytes and runs off the main thread, which is the busy one);
// the content digest is the SHA-256 of the chunk digests in order. Chunks of a regular file
// are its 1 MiB reads, the same on every read of the same file, so the digest is reproducible.
import { createHash, webcrypto } from 'node:crypto'

export class ContentDigest {
  readonly #parts: Array<Promise<ArrayBuffer>> = []

  add (chunk: Uint8Array): void {
    const p = webcrypto.subtle.digest('SHA-256', chunk)
    // Handled here too: a read that fails mid-file may leave parts nobody awaits.
    p.catch(() => {})
    this.#parts.push(p)
  }

  async hex (): Promise<string> {
    const hash = createHash('sha256')
    for (const part of await Promise.all(this.#parts)) hash.update(new Uint8Array(part))
    return hash.digest('hex')
  }
}
