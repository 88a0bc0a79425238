// The identity of a run's inputs, checked when an interrupted run resumes: delivering a plan made
// from other data than what is on disk now would be silently wrong. First a cheap one (size,
// mtime, SHA-256 of the first and last 64 KiB of each file), then the content digest the hash
// pass took of every byte (adapters/content-digest.ts), which an edit in place cannot keep.
import { createHash } from 'node:crypto'
import { open, stat } from 'node:fs/promises'
import { digestFile } from '../../adapters/file-source.js'

const kEdge = 64 * 1024

export interface FileFingerprint { path: string, size: number, mtimeMs: number, edges: string, regular?: boolean }

export async function fingerprintInputs (paths: string[]): Promise<FileFingerprint[]> {
  const out: FileFingerprint[] = []
  for (const path of paths) {
    const st = await stat(path)
    // A FIFO or device has no identity to keep: reading its head would consume the data the
    // hash pass needs. It is recorded as such, and a resume from it is refused.
    if (!st.isFile()) {
      out.push({ path, size: -1, mtimeMs: 0, edges: '', regular: false })
      continue
    }
    const fh = await open(path, 'r')
    try {
      const hash = createHash('sha256')
      const head = Buffer.alloc(Math.min(kEdge, st.size))
      await fh.read(head, 0, head.length, 0)
      hash.update(head)
      if (st.size > kEdge) {
        const tail = Buffer.alloc(Math.min(kEdge, st.size - kEdge))
        await fh.read(tail, 0, tail.length, st.size - tail.length)
        hash.update(tail)
      }
      out.push({ path, size: st.size, mtimeMs: Math.trunc(st.mtimeMs), edges: hash.digest('hex') })
    } finally {
      await fh.close()
    }
  }
  return out
}

/** The first difference between two fingerprints, in words, or undefined when they match. */
export function fingerprintChange (before: FileFingerprint[], now: FileFingerprint[]): string | undefined {
  if (before.length !== now.length) {
    // Directories and globs are expanded before fingerprinting: a file added or removed shows here.
    const was = new Set(before.map(f => f.path))
    const is = new Set(now.map(f => f.path))
    const added = now.find(f => !was.has(f.path))
    const removed = before.find(f => !is.has(f.path))
    const which = added !== undefined ? ` (${added.path} is new)` : removed !== undefined ? ` (${removed.path} is gone)` : ''
    return `the segment had ${before.length} input file(s), now ${now.length}${which}`
  }
  for (let i = 0; i < before.length; i++) {
    const a = before[i]!
    const b = now[i]!
    if (a.path !== b.path) return `input ${i + 1} was ${a.path}, now ${b.path}`
    if (a.regular === false || b.regular === false) return `${a.path} is not a regular file (a pipe or device is read once), so what the interrupted run read cannot be checked or read again`
    if (a.size !== b.size) return `${a.path} changed size (${a.size} → ${b.size} bytes)`
    if (a.mtimeMs !== b.mtimeMs) return `${a.path} was modified (mtime changed)`
    if (a.edges !== b.edges) return `${a.path} changed content`
  }
  return undefined
}

/**
 * The first input whose content digest differs from the one the hash pass took, in words, or
 * undefined. Reads each file once more (resume only); inputs recorded without a digest (empty
 * files, pipes) are left to fingerprintChange.
 */
export async function contentChange (paths: string[], recorded: Array<string | null>): Promise<string | undefined> {
  for (let i = 0; i < paths.length; i++) {
    const want = recorded[i]
    if (want === null || want === undefined) continue
    if (await digestFile(paths[i]!) !== want) return `${paths[i]} changed content (same size and modification time, different bytes)`
  }
  return undefined
}
