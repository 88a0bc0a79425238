// Gives malloc's free pages back to the kernel (the native core's trimHeap: glibc's
// malloc_trim(0), every arena). The dedupe final pass frees what the input phase held (batch
// buffers, the last generation) while keeping only a few MB of sort buffers: glibc would keep
// those pages as the high-water mark left them. Not during the input phase: pages given back
// there are faulted in again by the next batches (bench/results/hash-2026-12-03-billion.md).
// Without the native core (or off glibc) it does nothing and answers false.
import { nativeAddon } from './native-hash.js'

const native = typeof nativeAddon?.trimHeap === 'function' ? nativeAddon.trimHeap as () => boolean : undefined
const pin = typeof nativeAddon?.pinMmapThreshold === 'function' ? nativeAddon.pinMmapThreshold as (bytes: number) => boolean : undefined

/** glibc's default mmap threshold, the one pinMmapThreshold keeps. */
export const kMmapThreshold = 128 << 10

/** True if free heap pages were handed back (glibc with the native core). */
export function trimHeap (): boolean {
  return native !== undefined ? native() : false
}

/**
 * Fixes glibc's mmap threshold at `bytes` (default: its own default, 128 KiB), so blocks at least
 * that big are always mapped on their own and unmapped when freed. True if glibc took it.
 *
 * Why: glibc raises the threshold to the size of each mapped block freed (up to 32 MiB), after
 * which blocks of up to that size come from the heaps instead, where a long run's churn of MiB
 * buffers (batches, sort and write blocks) leaves holes that never go back to the kernel. The
 * main thread's heap grew 3 → 48 MiB over the 60 spills of the 1 GiB file given six times, and
 * peak RSS with it. Process-wide, so the engine calls it, once, before a hash run's first buffer.
 */
export function pinMmapThreshold (bytes = kMmapThreshold): boolean {
  return pin !== undefined ? pin(bytes) : false
}
