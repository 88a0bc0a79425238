// Frees an ArrayBuffer's memory now, not when V8 next collects it (the native core's
// releaseBuffer: Node-API's napi_detach_arraybuffer; the buffer and every view on it become
// zero-length). Node 20 has no ArrayBuffer.prototype.transfer, and a transfer to a worker only
// moves the memory. Only for buffers whose one owner is letting them go for good.
//
// Why: V8 frees an unreachable ArrayBuffer's memory only at the GC that finds it dead. The dedupe
// store drops MiB buffers in bunches (batch buffers past one generation's worth at a spill's
// end, 0-40 MiB; every batch spare when the final pass starts, ~80 MiB; sort buffers past the
// spares' bound); waiting for a GC, ~50 MiB of them stacked up over a few spills, and over
// 100 MiB at the turn to the final pass, on top of live memory: that set a long run's peak RSS.
// Without the native core it does nothing and answers false: V8 frees them in its own time.
import { nativeAddon } from './native-hash.js'

const native = typeof nativeAddon?.releaseBuffer === 'function' ? nativeAddon.releaseBuffer as (buffer: ArrayBuffer) => boolean : undefined

/** Frees `buffer`'s memory now (it becomes zero-length); true if it could. */
export function releaseBuffer (buffer: ArrayBufferLike): boolean {
  if (native === undefined || !(buffer instanceof ArrayBuffer)) return false
  return native(buffer)
}
