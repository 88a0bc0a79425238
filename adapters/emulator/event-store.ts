// The emulator's stored offline events, deduplicated on TikTok's key (event_source_id, event_id,
// event), held off the JavaScript heap: the keys as 16-byte SHA-256 prefixes in a DigestTable,
// the events as JSON in an append-only log of large Buffers, parsed only when inspected. A
// million events kept as parsed objects in a Map are some ten million heap objects; collecting
// them paused the emulator's event loop for up to 400 ms in the conversions bench, and the Map's
// rehash when it doubled for 200 ms more. The emulator stamps a request's arrival on that loop,
// so a pause stamped the requests that arrived during it late, a sliding second then seemed to
// hold one request more than it did, and the sender got a 40100 it had not earned.
import { createHash } from 'node:crypto'
import { DigestTable } from '../../pipeline/digest-table.js'

export interface StoredEvent { eventSourceId: string, event: Record<string, unknown> }

const kChunk = 16 << 20

export class EventStore {
  readonly #keys = new DigestTable()
  /** Filled chunks, each cut to its records (u32 source id bytes, u32 JSON bytes, source id, JSON array of events); then the one being filled. */
  readonly #log: Buffer[] = []
  #chunk = Buffer.alloc(0)
  #at = 0

  get size (): number { return this.#keys.size }

  /**
   * Stores the events of one request whose keys are not there yet (nor earlier in the list), as
   * one record: one JSON text per request, not per event, keeps the emulator's own work per
   * request (and the delay it adds to the stamps of requests arriving meanwhile) small. Returns
   * how many were stored.
   */
  addAll (eventSourceId: string, events: Array<{ key: string, event: Record<string, unknown> }>): number {
    const kept = events.filter(e => this.#keys.add(createHash('sha256').update(e.key).digest())).map(e => e.event)
    if (kept.length > 0) this.#append(eventSourceId, JSON.stringify(kept))
    return kept.length
  }

  #append (sourceId: string, json: string): void {
    const k = Buffer.byteLength(sourceId)
    const j = Buffer.byteLength(json)
    const need = 8 + k + j
    if (this.#at + need > this.#chunk.length) {
      if (this.#at > 0) this.#log.push(this.#chunk.subarray(0, this.#at))
      this.#chunk = Buffer.allocUnsafe(Math.max(kChunk, need))
      this.#at = 0
    }
    const c = this.#chunk
    c.writeUInt32LE(k, this.#at)
    c.writeUInt32LE(j, this.#at + 4)
    c.write(sourceId, this.#at + 8)
    c.write(json, this.#at + 8 + k)
    this.#at += need
  }

  * values (): IterableIterator<StoredEvent> {
    for (const c of [...this.#log, this.#chunk.subarray(0, this.#at)]) {
      for (let at = 0; at < c.length;) {
        const k = c.readUInt32LE(at)
        const j = c.readUInt32LE(at + 4)
        const eventSourceId = c.toString('utf8', at + 8, at + 8 + k)
        for (const event of JSON.parse(c.toString('utf8', at + 8 + k, at + 8 + k + j)) as Array<Record<string, unknown>>) yield { eventSourceId, event }
        at += 8 + k + j
      }
    }
  }
}
