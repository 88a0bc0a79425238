// 4096-aligned memory from the native addon, for O_DIRECT reads and writes: Linux refuses direct
// I/O to or from memory not aligned to the device's logical block, and JavaScript can neither ask
// for alignment nor see an address. Undefined when the native core is not loaded (direct I/O is
// then off and files go through the page cache).
import { nativeAddon } from '../pipeline/native-hash.js'

/** Offsets, lengths and memory of direct I/O are multiples of this (the largest logical block Linux takes for it). */
export const kDirectAlign = 4096

export type AlignedBuffer = (bytes: number) => Buffer

export const alignedBuffer: AlignedBuffer | undefined =
  typeof nativeAddon?.alignedBuffer === 'function' ? nativeAddon.alignedBuffer as AlignedBuffer : undefined
