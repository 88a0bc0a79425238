// Process priority for the benches' emulator. setpriority(2) on Linux sets one thread's nice
// value, not the process's: a process reniced by its pid keeps its other threads (V8's GC
// helpers, libuv's pool) at the old value. So every thread listed in /proc/PID/task is reniced.
// (Whether the helpers' priority mattered was not shown: the emulator's rare 50–80 ms stalls
// stayed, and its CPU profile puts most of them on the virtual machine.) Needs root or
// CAP_SYS_NICE to raise; returns whether it could. Elsewhere than Linux it tries the pid alone.
import { readdirSync } from 'node:fs'
import { setPriority } from 'node:os'

export function renice (pid: number, nice: number): boolean {
  let tids: number[]
  try { tids = readdirSync(`/proc/${pid}/task`).map(Number) } catch { tids = [pid] }
  let ok = true
  for (const tid of tids) {
    try { setPriority(tid, nice) } catch { ok = false }
  }
  return ok
}
