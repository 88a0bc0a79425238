// Delivery to a customer-file audience: the run's plan (or, for --replace, its whole snapshot)
// is written as upload files, uploaded, and applied with one create (first load) and updates.
//
//   write    one file per id type and cut, a MULTIPLE_TYPES header row naming the type, then
//            one lowercase-hex SHA-256 per line; split at tiktok.file_max_bytes; fsynced, and
//            every file recorded (MD5, size, id count) in one transaction before any upload
//   upload   a few at a time under the client's rate limiter, streamed from disk; each file is
//            marked 'uploading' before its request and its file_path recorded after the answer,
//            before the path is used — a crash re-uploads only the file in flight
//   create   once, ever: the name is recorded before the call and TikTok is asked for a
//            customer-file audience of that name first, so a lost answer is recovered, not repeated
//   update   the rest in calls of at most 50 paths (APPEND, REMOVE; REPLACE first for --replace),
//            each marked applied after TikTok answered; TikTok refuses updates while it processes
//            the audience, so the run waits up to --wait-processing and otherwise stops, resumable
//
// APPEND and REMOVE are set operations and a run's adds and removes are disjoint, so a call
// repeated after a crash (its answer lost) changes nothing.
import { createHash } from 'node:crypto'
import { mkdir, open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { HashpipeError, ExitCode, UsageError } from '../../pipeline/errors.js'
import { ID_SCHEMAS, type IdSchema } from '../../pipeline/protocol.js'
import { Snapshot } from '../../adapters/snapshot.js'
import type { StateStore } from '../state/state-store.js'
import type { UploadFile } from '../state/upload-files.js'
import type { Metrics } from '../metrics.js'
import type { Logger } from '../logger.js'
import type { AudienceApi, FileAction, FileAudienceApi } from './audience-api.js'
import { crashpoint } from './crashpoint.js'

export interface DeliverFilesOptions {
  state: StateStore
  api: AudienceApi
  runId: string
  distId: number
  advertiserId: string
  /** The segment's name: the audience's name at TikTok. */
  name: string
  runDir: string
  plans: { snapshot: string, adds: string, removes: string }
  recordSync: boolean
  mode: 'normal' | 'rebuild' | 'recreate'
  replace: boolean
  waitProcessingMs: number
  fileMaxBytes: number
  resumeCommand: string
  metrics?: Metrics
  log?: Logger
  signal?: AbortSignal
  /** Identifiers in applied files of all the run's files, after each create or update. */
  onApplied?: (applied: number, total: number) => void
}

export interface FilesOutcome { audienceId: string, delivered: { add: number, delete: number } }

/** TikTok refuses an audience (or an update leaving one) below this many identifiers. */
export const kMinAudience = 1000
const kMaxPaths = 50
const kUploadsInFlight = 3
const kReplaceEveryMs = 24 * 3_600_000
/** The header TikTok's MULTIPLE_TYPES files name each id type by; IDFA and AAID are both MAIDs there. */
const kHeader: Record<IdSchema, string> = { EMAIL_SHA256: 'email_SHA256', PHONE_SHA256: 'phone_SHA256', IDFA_SHA256: 'MAID_SHA256', AAID_SHA256: 'MAID_SHA256' }
const kLine = 65
const kHexDigits = Buffer.from('0123456789abcdef', 'latin1')
const kFileExpired = 40910
/** A file whose path keeps expiring is not uploaded forever. */
const kMaxUploads = 4

const sumIds = (files: UploadFile[], pick: (f: UploadFile) => boolean): number => files.filter(pick).reduce((n, f) => n + f.ids, 0)

export async function deliverFiles (o: DeliverFilesOptions): Promise<FilesOutcome> {
  const { state, runId, advertiserId } = o
  const api = o.api.files
  if (api === undefined) throw new HashpipeError('HP_ERR_REFUSED', 'this TikTok connection has no customer-file API (a bug; please report it)')
  if (o.mode === 'recreate') {
    throw new UsageError(`segment '${o.name}': --recreate-audience is not supported for audience_type customer_file; to refresh the whole audience use ${o.resumeCommand} --replace`)
  }
  let files = state.uploads.list(runId)
  if (files.length === 0) files = await writeFiles(o)
  const filesDir = join(o.runDir, 'files')

  await uploadPending(o, api, files.filter(f => f.status === 'written' || f.status === 'uploading'))
  files = state.uploads.list(runId)

  const known = state.distributions.get(o.distId)
  let audienceId = known.audienceId
  if (audienceId === null) audienceId = await createOnce(o, api, files)
  else if (known.processingSince !== null) {
    // status shows cover_num again once TikTok is done; a failed read changes nothing.
    const info = await api.info(advertiserId, audienceId).catch(() => undefined)
    if (info?.isValid === true) state.distributions.setProcessing(o.distId, null)
  }
  const applied = (): void => {
    const all = state.uploads.list(runId)
    o.onApplied?.(sumIds(all, f => f.status === 'applied'), sumIds(all, () => true))
  }
  applied()
  for (;;) {
    files = state.uploads.list(runId)
    const pending = files.filter(f => f.status !== 'applied')
    if (pending.length === 0) break
    await whenValid(o, api, audienceId)
    const first = pending[0]!
    const replaceFirst = first.action === 'REPLACE' && !files.some(f => f.action === 'REPLACE' && f.status === 'applied')
    const group = pending.filter(f => f.action === first.action).slice(0, kMaxPaths)
    // The REPLACE swaps the data once; the snapshot's files beyond its first 50 are added to it.
    const action: FileAction = first.action === 'REPLACE' ? (replaceFirst ? 'REPLACE' : 'APPEND') : first.action
    if (!await retryExpired(o, api, group, async paths => { await api.update(advertiserId, audienceId!, action, paths) })) continue
    crashpoint('after-update')
    state.uploads.applied(runId, group.map(f => f.seq), () => {
      state.distributions.setProcessing(o.distId)
      if (action === 'REPLACE') state.distributions.setReplaced(o.distId)
    })
    o.log?.info({ action, files: group.length }, 'customer-file update applied')
    applied()
    crashpoint('between-updates')
  }
  files = state.uploads.list(runId)
  await rm(filesDir, { recursive: true, force: true })
  return {
    audienceId,
    delivered: { add: sumIds(files, f => f.action !== 'REMOVE'), delete: sumIds(files, f => f.action === 'REMOVE') }
  }
}

/** Writes and records the run's upload files; every refusal comes before any TikTok call and closes the run. */
async function writeFiles (o: DeliverFilesOptions): Promise<UploadFile[]> {
  const dist = o.state.distributions.get(o.distId)
  // A refusal that a flag of the command answers is a usage error (exit 2); the others exit 1.
  const refuse = async (message: string, usage = false): Promise<never> => {
    o.state.runs.finish(o.runId, 'failed', { error: { code: 'HP_ERR_REFUSED', message: 'customer-file update refused' } })
    await rm(o.runDir, { recursive: true, force: true })
    throw usage ? new UsageError(message) : new HashpipeError('HP_ERR_REFUSED', message)
  }
  const snapshot = await Snapshot.open(o.plans.snapshot)
  const total = ID_SCHEMAS.reduce((n, s) => n + snapshot.count(s), 0)
  if (total < kMinAudience) {
    await refuse(`segment '${o.name}' holds ${total} identifiers; TikTok refuses customer-file audiences (and updates leaving one) below ${kMinAudience}. Add identifiers, or use audience_type: partner for small segments`)
  }
  const replace = o.replace && dist.audienceId !== null
  if (replace && dist.lastReplaceAt !== null && Date.now() - Date.parse(dist.lastReplaceAt) < kReplaceEveryMs) {
    const next = new Date(Date.parse(dist.lastReplaceAt) + kReplaceEveryMs).toISOString()
    await refuse(`segment '${o.name}': audience ${dist.audienceId} was last replaced at ${dist.lastReplaceAt}; TikTok allows about one REPLACE a day. Run without --replace (APPEND/REMOVE files), or with --replace after ${next}`, true)
  }
  const sources: Array<[string, FileAction]> = replace ? [[o.plans.snapshot, 'REPLACE']] : [[o.plans.adds, 'APPEND'], ...(o.recordSync ? [[o.plans.removes, 'REMOVE'] as [string, FileAction]] : [])]
  const dir = join(o.runDir, 'files')
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const out: Array<Pick<UploadFile, 'action' | 'idSchema' | 'name' | 'md5' | 'bytes' | 'ids'>> = []
  // One write in flight while the next lines are hexed into the other of two buffers, and each
  // file's fsync runs while the next file is written; all of them end before the files are recorded.
  const pending = (p: Promise<unknown>): Promise<unknown> => { p.catch(() => {}); return p }
  let inFlight: Promise<unknown> = Promise.resolve()
  const syncs: Array<Promise<unknown>> = []
  const buffers: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0)]
  let flip = 0
  for (const [source, action] of sources) {
    const plan = await Snapshot.open(source)
    for (const schema of ID_SCHEMAS) {
      if (plan.count(schema) === 0) continue
      const header = Buffer.from(`${kHeader[schema]}\n`)
      const perFile = Math.floor((o.fileMaxBytes - header.length) / kLine)
      let file: { fd: Awaited<ReturnType<typeof open>>, name: string, md5: ReturnType<typeof createHash>, ids: number } | undefined
      const close = (): void => {
        if (file === undefined) return
        const { fd } = file
        syncs.push(pending(inFlight.then(async () => { await fd.sync() }).finally(async () => { await fd.close() })))
        out.push({ action, idSchema: schema, name: file.name, md5: file.md5.digest('hex'), bytes: header.length + file.ids * kLine, ids: file.ids })
        file = undefined
      }
      for await (const chunk of plan.records(schema)) {
        for (let at = 0; at < chunk.byteLength;) {
          if (file === undefined) {
            const name = join(dir, `${String(out.length).padStart(4, '0')}-${action.toLowerCase()}.csv`)
            file = { fd: await open(name, 'w', 0o600), name, md5: createHash('md5'), ids: 0 }
            file.md5.update(header)
            await file.fd.write(header)
          }
          const take = Math.min(perFile - file.ids, (chunk.byteLength - at) / 32)
          if (buffers[flip]!.length < take * kLine) buffers[flip] = Buffer.allocUnsafe(take * kLine)
          const lines = buffers[flip]!.subarray(0, take * kLine)
          flip ^= 1
          // Hex by table straight into the line buffer: no string per chunk or per digest.
          for (let i = 0, src = at, dst = 0; i < take; i++, dst++) {
            for (let k = 0; k < 32; k++, src++, dst += 2) {
              const b = chunk[src]!
              lines[dst] = kHexDigits[b >> 4]!
              lines[dst + 1] = kHexDigits[b & 15]!
            }
            lines[dst] = 0x0a
          }
          file.md5.update(lines)
          await inFlight
          inFlight = pending(file.fd.write(lines))
          file.ids += take
          at += take * 32
          if (file.ids === perFile) close()
        }
      }
      close()
    }
  }
  await inFlight
  await Promise.all(syncs)
  o.state.uploads.record(o.runId, out)
  crashpoint('after-files-written')
  o.log?.info({ files: out.length, bytes: out.reduce((n, f) => n + f.bytes, 0) }, 'upload files written')
  return o.state.uploads.list(o.runId)
}

