// Batch SHA-256: many short messages per call into a packed N x 32 output.
//
// The native addon (pipeline/native/hash_many.cc, built by node-gyp at install into
// build/Release/hash_many.node) is optional: if it did not build, cannot load here, or
// HASHPIPE_NATIVE=0, the same contract is served by node:crypto, with identical digests.
//
// Contract for both: out[32i .. 32i+32) = SHA-256(input[offsets[i] .. offsets[i+1])) for i < count.
// offsets holds count + 1 non-decreasing entries within input; out holds at least count * 32
// bytes and must not overlap input. Bad arguments throw TypeError / RangeError before anything
// is written.
import { hash } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

export type HashMany = (input: Uint8Array, offsets: Uint32Array, count: number, out: Uint8Array) => void

const DIGEST_BYTES = 32

// This file runs as dist/pipeline/native-hash.js, so the package root (where node-gyp puts
// build/) is two levels up. Resolved from import.meta.url, it is the same in worker threads.
const addonPath = fileURLToPath(new URL('../../build/Release/hash_many.node', import.meta.url))

/** The addon's functions as loaded; each is checked by the module that wraps it. */
export interface NativeAddon { hashMany?: unknown, scanBatch?: unknown, formatRows?: unknown, sortUnique?: unknown, alignedBuffer?: unknown, partitionDigests?: unknown }

function loadNative (): { addon: NativeAddon | undefined, reason: string } {
  if (process.env.HASHPIPE_NATIVE === '0') return { addon: undefined, reason: 'disabled by HASHPIPE_NATIVE=0' }
  try {
    const addon = createRequire(import.meta.url)(addonPath) as NativeAddon
    if (typeof addon.hashMany !== 'function') return { addon: undefined, reason: 'addon has no hashMany export' }
    return { addon, reason: 'loaded' }
  } catch (err) {
    // Not built (the install step tolerates a failed build) is the expected case; say so plainly.
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      return { addon: undefined, reason: `not built: ${addonPath} is missing (npx node-gyp rebuild builds it)` }
    }
    return { addon: undefined, reason: `failed to load: ${(err as Error).message}` }
  }
}

const loaded = loadNative()

/** The loaded addon (undefined when not built, not loadable, or disabled). */
export const nativeAddon: NativeAddon | undefined = loaded.addon

/** The addon's hashMany, or undefined when it is not built, not loadable, or disabled. */
export const nativeHashMany: HashMany | undefined = loaded.addon?.hashMany as HashMany | undefined

/** Why the native path is (not) in use, for logs and test output. Holds no data. */
export const nativeStatus: string = loaded.reason

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

/** The pure-Node path: one crypto.hash per message ('binary' = latin1 output avoids a Buffer per digest). */
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
