// Request bodies for the emulator. A body with a Content-Length (every upload hashpipe sends)
// is copied into one buffer of that size as it arrives: a 250 MB file upload is copied once,
// spread over its transfer, instead of kept as thousands of chunks and joined when it ends.
import type { IncomingMessage } from 'node:http'

/** Calls `done` with the whole body; bodies announced above `max` bytes are kept as chunks. */
export function collectBody (req: IncomingMessage, max: number, done: (body: Buffer) => void): void {
  const length = Number(req.headers['content-length'])
  if (Number.isSafeInteger(length) && length > 0 && length <= max) {
    const body = Buffer.allocUnsafe(length)
    let at = 0
    // Node's parser never delivers more than Content-Length; a short body (aborted) never ends.
    req.on('data', (c: Buffer) => { at += c.copy(body, at) })
    req.on('end', () => { done(body.subarray(0, at)) })
    return
  }
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => { done(Buffer.concat(chunks)) })
}
