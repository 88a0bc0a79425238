// `hashpipe emulator`: the built-in TikTok API emulator on loopback, until interrupted.
import { parseArgs } from 'node:util'
import { once } from 'node:events'
import { startEmulator, type EmulatorFaults } from '../../adapters/emulator/emulator.js'
import { DEFAULT_APP, DEFAULT_TOKEN, DEFAULT_ADVERTISERS } from '../../adapters/emulator/emulator-state.js'
import { ExitCode, UsageError } from '../../pipeline/errors.js'
import type { CommandIo } from '../command.js'

const kHelp = `usage: hashpipe emulator [options]

Runs the built-in TikTok Marketing API emulator (partner audiences, OAuth, Business Center
roles, rate limits, faults). Its first stdout line is
'hashpipe emulator listening on http://HOST:PORT'.

  --port N              port (default 0: a free one)
  --host H              bind address (default 127.0.0.1)
  --state FILE          keep audiences and tokens in FILE across restarts
  --qps N --qpm N       app rate limits answered with 40100 (default 10 / 60 × QPS);
                        sliding windows; counters at GET /__emulator/limits
  --advertiser-qps N    per-advertiser limit answered with 40133 (default: the QPS)
  --fail-5xx RATE       share of requests answered 503 (0..1)
  --reset-rate RATE     share of connections reset without an answer (0..1)
  --slow-ms MS          delay every answer
  --storm START:DUR     answer 40100 to everything from START ms for DUR ms
  --revoke-after N      tokens are revoked (40105) after N calls
  --poison-id HEX       a digest whose presence fails its mapping batch (40002)
  --events-qps N --events-qpm N
                        Events API (/event/track/) limits (default 1000 / 600000)
  --poison-event-id ID  an event_id whose presence fails its /event/track/ request (40002)
  --processing-ms MS    customer-file audiences stay is_valid=false (updates refused) this long
                        after a create or update (default 0; TikTok: up to 48 h)
  --file-max-bytes N    customer-file upload size limit (default 250000000; over it: 40907)
  --file-ttl-ms MS      uploaded file paths expire (40910) after MS
  --upload-slow-ms MS   delay every file upload answer
  -h, --help
`

function num (name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!(n >= min && n <= max)) throw new UsageError(`--${name} must be a number from ${min} to ${max}, not '${v}'`)
  return n
}

export default async function emulator (argv: string[], io: CommandIo): Promise<number> {
  let v
  try {
    v = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        state: { type: 'string' },
        qps: { type: 'string' },
        qpm: { type: 'string' },
        'advertiser-qps': { type: 'string' },
        'fail-5xx': { type: 'string' },
        'reset-rate': { type: 'string' },
        'slow-ms': { type: 'string' },
        storm: { type: 'string' },
        'revoke-after': { type: 'string' },
        'poison-id': { type: 'string' },
        'events-qps': { type: 'string' },
        'events-qpm': { type: 'string' },
        'poison-event-id': { type: 'string' },
        'processing-ms': { type: 'string' },
        'file-max-bytes': { type: 'string' },
        'file-ttl-ms': { type: 'string' },
        'upload-slow-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false }
      },
      strict: true
    }).values
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe emulator --help)`)
  }
  if (v.help) { io.stdout.write(kHelp); return ExitCode.OK }
  const faults: EmulatorFaults = {}
  const f5 = num('fail-5xx', v['fail-5xx'], 0, 1); if (f5 !== undefined) faults.error5xxRate = f5
  const rr = num('reset-rate', v['reset-rate'], 0, 1); if (rr !== undefined) faults.resetRate = rr
  const slow = num('slow-ms', v['slow-ms'], 0, 600_000); if (slow !== undefined) faults.slowMs = slow
  const revoke = num('revoke-after', v['revoke-after'], 0, 1e9); if (revoke !== undefined) faults.revokeTokenAfter = revoke
  if (v['poison-id'] !== undefined) faults.poisonId = v['poison-id'].toLowerCase()
  if (v['poison-event-id'] !== undefined) faults.poisonEventId = v['poison-event-id']
  const ttl = num('file-ttl-ms', v['file-ttl-ms'], 0, 1e12)
  if (ttl !== undefined) faults.fileTtlMs = ttl
  const slowUpload = num('upload-slow-ms', v['upload-slow-ms'], 0, 600_000)
  if (slowUpload !== undefined) faults.uploadSlowMs = slowUpload
  const processingMs = num('processing-ms', v['processing-ms'], 0, 1e12)
  const fileMaxBytes = num('file-max-bytes', v['file-max-bytes'], 1, 1e12)
  if (v.storm !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(v.storm)
    if (m === null) throw new UsageError(`--storm takes START_MS:DURATION_MS, not '${v.storm}'`)
    faults.storm = { startMs: Number(m[1]), durationMs: Number(m[2]) }
  }
  const qps = num('qps', v.qps, 1, 10_000) ?? 10
  const em = await startEmulator({
    port: num('port', v.port, 0, 65535) ?? 0,
    host: v.host,
    ...(v.state !== undefined ? { stateFile: v.state } : {}),
    limits: { qps, qpm: num('qpm', v.qpm, 1, 600_000) ?? qps * 60, advertiserQps: num('advertiser-qps', v['advertiser-qps'], 1, 10_000) ?? qps },
    eventLimits: { qps: num('events-qps', v['events-qps'], 1, 100_000) ?? 1000, qpm: num('events-qpm', v['events-qpm'], 1, 6_000_000) ?? 600_000 },
    faults,
    ...(processingMs !== undefined ? { processingMs } : {}),
    ...(fileMaxBytes !== undefined ? { fileMaxBytes } : {})
  })
  io.stdout.write(`hashpipe emulator listening on ${em.url}\n`)
  io.stdout.write(`  api_base_url: ${em.apiBaseUrl}\n  auth_url:     ${em.authUrl}\n  app_id:       ${DEFAULT_APP.appId} (secret: ${DEFAULT_APP.secret})\n` +
    `  advertisers:  ${DEFAULT_ADVERTISERS.map(a => `${a.advertiserId} (${a.role})`).join(', ')}\n  preset token: ${DEFAULT_TOKEN} (for --access-token-file)\n` +
    `  rate limits:  ${em.limits.qps} QPS, ${em.limits.qpm} QPM, ${em.limits.advertiserQps} QPS per advertiser (counters: GET ${em.url}/__emulator/limits)\n`)
  if (!io.signal.aborted) await once(io.signal, 'abort')
  await em.close()
  return ExitCode.OK
}
