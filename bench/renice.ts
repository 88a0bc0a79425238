// Process priority for the benches' emulator. setpriority(2) on Linux sets one thread's nice
// value, not the process's: a process reniced by its pid keeps its other threads (V8's GC
// helpers, libuv's pool) at the old value, and a parallel scavenge then waits for helpers that
// the contenders' threads starve (20–46 ms pauses in the emulator at nice −10). So every thread
// listed in /proc/PID/task is reniced. Needs root or CAP_SYS_NICE to raise; returns whether it
// could, and does nothing elsewhere than Linux but try the pid.
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
