// Sends a run's plan to TikTok in batches of batch_size, one id schema per request, adds before
// deletes, several requests in flight (the TikTok client's limiter paces them). Every batch is
// recorded pending in the ledger before it is sent and acked after TikTok answers; batches acked
// by an earlier attempt of the same run are skipped, so a resumed run re-sends only what was in
// flight when it stopped.
//
// The plan's files are read through Snapshot.records, which yields no chunk before its checksum
// matched (the caller also verified the plan whole before the first batch): a damaged plan
// stops the delivery with HP_ERR_SNAPSHOT_CORRUPT before any of its damaged chunk leaves.
import { createHash } from 'node:crypto'
import { HashpipeError } from '../../pipeline/errors.js'
import { DIGEST_BYTES, ID_SCHEMAS, type IdSchema } from '../../pipeline/protocol.js'
import type { Snapshot } from '../../adapters/snapshot.js'
import type { StateStore } from '../state/state-store.js'
import type { Metrics } from '../metrics.js'
import { forBatch, type Logger } from '../logger.js'
import type { AudienceApi, MappingAction } from './audience-api.js'
import { crashpoint } from './crashpoint.js'

export interface DeliverPlanOptions {
  state: StateStore
  api: AudienceApi
  runId: string
  advertiserId: string
  audienceId: string
  batchSize: number
  inflight: number
  plans: Array<[MappingAction, Snapshot | undefined]>
  /** The command that resumes the run, named when it is interrupted. */
  resumeCommand?: string
  metrics?: Metrics
  signal?: AbortSignal
  log?: Logger
  batchId?: () => string
  /** Identifiers TikTok acknowledged in this run (earlier attempts included) of the plan's total, after each batch. */
  onSent?: (acked: number, total: number) => void
}

export interface DeliveryOutcome { delivered: { add: number, delete: number }, poisoned: number }

function hexDigests (bytes: Uint8Array): string[] {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
  const out = new Array<string>(bytes.byteLength / DIGEST_BYTES)
  for (let i = 0; i < out.length; i++) out[i] = hex.slice(i * 64, i * 64 + 64)
  return out
}

export async function deliverPlan (o: DeliverPlanOptions): Promise<DeliveryOutcome> {
  const { state, api, runId } = o
  let poisoned = 0
  // Identifiers sent but not yet acknowledged: what a crash right now would send again.
  let unacked = 0
  const window: Array<Promise<void>> = []
  // The plan's size, kept with the run: status shows a running delivery's position against it.
  const total = o.plans.reduce((n, [, plan]) => n + (plan === undefined ? 0 : ID_SCHEMAS.reduce((m, s) => m + plan.count(s), 0)), 0)
  state.runs.putCheckpoint(runId, 'deliver_total', total)
  let acked = state.ledger.totals(runId).reduce((n, t) => n + t.ackedIdentifiers, 0)
  o.onSent?.(acked, total)

  const send = async (action: MappingAction, idSchema: IdSchema, batchIndex: number, bytes: Uint8Array): Promise<void> => {
    const count = bytes.byteLength / DIGEST_BYTES
    const key = { runId, idSchema, action, batchIndex }
    const checksum = createHash('sha256').update(bytes).digest('hex').slice(0, 16)
    state.ledger.sending({ ...key, firstOffset: batchIndex * o.batchSize, count, checksum })
    o.metrics?.checkpointLag.set(unacked += count)
    crashpoint('after-batch-recorded')
    const r = await api.mapping(o.advertiserId, o.audienceId, action, idSchema, hexDigests(bytes))
    crashpoint('after-batch-sent')
    state.ledger.acked(key, { key: 'progress', value: { idSchema, action, batchIndex } })
    o.metrics?.checkpointLag.set(unacked -= count)
    o.onSent?.(acked += count, total)
    if (o.log !== undefined) forBatch(o.log, { batchId: o.batchId?.() ?? `${idSchema}-${action}-${batchIndex}`, seq: batchIndex }).debug({ id_schema: idSchema, action, count, poisoned: r.poisoned.length }, 'batch acknowledged')
    crashpoint('after-batch-ack')
    poisoned += r.poisoned.length
    o.metrics?.deliveredIdentifiers.inc({ operation: action, id_schema: idSchema }, count - r.poisoned.length)
  }

  const dispatch = async (job: Promise<void>): Promise<void> => {
    job.catch(() => {})
    window.push(job)
    if (window.length >= o.inflight) await window.shift()!
  }

  try {
    for (const [action, plan] of o.plans) {
      if (plan === undefined) continue
      for (const idSchema of ID_SCHEMAS) {
        if (plan.count(idSchema) === 0) continue
        const acked = state.ledger.ackedIndexes(runId, idSchema, action)
        const batchBytes = o.batchSize * DIGEST_BYTES
        let batch = new Uint8Array(batchBytes)
        let fill = 0
        let index = 0
        const flush = async (): Promise<void> => {
          if (o.signal?.aborted === true) throw new HashpipeError('HP_ERR_ABORTED', `interrupted; the run is resumable, to continue run: ${o.resumeCommand ?? 'hashpipe distribute --config FILE'}`)
          if (!acked.has(index)) await dispatch(send(action, idSchema, index, batch.subarray(0, fill)))
          index++
          batch = new Uint8Array(batchBytes)
          fill = 0
        }
        for await (const chunk of plan.records(idSchema)) {
          for (let at = 0; at < chunk.byteLength;) {
            const take = Math.min(batchBytes - fill, chunk.byteLength - at)
            batch.set(chunk.subarray(at, at + take), fill)
            fill += take
            at += take
            if (fill === batchBytes) await flush()
          }
        }
        if (fill > 0) await flush()
      }
    }
    while (window.length > 0) await window.shift()!
  } finally {
    await Promise.allSettled(window)
  }
  const totals = state.ledger.totals(runId)
  const delivered = { add: 0, delete: 0 }
  for (const t of totals) delivered[t.action] += t.ackedIdentifiers
  return { delivered, poisoned }
}
