// One conversions entry: its inputs read row by row, each row built into an event or rejected,
// duplicates (same event_id and event) skipped, the rest cut into batches and sent through an
// EventsApi, each batch recorded in the state DB before it leaves and when TikTok acknowledges
// it. A run killed anywhere resumes from its ledger: only batches in flight are sent again.
import { hash } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import type { Readable } from 'node:stream'
import { setImmediate as turn } from 'node:timers/promises'
import hyperid from 'hyperid'
import { readRows } from '../../adapters/conversion-rows.js'
import { checkReadable } from '../../adapters/file-source.js'
import { expandInputs } from '../../adapters/input-paths.js'
import { createEventBuilder, type ConversionField, type ConversionRejectReason, type TikTokEvent } from '../../pipeline/conversion-event.js'
import { DigestTable } from '../../pipeline/digest-table.js'
import { HashpipeError, InputError, InterruptedError } from '../../pipeline/errors.js'
import { csvCell } from '../cli-values.js'
import type { ConversionConfig, ResolvedConfig } from '../config.js'
import { crashpoint } from '../distribute/crashpoint.js'
import { fingerprintChange, fingerprintInputs } from '../distribute/input-fingerprint.js'
import type { StateStore } from '../state/state-store.js'

export interface EventsApi {
  track: (eventSourceId: string, events: TikTokEvent[]) => Promise<{ rejected: Array<{ index: number, apiCode: number }>, requests: number }>
}

export interface ConversionResult {
  name: string
  eventSourceId: string
  runId: string | undefined
  resumed: boolean
  dryRun: boolean
  read: number
  /** Events TikTok acknowledged in this run (or, in a dry run, that would be sent). */
  sent: number
  /** Events of batches an interrupted run had already delivered. */
  alreadySent: number
  duplicates: number
  rejected: Partial<Record<ConversionRejectReason, number>>
  rejectedTotal: number
  requests: number
  batches: number
  seconds: number
}

/** A batch TikTok answered: its ledger index and the events it took. */
interface Answered { index: number, sent: number }

export interface SendOptions {
  dryRun: boolean
  restart: boolean
  stdin: Readable
  signal?: AbortSignal
  /** CSV of rejects (file, line, field, reason, api_code); never a value. */
  rejects?: RejectsFile
  onProgress?: (r: ConversionResult) => void
  onEvents?: (outcome: 'sent' | 'rejected' | 'duplicate', reason: string, n: number) => void
  nowS?: () => number
}

export class RejectsFile {
  readonly #out: WriteStream
  constructor (path: string) {
    this.#out = createWriteStream(path, { mode: 0o600 })
    this.#out.write('file,line,field,reason,api_code\n')
  }

  write (file: string, line: number, field: string, reason: string, apiCode = ''): void {
    this.#out.write(`${csvCell(file)},${line},${field},${reason},${apiCode}\n`)
  }