async function uploadPending (o: DeliverFilesOptions, api: FileAudienceApi, pending: UploadFile[]): Promise<void> {
  const queue = [...pending]
  const worker = async (): Promise<void> => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      if (o.signal?.aborted === true) throw new HashpipeError('HP_ERR_ABORTED', `interrupted; the run is resumable, to continue run: ${o.resumeCommand}`, ExitCode.INTERRUPTED)
      o.state.uploads.uploading(o.runId, f.seq)
      crashpoint('before-file-upload')
      const t0 = performance.now()
      let path: string
      try {
        path = await api.upload(o.advertiserId, { path: f.name, name: `hashpipe-${String(f.seq).padStart(4, '0')}.csv`, bytes: f.bytes, md5: f.md5 })
      } catch (err) {
        o.metrics?.uploadFiles.inc({ outcome: 'failed' })
        o.metrics?.uploadSeconds.inc({ outcome: 'failed' }, (performance.now() - t0) / 1000)
        throw err
      }
      crashpoint('after-file-upload')
      o.state.uploads.uploaded(o.runId, f.seq, path)
      o.metrics?.uploadFiles.inc({ outcome: 'ok' })
      o.metrics?.uploadBytes.inc({ outcome: 'ok' }, f.bytes)
      o.metrics?.uploadSeconds.inc({ outcome: 'ok' }, (performance.now() - t0) / 1000)
    }
  }
  await Promise.all(Array.from({ length: Math.min(kUploadsInFlight, queue.length) }, worker))
}

