// Runs the built CLI (dist/engine/cli.js) in a child process, asynchronously, with optional
// stdin; reports exit code, output and the child's peak resident memory (VmHWM).
// Through `env -u NODE_OPTIONS`: tap's process-info hook rewrites NODE_OPTIONS of every spawned
// child to load its loaders, which crashed Node 20 in worker threads now and then. The CLI
// under test runs as users run it.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const cliPath = fileURLToPath(new URL('../../engine/cli.js', import.meta.url))

export interface CliResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, peakRssKiB: number }

export async function runCli (args: string[], options: { stdin?: string | Buffer, env?: NodeJS.ProcessEnv, onStdout?: (text: string) => void, nodeArgs?: string[] } = {}): Promise<CliResult> {
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, ...(options.nodeArgs ?? []), cliPath, ...args], { env: { ...process.env, ...options.env } })
  let stdout = ''
  let stderr = ''
  let peak = 0
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); options.onStdout?.(c.toString()) })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      if (m !== null) peak = Math.max(peak, Number(m[1]))
    } catch {}
  }, 20)
  child.stdin.end(options.stdin ?? '')
  const [code, signal] = await once(child, 'close') as [number | null, NodeJS.Signals | null]
  clearInterval(poll)
  return { code, signal, stdout, stderr, peakRssKiB: peak }
}
