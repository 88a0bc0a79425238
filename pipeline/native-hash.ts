// The native core's loader, and batch SHA-256: many short messages per call into a packed N x 32
// output.
//
// The native addon (pipeline/native/*.cc, built by node-gyp at install into
// build/Release/hash_many.node) is optional. It is used only when it loads, exports every
// function the pipeline calls, and its layout (the offsets and codes it shares with the
// TypeScript side) is native-layout.ts's; otherwise nativeStatus says why not, and every caller
// takes its JavaScript path, with identical results. HASHPIPE_NATIVE=0 turns it off.
//
// hashMany contract, both ways: out[32i .. 32i+32) = SHA-256(input[offsets[i] .. offsets[i+1]))
// for i < count. offsets holds count + 1 non-decreasing entries within input; out holds at least
// count * 32 bytes and must not overlap input. Bad arguments throw TypeError / RangeError before
// anything is written.
import { hash } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { layoutMismatch } from './native-layout.js'

export type HashMany = (input: Uint8Array, offsets: Uint32Array, count: number, out: Uint8Array) => void

/** Whether the native core is in use; if not, why. Holds no data. `sha_ni`: one-block messages are hashed in pairs with the CPU's SHA extensions. */
export type NativeStatus = { active: true, sha_ni: boolean } | { active: false, reason: string }

const DIGEST_BYTES = 32

// This file runs as dist/pipeline/native-hash.js, so the package root (where node-gyp puts
// build/) is two levels up. Resolved from import.meta.url, it is the same in worker threads.
const addonPath = fileURLToPath(new URL('../../build/Release/hash_many.node', import.meta.url))
const kRebuild = 'npx node-gyp rebuild in the hashpipe directory rebuilds it; HASHPIPE_NATIVE=0 silences this'

/** The addon's exports as loaded; each function is typed by the module that wraps it. */
export interface NativeAddon {
  hashMany: unknown
  scanBatch: unknown
  formatRows: unknown
  sortUnique: unknown
  alignedBuffer: unknown
  partitionDigests: unknown
  /** Optional: an addon built before it still loads (heap-trim.ts then does nothing). */
  trimHeap?: unknown
  /** Optional, like trimHeap. */
  pinMmapThreshold?: unknown
  /** Optional, like trimHeap (release-buffer.ts). */
  releaseBuffer?: unknown
  layout: unknown
  cpu?: unknown
}

const kFunctions = ['hashMany', 'scanBatch', 'formatRows', 'sortUnique', 'alignedBuffer', 'partitionDigests'] as const

/** The status of a loaded addon: active only if it has every function and the expected layout. */
export function checkAddon (addon: unknown): NativeStatus {
  if (addon === null || typeof addon !== 'object') return { active: false, reason: `load error: the addon exports nothing; ${kRebuild}` }
  const a = addon as Record<string, unknown>
  const missing = kFunctions.filter(f => typeof a[f] !== 'function')
  if (missing.length > 0) return { active: false, reason: `incomplete addon: no ${missing.join(', ')} (built from other sources); ${kRebuild}` }
  const mismatch = layoutMismatch(a.layout)
  if (mismatch !== undefined) return { active: false, reason: `layout mismatch (built from other sources): ${mismatch}; ${kRebuild}` }
  const cpu = a.cpu as { sha_ni?: unknown } | undefined
  return { active: true, sha_ni: cpu?.sha_ni === true }
}

function loadNative (): { addon: NativeAddon | undefined, status: NativeStatus } {
  if (process.env.HASHPIPE_NATIVE === '0') return { addon: undefined, status: { active: false, reason: 'turned off by HASHPIPE_NATIVE=0' } }
  let addon: unknown
  try {
    addon = createRequire(import.meta.url)(addonPath)
  } catch (err) {
    // Not built (the install step tolerates a failed build) is the expected case; say so plainly.
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      return { addon: undefined, status: { active: false, reason: `not built: ${addonPath} is missing; ${kRebuild}` } }
    }
    return { addon: undefined, status: { active: false, reason: `load error: ${(err as Error).message}; ${kRebuild}` } }
  }
  const status = checkAddon(addon)
  return { addon: status.active ? addon as NativeAddon : undefined, status }
}

const loaded = loadNative()

/** The loaded addon, undefined unless the native core is active. */
export const nativeAddon: NativeAddon | undefined = loaded.addon

/** The addon's hashMany, undefined unless the native core is active. */
export const nativeHashMany: HashMany | undefined = loaded.addon?.hashMany as HashMany | undefined

export const nativeStatus: NativeStatus = loaded.status

/** nativeStatus in words, for doctor, the text summary and test output. */
export function describeNativeStatus (status: NativeStatus = nativeStatus): string {
  return status.active ? `active${status.sha_ni ? ' (SHA-NI)' : ''}` : `inactive: ${status.reason}`
}

function typeError (message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' })
}

function rangeError (message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' })
}

/** Same checks, order, messages and codes as the addon, so both paths fail alike. */
function validate (input: unknown, offsets: unknown, count: unknown, out: unknown): void {
  if (!(input instanceof Uint8Array)) throw typeError('input must be a Uint8Array')
  if (!(offsets instanceof Uint32Array)) throw typeError('offsets must be a Uint32Array')
  if (typeof count !== 'number') throw typeError('count must be a number')
  if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) throw rangeError('count must be an integer in [0, 2^32)')
  if (!(out instanceof Uint8Array)) throw typeError('out must be a Uint8Array')
  if (count === 0) return
  if (offsets.length < count + 1) throw rangeError('offsets must hold count + 1 entries')
  if (out.length < count * DIGEST_BYTES) throw rangeError('out must hold count * 32 bytes')
  if (offsets[count]! > input.length) throw rangeError('offsets must not point past the end of input')
  for (let i = 0; i < count; i++) {
    if (offsets[i]! > offsets[i + 1]!) throw rangeError('offsets must be non-decreasing')
  }
}

/**
 * The pure-Node path, and the only JavaScript fallback: what the hash workers use when the
 * native core is inactive. One crypto.hash per message ('binary' = latin1 output avoids a Buffer
 * per digest).
 */
export function hashManyJs (input: Uint8Array, offsets: Uint32Array, count: number, out: Uint8Array): void {
  validate(input, offsets, count, out)
  if (count === 0) return
  const src = Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  const dst = Buffer.from(out.buffer, out.byteOffset, out.byteLength)
  for (let i = 0; i < count; i++) {
    const digest = hash('sha256', src.subarray(offsets[i]!, offsets[i + 1]!), 'binary')
    dst.write(digest, i * DIGEST_BYTES, DIGEST_BYTES, 'latin1')
  }
}

/** The best available implementation. */
export const hashMany: HashMany = nativeHashMany ?? hashManyJs

export const hashBackend: 'native' | 'js' = nativeHashMany !== undefined ? 'native' : 'js'