/**
 * Runs a create or update with the group's file paths; an expired path (40910) is uploaded
 * again and the call repeated. Returns false when the group changed (re-read the files).
 */
async function retryExpired (o: DeliverFilesOptions, api: FileAudienceApi, group: UploadFile[], call: (paths: string[]) => Promise<void>): Promise<boolean> {
  try {
    await call(group.map(f => f.filePath!))
    return true
  } catch (err) {
    if ((err as { apiCode?: number }).apiCode !== kFileExpired) throw err
    if (group.some(f => f.uploads >= kMaxUploads)) {
      throw new HashpipeError('HP_ERR_API_TERMINAL', `TikTok reports file paths expired (40910) right after ${kMaxUploads} uploads of the same file; the uploaded files are recorded and the run is resumable — run again later: ${o.resumeCommand}`, ExitCode.FAILED, { cause: err })
    }
    o.log?.warn({ files: group.length }, 'TikTok no longer knows some uploaded file paths (40910); uploading those files again')
    for (const f of group) o.state.uploads.expired(o.runId, f.seq)
    o.metrics?.uploadFiles.inc({ outcome: 'expired' }, group.length)
    await uploadPending(o, api, o.state.uploads.list(o.runId).filter(f => group.some(g => g.seq === f.seq)))
    return false
  }
}

