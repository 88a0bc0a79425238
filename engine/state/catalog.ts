// Connections, destination accounts and segments as the state knows them: what `connect`
// recorded (advertisers reached, scopes) and what activation found (role). The config file stays
// the source of truth for what should exist; these rows record what was checked and when.
import type { Database } from 'better-sqlite3'
import { StateError } from '../../pipeline/errors.js'
import { CONNECTION_NAME, type ConnectionRecord, type DestinationRecord, type SegmentRecord } from './records.js'
import { StateTable } from './state-table.js'

interface ConnectionRow { name: string, advertiser_ids: string, scopes: string, created_at: string, updated_at: string }
interface DestinationRow { name: string, advertiser_id: string, integration: string, connection: string, region: string, role: string | null, activated_at: string | null, updated_at: string }
interface SegmentRow { name: string, data_type: string, first_seen_at: string, last_seen_at: string }

export interface ConnectionInput { name: string, advertiserIds: readonly string[], scopes: readonly number[] }
export interface DestinationInput { name: string, advertiserId: string, integration: string, connection: string, region: string }

const kSql = {
  putConnection: `INSERT INTO connections (name, advertiser_ids, scopes, created_at, updated_at) VALUES (@name, @advertiser_ids, @scopes, @now, @now)
    ON CONFLICT (name) DO UPDATE SET advertiser_ids = excluded.advertiser_ids, scopes = excluded.scopes, updated_at = excluded.updated_at`,
  getConnection: 'SELECT * FROM connections WHERE name = ?',
  listConnections: 'SELECT * FROM connections ORDER BY name',
  deleteConnection: 'DELETE FROM connections WHERE name = ?',
  deactivateByConnection: 'UPDATE destinations SET role = NULL, activated_at = NULL, updated_at = @now WHERE connection = @name',
  putDestination: `INSERT INTO destinations (name, advertiser_id, integration, connection, region, updated_at) VALUES (@name, @advertiser_id, @integration, @connection, @region, @now)
    ON CONFLICT (name) DO UPDATE SET
      -- Any change to what the destination points at voids the earlier activation.
      role = CASE WHEN destinations.advertiser_id = excluded.advertiser_id AND destinations.connection = excluded.connection THEN destinations.role ELSE NULL END,
      activated_at = CASE WHEN destinations.advertiser_id = excluded.advertiser_id AND destinations.connection = excluded.connection AND destinations.integration = excluded.integration THEN destinations.activated_at ELSE NULL END,
      advertiser_id = excluded.advertiser_id, integration = excluded.integration, connection = excluded.connection, region = excluded.region, updated_at = excluded.updated_at`,
  activateDestination: 'UPDATE destinations SET role = @role, activated_at = @now, updated_at = @now WHERE name = @name',
  getDestination: 'SELECT * FROM destinations WHERE name = ?',
  listDestinations: 'SELECT * FROM destinations ORDER BY name',
  putSegment: `INSERT INTO segments (name, data_type, first_seen_at, last_seen_at) VALUES (@name, @data_type, @now, @now)
    ON CONFLICT (name) DO UPDATE SET data_type = excluded.data_type, last_seen_at = excluded.last_seen_at`,
  getSegment: 'SELECT * FROM segments WHERE name = ?',
  listSegments: 'SELECT * FROM segments ORDER BY name'
}

export class Catalog extends StateTable<keyof typeof kSql> {
  constructor (db: Database, now: () => string) {
    super(db, now, kSql)
  }

  /** Records a connection (the token itself goes to the TokenStore). */
  putConnection (c: ConnectionInput): ConnectionRecord {
    if (!CONNECTION_NAME.test(c.name)) throw new StateError('HP_ERR_STATE_INVALID', `'${c.name}' is not a valid connection name`)
    for (const id of c.advertiserIds) assertAdvertiserId(id)
    this.q.putConnection.run({ name: c.name, advertiser_ids: JSON.stringify(c.advertiserIds), scopes: JSON.stringify(c.scopes), now: this.now() })
    return this.connection(c.name)!
  }

  connection (name: string): ConnectionRecord | undefined {
    const row = this.q.getConnection.get(name) as ConnectionRow | undefined
    return row === undefined ? undefined : connectionOf(row)
  }

  connections (): ConnectionRecord[] {
    return (this.q.listConnections.all() as ConnectionRow[]).map(connectionOf)
  }

  deleteConnection (name: string): void {
    this.q.deleteConnection.run(name)
  }

  /**
   * `connections remove`: the connection's row goes, and destinations recorded with it lose
   * their activation in the same transaction (connecting again activates them anew).
   */
  removeConnection (name: string): { removed: boolean, deactivated: number } {
    return this.db.transaction(() => {
      const deactivated = this.q.deactivateByConnection.run({ name, now: this.now() }).changes
      return { removed: this.q.deleteConnection.run(name).changes > 0, deactivated }
    }).immediate()
  }

  /** Records a destination as configured; a changed advertiser or connection clears its activation. */
  putDestination (d: DestinationInput): DestinationRecord {
    assertAdvertiserId(d.advertiserId)
    this.q.putDestination.run({ name: d.name, advertiser_id: d.advertiserId, integration: d.integration, connection: d.connection, region: d.region, now: this.now() })
    return this.destination(d.name)!
  }

  /** Marks a destination's activation checks as passed, with the user's role where TikTok exposes it. */
  activateDestination (name: string, role: string | null): DestinationRecord {
    const r = this.q.activateDestination.run({ name, role, now: this.now() })
    if (r.changes === 0) throw new StateError('HP_ERR_STATE_MISSING', `no destination '${name}' is recorded; record it with putDestination first`)
    return this.destination(name)!
  }

  destination (name: string): DestinationRecord | undefined {
    const row = this.q.getDestination.get(name) as DestinationRow | undefined
    return row === undefined ? undefined : destinationOf(row)
  }

  destinations (): DestinationRecord[] {
    return (this.q.listDestinations.all() as DestinationRow[]).map(destinationOf)
  }

  putSegment (name: string, dataType: string): SegmentRecord {
    this.q.putSegment.run({ name, data_type: dataType, now: this.now() })
    return this.segment(name)!
  }

  segment (name: string): SegmentRecord | undefined {
    const row = this.q.getSegment.get(name) as SegmentRow | undefined
    return row === undefined ? undefined : segmentOf(row)
  }

  segments (): SegmentRecord[] {
    return (this.q.listSegments.all() as SegmentRow[]).map(segmentOf)
  }
}

export function assertAdvertiserId (id: unknown): asserts id is string {
  if (typeof id !== 'string' || !/^\d{19}$/.test(id)) {
    throw new StateError('HP_ERR_STATE_INVALID', `advertiser id must be a string of exactly 19 digits (got ${typeof id === 'string' ? `${id.length} characters` : typeof id})`)
  }
}

const connectionOf = (r: ConnectionRow): ConnectionRecord => ({
  name: r.name,
  advertiserIds: JSON.parse(r.advertiser_ids) as string[],
  scopes: JSON.parse(r.scopes) as number[],
  createdAt: r.created_at,
  updatedAt: r.updated_at
})

const destinationOf = (r: DestinationRow): DestinationRecord => ({
  name: r.name,
  advertiserId: r.advertiser_id,
  integration: r.integration,
  connection: r.connection,
  region: r.region,
  role: r.role,
  activatedAt: r.activated_at,
  updatedAt: r.updated_at
})

const segmentOf = (r: SegmentRow): SegmentRecord => ({ name: r.name, dataType: r.data_type, firstSeenAt: r.first_seen_at, lastSeenAt: r.last_seen_at })
