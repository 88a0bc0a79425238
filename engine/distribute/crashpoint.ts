// Test hook for crash-resume tests: HASHPIPE_CRASHPOINT=name (or name:n for the n-th time the
// point is reached) makes the process SIGKILL itself there — no cleanup, no finally blocks, as
// a power cut or OOM kill would. Unset in production: one string comparison per point.
const spec = process.env.HASHPIPE_CRASHPOINT ?? ''
const [kName, kNth] = spec.split(':')
const nth = kNth === undefined ? 1 : Number(kNth)
let hits = 0

export function crashpoint (name: string): void {
  if (spec === '' || name !== kName) return
  hits++
  if (hits >= nth) process.kill(process.pid, 'SIGKILL')
}
