// Gives malloc's free pages back to the kernel (the native core's trimHeap: glibc's
// malloc_trim(0), every arena). A dedupe run that spills hundreds of times frees big buffers
// between long-lived small ones, and glibc keeps the freed pages of its heaps as the high-water
// mark left them: at a billion identifiers peak RSS grew ~0.6 MB a spill
// (bench/results/hash-2026-12-02-billion-rerun.md). Trimmed once a spill ends, the heap stays at
// what is in use. Without the native core (or off glibc) it does nothing and answers false.
import { nativeAddon } from './native-hash.js'

const native = typeof nativeAddon?.trimHeap === 'function' ? nativeAddon.trimHeap as () => boolean : undefined

/** True if free heap pages were handed back (glibc with the native core). */
export function trimHeap (): boolean {
  return native !== undefined ? native() : false
}