  async close (): Promise<void> {
    await new Promise<void>((resolve, reject) => { this.#out.end((err?: Error | null) => { if (err != null) reject(err); else resolve() }) })
  }
}

const ids = hyperid({ urlSafe: true })

export async function sendConversions (config: ResolvedConfig, state: StateStore | undefined, api: EventsApi | undefined, entry: ConversionConfig, options: SendOptions): Promise<ConversionResult> {
  const t0 = performance.now()
  const nowS = options.nowS ?? (() => Math.floor(Date.now() / 1000))
  // Directories and globs are expanded once, here: the fingerprint covers the files read.
  entry = { ...entry, inputs: await expandInputs(entry.inputs, `conversions '${entry.name}' inputs`) }
  for (const input of entry.inputs) await checkReadable(input)
  const fromStdin = entry.inputs.includes('-')
  const fingerprint = fromStdin ? null : await fingerprintInputs(entry.inputs)

  let runId: string | undefined
  let resumed = false
  let referenceTime = nowS()
  if (!options.dryRun) {
    const open = state!.conversions.unfinished(entry.name)
    if (open !== undefined) {
      const change = open.fingerprint === null || fingerprint === null ? 'stdin cannot be compared' : fingerprintChange(open.fingerprint, fingerprint)
      if (options.restart || open.fingerprint === null) {
        state!.conversions.finish(open.id, 'abandoned', open.counts)
      } else if (change !== undefined) {
        throw new InputError('HP_ERR_INPUT_CHANGED', `conversions '${entry.name}': the input changed since the interrupted run ${open.id} (${change}); sending it as a continuation could skip or repeat events — run again with --restart to send the current input from the start (TikTok dedupes events already sent by event_id)`, { file: entry.inputs[0]! })
      } else {
        runId = open.id
        referenceTime = open.referenceTime
        resumed = true
      }
    }
    if (runId === undefined) {
      runId = ids()
      state!.conversions.start({ id: runId, name: entry.name, eventSourceId: entry.eventSourceId, referenceTime, fingerprint })
    }
  }

  const r: ConversionResult = {
    name: entry.name,
    eventSourceId: entry.eventSourceId,
    runId,
    resumed,
    dryRun: options.dryRun,
    read: 0,
    sent: 0,
    alreadySent: 0,
    duplicates: 0,
    rejected: {},
    rejectedTotal: 0,
    requests: 0,
    batches: 0,
    seconds: 0
  }
  const reject = (file: string, line: number, field: string, reason: ConversionRejectReason, apiCode?: number): void => {
    r.rejected[reason] = (r.rejected[reason] ?? 0) + 1
    r.rejectedTotal++
    options.rejects?.write(file, line, field, reason, apiCode === undefined ? '' : String(apiCode))
    options.onEvents?.('rejected', reason, 1)
  }
  const build = createEventBuilder({ eventSourceId: entry.eventSourceId, defaultEvent: entry.event, lookbackDays: entry.lookbackDays, normalize: config.normalize })
  // Exact in-run dedupe: 16 bytes of SHA-256 per distinct event, off the heap (DigestTable).
  const seen = new DigestTable()
  // The mapped columns' keys, once: a row's cells are looked up, not the mapping rebuilt per row.
  const mapped = (Object.entries(entry.columns) as Array<[ConversionField, string]>).map(([f, h]) => [f, h.trim().toLowerCase()] as const)
  let batch: TikTokEvent[] = []
  let where: Array<{ file: string, line: number }> = []
  let batchIndex = 0
  let lastProgress = 0
  // Up to entry.inflight batches are pending in the ledger and unacknowledged at any moment:
  // those sent and unanswered (`sending`), plus those answered whose acknowledgement is not yet
  // committed (`answers`). A kill sends exactly these again; TikTok dedupes them by event_id.
  const sending = new Map<number, Promise<void>>()
  let answers: Answered[] = []
  let ackTimer: NodeJS.Timeout | undefined
  let failure: { error: unknown } | undefined
  const interrupted = (): InterruptedError => new InterruptedError(`interrupted; conversions '${entry.name}' sent ${r.sent} event(s) in this run and resumes when run again`)
  const throwIfFailed = (): void => { if (failure !== undefined) throw failure.error }

  /**
   * Commits the answers that came (each batch's acknowledgement on its own row, in whatever
   * order TikTok answered) and, when given, the next batch's pending mark: one transaction, one
   * fsync (the ledger's main-thread cost) for both.
   */
  const commit = (pending?: { index: number, count: number, checksum: string }): void => {
    clearTimeout(ackTimer)
    ackTimer = undefined
    const done = answers
    answers = []
    if (done.length === 0 && pending === undefined) return
    state!.transaction(() => {
      for (const a of done) state!.conversions.markAcked(runId!, a.index, a.sent)
      if (pending !== undefined) state!.conversions.markPending(runId!, pending.index, pending.count, pending.checksum)
    })
    for (const a of done) acknowledged(a)
  }
  // An answer waits at most this long for the next batch's commit before it is committed alone
  // (a slow input, the last batches).
  const kAckDelayMs = 100
  const answered = (a: Answered): void => {
    answers.push(a)
    ackTimer ??= setTimeout(() => {
      try { commit() } catch (err) { failure ??= { error: err } }
    }, kAckDelayMs)
  }

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return
    const index = batchIndex++
    r.batches++
    const events = batch
    const at = where
    batch = []
    where = []
    if (options.dryRun) { r.sent += events.length; return }
    const checksum = hash('sha256', events.map(e => `${e.event}\u0000${e.event_id}`).join('\n'), 'hex')
    const ledger = state!.conversions.batch(runId!, index)
    if (ledger?.status === 'acked') {
      if (ledger.checksum !== checksum) {
        throw new InputError('HP_ERR_INPUT_CHANGED', `conversions '${entry.name}': batch ${index} holds other events than the interrupted run sent (the input or the time rules changed); run again with --restart`, { file: at[0]!.file, line: at[0]!.line })
      }
      r.alreadySent += ledger.sent
      return
    }
    // Reading and hashing go on while earlier batches are out; the limiter, not TikTok's
    // latency, sets the pace. A full window waits for an answer, whose acknowledgement is then
    // committed with this batch's pending mark, so a slot is taken only as one is freed.
    throwIfFailed()
    while (answers.length === 0 && sending.size >= entry.inflight) {
      await Promise.race(sending.values())
      throwIfFailed()
    }
    commit({ index, count: events.length, checksum })
    crashpoint('conversions-batch-pending')
    if (options.signal?.aborted === true) throw interrupted()
    const send = async (): Promise<Answered> => {
      const out = await api!.track(entry.eventSourceId, events)
      crashpoint('conversions-batch-sent')
      r.requests += out.requests
      for (const x of out.rejected) reject(at[x.index]!.file, at[x.index]!.line, '', 'tiktok_rejected', x.apiCode)
      return { index, sent: events.length - out.rejected.length }
    }
    // Settles (never rejects) when TikTok answered or the request failed; the failure stops the
    // next flush, and the batch stays pending in the ledger.
    sending.set(index, send().then(a => { sending.delete(index); answered(a) }, (err: unknown) => { sending.delete(index); failure ??= { error: err } }))
  }
  const acknowledged = (a: Answered): void => {
    crashpoint('conversions-batch-acked')
    r.sent += a.sent
    options.onEvents?.('sent', '', a.sent)
  }
  /** Waits for every batch out and commits their answers; one that arrives after a failure is recorded too. */
  const settle = async (): Promise<void> => {
    while (sending.size > 0) {
      await Promise.race(sending.values())
      commit()
    }
    commit()
  }

  try {
    for (const file of entry.inputs) {
      let checked = false
      for await (const rows of readRows(file, options.stdin, entry.format, entry.delimiter)) {
        for (const row of rows) {
          r.read++
          // A block of input is a mebibyte, ~14,000 rows, ~170 ms of normalizing and hashing, and
          // an await that resolves at once (a flush with room) runs no timer: the requests waiting
          // for the limiter would leave that much late, and TikTok's windows not be filled (91 %
          // of the quota in the conversions bench). Every 64 rows (under 1 ms) timers and sockets
          // get their turn: a request the limiter lets go is written within that, and TikTok's
          // windows, counted from the writes, lose no more. (256 rows, 3 ms, still cost 2 %.)
          if ((r.read & 63) === 0) await turn()
          if ('malformed' in row) { reject(file, row.line, '', 'row_malformed'); continue }
          if (!checked) {
            checked = true
            const missing = mapped.filter(([, h]) => !row.cells.has(h)).map(([f]) => [f, entry.columns[f]!] as const)
            // Keyed formats may leave a key out of a row; a header that lacks a column never has it.
            if (missing.length > 0 && !/\.(nd)?json(l)?(\.gz)?$/i.test(file) && entry.format !== 'ndjson' && entry.format !== 'json') {
              throw new InputError('HP_ERR_INPUT_NO_COLUMNS', `conversions '${entry.name}': the header row of '${file}' has no column ${missing.map(([f, h]) => `'${h}' (columns.${f})`).join(', ')}; fix columns: in the config to match the header`, { file, line: 1 })
            }
          }
          const cells: Partial<Record<ConversionField, string>> = {}
          for (let c = 0; c < mapped.length; c++) {
            const v = row.cells.get(mapped[c]![1])
            if (v !== undefined) cells[mapped[c]![0]] = v
          }
          const b = build(cells, referenceTime)
          if (!b.ok) { reject(file, row.line, b.field, b.reason); continue }
          if (!seen.add(hash('sha256', `${b.event.event}\u0000${b.event.event_id}`, 'buffer'))) { r.duplicates++; options.onEvents?.('duplicate', '', 1); continue }
          batch.push(b.event)
          where.push({ file, line: row.line })
          if (batch.length >= entry.batchSize) await flush()
          if (options.onProgress !== undefined && performance.now() - lastProgress > 1000) {
            lastProgress = performance.now()
            options.onProgress({ ...r, seconds: (performance.now() - t0) / 1000 })
          }
          if (options.signal?.aborted === true) throw interrupted()
        }
      }
    }
    await flush()
    await settle()
    throwIfFailed()
  } catch (err) {
    // The batches in flight settle first: an acknowledgement that arrives is recorded.
    await settle().catch(() => {})
    if (runId !== undefined && err instanceof HashpipeError) state!.conversions.setError(runId, { code: err.code, message: err.message }, counts(r))
    throw err
  }
  r.seconds = (performance.now() - t0) / 1000
  if (runId !== undefined) state!.conversions.finish(runId, 'succeeded', counts(r))
  return r
}

export function counts (r: ConversionResult): Record<string, number> {
  const out: Record<string, number> = { read: r.read, sent: r.sent, already_sent: r.alreadySent, duplicates: r.duplicates, rejected: r.rejectedTotal, requests: r.requests }
  for (const [k, v] of Object.entries(r.rejected)) out[`rejected_${k}`] = v
  return out
}