async function createOnce (o: DeliverFilesOptions, api: FileAudienceApi, files: UploadFile[]): Promise<string> {
  const { state, distId, advertiserId } = o
  const found = await api.find(advertiserId, o.name)
  if (found.length > 1) {
    throw new HashpipeError('HP_ERR_REFUSED', `ad account ${advertiserId} holds ${found.length} customer-file audiences named '${o.name}' (${found.join(', ')}); hashpipe cannot tell which one is this segment's. Delete the extra ones in TikTok Ads Manager, then run distribute again`)
  }
  if (found.length === 1) {
    // A create whose answer was lost: the rest of the files go in by APPEND (a set operation,
    // so the ones the create carried are harmless to send again).
    state.distributions.setAudienceId(distId, found[0]!, 'customer_file')
    state.distributions.setProcessing(distId)
    return found[0]!
  }
  state.distributions.recordAudienceRequest(distId, o.name)
  for (;;) {
    const group = state.uploads.list(o.runId).filter(f => f.status === 'uploaded' && f.action === 'APPEND').slice(0, kMaxPaths)
    let id: string | undefined
    crashpoint('before-create-audience')
    try {
      const done = await retryExpired(o, api, group, async paths => { id = await api.create(advertiserId, o.name, paths) })
      if (!done) continue
    } catch (err) {
      if (/\b400\b/.test((err as Error).message) && /limit/i.test((err as Error).message)) {
        throw new HashpipeError('HP_ERR_REFUSED', `ad account ${advertiserId} has reached TikTok's limit of 400 audiences per advertiser; delete audiences it no longer needs in TikTok Ads Manager, then run: ${o.resumeCommand}`, ExitCode.FAILED, { cause: err })
      }
      throw err
    }
    crashpoint('after-create-audience')
    state.uploads.applied(o.runId, group.map(f => f.seq), () => {
      state.distributions.setAudienceId(distId, id!, 'customer_file')
      state.distributions.setProcessing(distId)
    })
    o.log?.info({ audience_id: id, files: group.length, of: files.length }, 'customer-file audience created')
    return id!
  }
}

/** TikTok updates only a valid audience: waits up to --wait-processing, else stops resumable (exit 5). */
async function whenValid (o: DeliverFilesOptions, api: FileAudienceApi, audienceId: string): Promise<void> {
  const deadline = Date.now() + o.waitProcessingMs
  for (;;) {
    const info = await api.info(o.advertiserId, audienceId)
    if (info === undefined) {
      throw new HashpipeError('HP_ERR_REFUSED', `TikTok no longer knows audience ${audienceId} of segment '${o.name}' (deleted or expired); deliver to a new destination name to create a new one`)
    }
    if (info.isValid) {
      o.state.distributions.setProcessing(o.distId, null)
      o.state.distributions.setMatchedReach(o.distId, info.coverNum)
      return
    }
    const since = o.state.distributions.get(o.distId).processingSince
    if (since === null) o.state.distributions.setProcessing(o.distId)
    const left = deadline - Date.now()
    if (left <= 0) {
      throw new HashpipeError('HP_ERR_API_UNAVAILABLE', `TikTok is still processing audience ${audienceId} (since ${since ?? 'now'}; it takes up to 48 h) and refuses updates until it is done; the uploaded files are recorded and the run is resumable — run again in an hour or two: ${o.resumeCommand} (or wait here: --wait-processing 2h)`, ExitCode.DESTINATION_UNAVAILABLE)
    }
    await sleep(Math.min(left, Math.max(200, Math.min(30_000, o.waitProcessingMs / 20))))
  }
}
