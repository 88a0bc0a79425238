// Gives malloc's free pages back to the kernel (the native core's trimHeap: glibc's
// malloc_trim(0), every arena). The dedupe final pass frees what the input phase held (batch
// buffers, the last generation) while keeping only a few MB of sort buffers: glibc would keep
// those pages as the high-water mark left them. Not during the input phase: pages given back
// there are faulted in again by the next batches (bench/results/hash-2026-12-03-billion.md).
// Without the native core (or off glibc) it does nothing and answers false.
import { nativeAddon } from './native-hash.js'

const native = typeof nativeAddon?.trimHeap === 'function' ? nativeAddon.trimHeap as () => boolean : undefined

/** True if free heap pages were handed back (glibc with the native core). */
export function trimHeap (): boolean {
  return native !== undefined ? native() : false
}
