// The emulator's world: apps, advertisers, users' roles, auth codes, tokens and partner
// audiences with their members. Optionally persisted to a JSON file (temp + fsync + rename) so a
// demo survives restarts. Ids are 19-digit strings, as TikTok's.
import { randomBytes } from 'node:crypto'
import { FileWorld, type FileOptions } from './emulator-files.js'
import { openSync, writeSync, fsyncSync, closeSync, renameSync, readFileSync, existsSync } from 'node:fs'
import type { EmulatorAdGroup } from './emulator-reporting.js'
import { EventStore } from './event-store.js'
import { ShardedSet } from './sharded-set.js'

export interface EmulatorApp { appId: string, secret: string }
export interface EmulatorAdvertiser {
  advertiserId: string
  name: string
  role: 'ADMIN' | 'OPERATOR' | 'ANALYST'
  /** ISO 4217; USD when absent. */
  currency?: string
  /** IANA zone the account reports in; Etc/GMT (TikTok's UTC) when absent. */
  timezone?: string
}
export interface EmulatorToken { token: string, appId: string, advertiserIds: string[], scopes: number[], revoked: boolean, calls: number }
export interface EmulatorAudience { audienceId: string, advertiserId: string, name: string, createdAt: number, members: Record<string, string[]>, type?: 'customer_file', isValid?: boolean }

export interface EmulatorSeed {
  apps?: EmulatorApp[]
  advertisers?: EmulatorAdvertiser[]
  /** Tokens usable without the OAuth flow (tests, demo). */
  tokens?: Array<Omit<EmulatorToken, 'calls' | 'revoked'>>
}

export const DEFAULT_APP: EmulatorApp = { appId: '7000000000000000001', secret: 'emulator-secret' }
export const DEFAULT_ADVERTISERS: EmulatorAdvertiser[] = [
  { advertiserId: '7123456789012345678', name: 'Emulated Advertiser', role: 'ADMIN' },
  { advertiserId: '7123456789012345679', name: 'Emulated Analyst Account', role: 'ANALYST' }
]
export const DEFAULT_TOKEN = 'emulator-token'
export const kAllScopes = [1, 3, 10, 15, 30, 31, 32]

export class EmulatorState {
  apps = new Map<string, EmulatorApp>()
  advertisers = new Map<string, EmulatorAdvertiser>()
  tokens = new Map<string, EmulatorToken>()
  codes = new Map<string, { appId: string, expires: number, used: boolean }>()
  audiences = new Map<string, { audienceId: string, advertiserId: string, name: string, createdAt: number, members: Map<string, ShardedSet> }>()
  /** Identifiers received by mapping adds per partner audience, re-sent ones included (tests see re-sends). */
  received = new Map<string, number>()
  /** Ad groups with their daily delivery, for /adgroup/get/ and /report/integrated/get/ (tests shape them). */
  adGroups = new Map<string, EmulatorAdGroup>()
  /** Offline events by (event_source_id, event_id, event): TikTok's dedupe key. */
  readonly events = new EventStore()
  eventsReceived = 0
  duplicatesDropped = 0
  /** Customer File audiences and uploaded files. */
  readonly files: FileWorld
  #nextAudience = 1800000000000000000n
  readonly #file: string | undefined

  constructor (seed: EmulatorSeed = {}, file?: string, fileOptions: FileOptions = { processingMs: 0, fileMaxBytes: 250_000_000 }) {
    this.#file = file
    this.files = new FileWorld(fileOptions)
    for (const a of seed.apps ?? [DEFAULT_APP]) this.apps.set(a.appId, a)
    for (const a of seed.advertisers ?? DEFAULT_ADVERTISERS) this.advertisers.set(a.advertiserId, a)
    const appId = [...this.apps.keys()][0]!
    for (const t of seed.tokens ?? [{ token: DEFAULT_TOKEN, appId, advertiserIds: [...this.advertisers.keys()], scopes: kAllScopes }]) {
      this.tokens.set(t.token, { ...t, revoked: false, calls: 0 })
    }
    if (file !== undefined && existsSync(file)) this.#load(file)
  }

  newCode (appId: string): string {
    const code = randomBytes(16).toString('hex')
    this.codes.set(code, { appId, expires: Date.now() + 3600_000, used: false })
    return code
  }

  newToken (appId: string): EmulatorToken {
    const t: EmulatorToken = { token: randomBytes(20).toString('hex'), appId, advertiserIds: [...this.advertisers.keys()], scopes: kAllScopes, revoked: false, calls: 0 }
    this.tokens.set(t.token, t)
    this.save()
    return t
  }

  /** Audience ids are one sequence for both kinds, as at TikTok. */
  nextAudienceId (): string { return String(this.#nextAudience++) }

  /** Audiences of both kinds the advertiser holds (TikTok's limit is 400). */
  audienceCount (advertiserId: string): number {
    return [...this.audiences.values(), ...this.files.audiences.values()].filter(a => a.advertiserId === advertiserId).length
  }

  createAudience (advertiserId: string, name: string): string {
    const audienceId = this.nextAudienceId()
    this.audiences.set(audienceId, { audienceId, advertiserId, name, createdAt: Date.now(), members: new Map() })
    this.save()
    return audienceId
  }

  /** A read-only copy for the inspection route and tests: partner audiences, then customer-file ones. */
  snapshot (): EmulatorAudience[] {
    const partner = [...this.audiences.values()].map(a => ({
      audienceId: a.audienceId,
      advertiserId: a.advertiserId,
      name: a.name,
      createdAt: a.createdAt,
      members: Object.fromEntries([...a.members].map(([k, v]) => [k, [...v].sort()]))
    }))
    return [...partner, ...[...this.files.audiences.values()].map(a => this.files.view(a))]
  }

  save (): void {
    if (this.#file === undefined) return
    const data = JSON.stringify({ nextAudience: String(this.#nextAudience), audiences: this.snapshot().filter(a => a.type === undefined), fileAudiences: this.files.toJSON(), tokens: [...this.tokens.values()] })
    const tmp = `${this.#file}.tmp-${process.pid}`
    const fd = openSync(tmp, 'w', 0o600)
    try { writeSync(fd, data); fsyncSync(fd) } finally { closeSync(fd) }
    renameSync(tmp, this.#file)
  }

  #load (file: string): void {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { nextAudience: string, audiences: EmulatorAudience[], fileAudiences?: unknown[], tokens: EmulatorToken[] }
    this.files.load(data.fileAudiences ?? [])
    this.#nextAudience = BigInt(data.nextAudience)
    for (const a of data.audiences) {
      this.audiences.set(a.audienceId, { ...a, members: new Map(Object.entries(a.members).map(([k, v]) => [k, new ShardedSet(v)])) })
    }
    for (const t of data.tokens) this.tokens.set(t.token, t)
  }
}
