// Frees an ArrayBuffer's memory now, not when V8 next collects it (the native core's
// releaseBuffer: Node-API's napi_detach_arraybuffer; the buffer and every view on it become
// zero-length). Node 20 has no ArrayBuffer.prototype.transfer, and a transfer to a worker only
// moves the memory. Only for buffers whose one owner is letting them go for good.
//
// Why: V8 frees an unreachable ArrayBuffer's memory only at the mark-compact that finds it dead,
// and counts it against the heap's growth only loosely. The dedupe store drops MiB buffers in
// bunches (batch buffers past one generation's worth at a spill's end, every batch spare when the
// final pass starts, sort buffers past the spares' bound); waiting for a GC, 50-130 MiB of them
// stacked up on top of live memory and set a billion-identifier run's peak RSS.
// Without the native core it does nothing and answers false: V8 frees them in its own time.
import { nativeAddon } from './native-hash.js'

const native = typeof nativeAddon?.releaseBuffer === 'function' ? nativeAddon.releaseBuffer as (buffer: ArrayBuffer) => boolean : undefined

/** Frees `buffer`'s memory now (it becomes zero-length); true if it could. */
export function releaseBuffer (buffer: ArrayBufferLike): boolean {
  if (native === undefined || !(buffer instanceof ArrayBuffer)) return false
  return native(buffer)
}
