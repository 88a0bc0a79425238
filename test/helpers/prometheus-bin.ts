// Locates the Prometheus tools from Debian's `prometheus` package. A missing binary is a test
// failure with a diagnostic, never a skip: the checks it runs are part of the contract.
import { spawnSync } from 'node:child_process'

export type PrometheusTool = 'promtool' | 'prometheus'

interface Failer { fail (message: string): void }

/** Returns the binary name when it runs, else fails `t` with how to install it and returns undefined. */
export function requireTool (t: Failer, tool: PrometheusTool): string | undefined {
  const probe = spawnSync(tool, ['--version'], { encoding: 'utf8', timeout: 10_000 })
  if (probe.error === undefined && probe.status === 0) return tool
  const why = probe.error !== undefined ? (probe.error as NodeJS.ErrnoException).code ?? probe.error.message : `exit ${String(probe.status)}`
  const fix = process.env['CI'] !== undefined && process.env['CI'] !== ''
    ? '.ci/run must install it: apt-get install -y prometheus'
    : 'install it with: sudo apt-get update && sudo apt-get install -y prometheus'
  t.fail(`${tool} is required by this test but could not be run (${why}); it comes from Debian's prometheus package — ${fix}`)
  return undefined
}
