// A real redis-server (Debian's package; test/install-deps.sh installs it) on a free loopback
// port, in its own temp dir with persistence off, stopped in teardown. stop() and start() let a
// test take Redis away mid-run and bring it back on the same port.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export const kRedisServer = '/usr/bin/redis-server'

export interface RedisServer {
  url: string
  port: number
  /** Stops the server (SIGKILL: as it dies, not as it shuts down). */
  stop: () => Promise<void>
  /** Starts it again on the same port, empty. */
  start: () => Promise<void>
}

async function freePort (): Promise<number> {
  const s = createServer()
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as { port: number }).port
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

/** One PING over a raw socket: true when the server answers PONG. */
async function ping (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const c = connect(port, '127.0.0.1')
    let text = ''
    const done = (ok: boolean): void => { c.destroy(); resolve(ok) }
    c.setTimeout(500, () => done(false))
    c.on('error', () => done(false))
    c.on('connect', () => c.write('PING\r\n'))
    c.on('data', d => { text += d.toString(); if (text.includes('\r\n')) done(text.startsWith('+PONG')) })
  })
}

export async function startRedis (t: { teardown: (fn: () => Promise<void>) => void }): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'hp-redis-'))
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    const c = spawn(kRedisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    c.stderr?.on('data', (d: Buffer) => { err += d.toString() })
    child = c
    for (let i = 0; i < 100; i++) {
      if (c.exitCode !== null) throw new Error(`redis-server exited ${c.exitCode}: ${err}`)
      if (await ping(port)) return
      await sleep(50)
    }
    throw new Error(`redis-server on port ${port} did not answer PING within 5 s: ${err}`)
  }
  const stop = async (): Promise<void> => {
    const c = child
    child = undefined
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
    const closed = once(c, 'close')
    c.kill('SIGKILL')
    await closed
  }
  t.teardown(async () => { await stop(); rmSync(dir, { recursive: true, force: true }) })
  await start()
  return { url: `redis://127.0.0.1:${port}/0`, port, stop, start }
}
