// Request handling for the emulator: TikTok's validation and codes, per endpoint.
import type { IncomingHttpHeaders } from 'node:http'
import type { EmulatorState, EmulatorToken } from './emulator-state.js'
import type { EmulatorFaults } from './emulator.js'
import { adGroupGet, integratedReport, ReportFail } from './emulator-reporting.js'
import { trackEvents } from './emulator-events.js'
import { ShardedSet } from './sharded-set.js'
import { FileFail, parseMultipart } from './emulator-files.js'
import type { StreamedMultipart } from './emulator-upload.js'

export interface Reply { status: number, body?: { code: number, message: string, request_id: string, data: unknown }, redirect?: string, headers?: Record<string, string> }

export interface RouteContext {
  state: EmulatorState
  faults: EmulatorFaults
  overLimit: (advertiserId: string | undefined) => number | undefined
  overEventLimit: () => number | undefined
  requestId: string
  scheduleSave: () => void
}

const kPrefix = '/open_api/v1.3'
const kSchemas = new Set(['EMAIL_SHA256', 'PHONE_SHA256', 'IDFA_SHA256', 'AAID_SHA256', 'IDFA_MD5', 'AAID_MD5'])
const kMaxRows = 1000
const kHex64 = /^[0-9a-f]{64}$/
const kDigits = /^\d{1,20}$/
const kBcId = '7300000000000000001'

class Fail extends Error {
  constructor (readonly code: number, message: string) { super(message) }
}

function jsonList (v: string | null, name: string): string[] {
  if (v === null) throw new Fail(40002, `Parameter error: ${name} is required`)
  let parsed: unknown
  try { parsed = JSON.parse(v) } catch { throw new Fail(40002, `Parameter error: ${name} must be a JSON-encoded list`) }
  if (!Array.isArray(parsed) || !parsed.every(x => typeof x === 'string' && kDigits.test(x))) throw new Fail(40002, `Parameter error: ${name} must be a list of id strings`)
  return parsed as string[]
}

function idString (v: unknown, name: string): string {
  if (typeof v !== 'string' || !kDigits.test(v)) throw new Fail(40002, `Parameter error: ${name} must be a string of digits`)
  return v
}

function coverNum (members: number): number {
  return members < 1000 ? 0 : Math.floor(members * 0.62)
}

export function handleApi (ctx: RouteContext, method: string, url: URL, headers: IncomingHttpHeaders, rawBody: string, raw: Buffer = Buffer.from(rawBody), multipart?: StreamedMultipart | FileFail): Reply | Promise<Reply> {
  const { state } = ctx
  const ok = (data: unknown = {}): Reply => ({ status: 200, body: { code: 0, message: 'OK', request_id: ctx.requestId, data } })
  const q = url.searchParams
  try {
    if (url.pathname === '/__emulator/audiences' && method === 'GET') {
      return { status: 200, body: { code: 0, message: 'OK', request_id: ctx.requestId, data: { audiences: state.snapshot() } } }
    }
    if (url.pathname === '/__emulator/events' && method === 'GET') {
      return { status: 200, body: { code: 0, message: 'OK', request_id: ctx.requestId, data: { events: [...state.events.values()].map(e => ({ event_source_id: e.eventSourceId, ...e.event })), received: state.eventsReceived, duplicates_dropped: state.duplicatesDropped } } }
    }
    if (url.pathname === '/portal/auth' && method === 'GET') {
      const appId = q.get('app_id') ?? ''
      const redirect = q.get('redirect_uri')
      if (!state.apps.has(appId) || redirect === null) return { status: 400, body: { code: 40101, message: 'unknown app_id or missing redirect_uri', request_id: ctx.requestId, data: {} } }
      const target = new URL(redirect)
      target.searchParams.set('auth_code', state.newCode(appId))
      target.searchParams.set('state', q.get('state') ?? '')
      return { status: 302, redirect: target.toString() }
    }
    if (!url.pathname.startsWith(kPrefix)) return { status: 404, body: { code: 40006, message: '404 page not found', request_id: ctx.requestId, data: {} } }
    const path = url.pathname.slice(kPrefix.length)
    let body: Record<string, unknown> = {}
    let upload: ReturnType<typeof parseMultipart> | StreamedMultipart | undefined
    if (method === 'POST' && /multipart\/form-data/i.test(headers['content-type'] ?? '')) {
      if (multipart instanceof FileFail) throw multipart
      upload = multipart ?? parseMultipart(headers['content-type'], raw)
      body = upload.fields
    } else if (method === 'POST') {
      try { body = JSON.parse(rawBody === '' ? '{}' : rawBody) as Record<string, unknown> } catch { throw new Fail(40000, 'invalid JSON body') }
    }
    const advertiserForLimit = typeof body['advertiser_id'] === 'string' ? body['advertiser_id'] : Array.isArray(body['advertiser_ids']) ? String(body['advertiser_ids'][0]) : q.get('advertiser_id') ?? undefined
    const limited = path === '/event/track/' ? ctx.overEventLimit() : ctx.overLimit(advertiserForLimit)
    if (limited !== undefined) throw new Fail(limited, limited === 40100 ? 'Too many requests. Please retry in some time.' : 'Too many requests for this advertiser.')

    if (path === '/oauth2/access_token/' && method === 'POST') {
      const app = state.apps.get(String(body['app_id'] ?? ''))
      if (app === undefined || body['secret'] !== app.secret) throw new Fail(40101, 'app_id or secret invalid')
      const code = state.codes.get(String(body['auth_code'] ?? ''))
      if (code === undefined || code.used || code.expires < Date.now() || code.appId !== app.appId) throw new Fail(40110, 'auth_code invalid: used, expired or unknown')
      code.used = true
      const t = state.newToken(app.appId)
      return ok({ access_token: t.token, advertiser_ids: t.advertiserIds, scope: t.scopes })
    }

    const token = authenticate(ctx, headers)
    switch (`${method} ${path}`) {
      case 'GET /oauth2/advertiser/get/': {
        const app = state.apps.get(q.get('app_id') ?? '')
        if (app === undefined || q.get('secret') !== app.secret) throw new Fail(40101, 'app_id or secret invalid')
        return ok({ list: token.advertiserIds.map(id => ({ advertiser_id: id, advertiser_name: state.advertisers.get(id)?.name ?? '' })) })
      }
      case 'GET /user/info/':
        return ok({ core_user_id: '7400000000000000001', display_name: 'Emulated User', email: '' })
      case 'GET /advertiser/info/': {
        const ids = jsonList(q.get('advertiser_ids'), 'advertiser_ids')
        for (const id of ids) if (!token.advertiserIds.includes(id)) throw new Fail(40001, `No permission to operate advertiser ${id}`)
        return ok({ list: ids.map(id => { const a = state.advertisers.get(id); return { advertiser_id: id, name: a?.name ?? '', status: 'STATUS_ENABLE', role: 'ROLE_ADVERTISER', currency: a?.currency ?? 'USD', timezone: a?.timezone ?? 'Etc/GMT' } }) })
      }
      case 'GET /adgroup/get/':
      case 'GET /report/integrated/get/': {
        const advertiserId = idString(q.get('advertiser_id'), 'advertiser_id')
        if (!token.advertiserIds.includes(advertiserId)) throw new Fail(40001, `No permission to operate advertiser ${advertiserId}`)
        const advertiser = state.advertisers.get(advertiserId) ?? { advertiserId }
        try {
          if (path === '/adgroup/get/') return ok(adGroupGet(state.adGroups.values(), advertiser, q))
          const r = integratedReport(state.adGroups.values(), advertiser, q)
          return { ...ok(r.data), ...(r.truncated ? { headers: { 'x-tt-ads-throttle': 'true' } } : {}) }
        } catch (err) {
          if (err instanceof ReportFail) throw new Fail(err.code, err.message)
          throw err
        }
      }
      case 'GET /bc/get/':
        return ok({ list: [{ bc_info: { bc_id: kBcId, name: 'Emulated Business Center' } }] })
      case 'GET /bc/asset/get/': {
        if (q.get('bc_id') !== kBcId) throw new Fail(40002, 'Parameter error: bc_id')
        const list = token.advertiserIds.map(id => state.advertisers.get(id)).filter(a => a !== undefined)
          .map(a => ({ asset_id: a.advertiserId, asset_name: a.name, asset_type: 'ADVERTISER', advertiser_role: a.role }))
        return ok({ list, page_info: { page: 1, page_size: 50, total_number: list.length, total_page: 1 } })
      }
      case 'POST /segment/audience/': {
        const advertiserId = idString(body['advertiser_id'], 'advertiser_id')
        reach(token, advertiserId, 31)
        if ((body['action'] ?? 'create') === 'delete') {
          const id = idString(body['delete_audience_id'], 'delete_audience_id')
          const a = state.audiences.get(id)
          if (a === undefined || a.advertiserId !== advertiserId) throw new Fail(40002, 'Parameter error: invalid audience ID')
          state.audiences.delete(id)
          ctx.scheduleSave()
          return ok({})
        }
        const raw = body['custom_audience_name']
        if (typeof raw !== 'string' || raw.length === 0) throw new Fail(40002, 'Parameter error: custom_audience_name is required')
        const name = raw.length > 70 ? `${raw.slice(0, 67)}...` : raw
        return ok({ audience_id: state.createAudience(advertiserId, name) })
      }
      case 'POST /event/track/':
        // Checked in slices that let other requests in (emulator-events.ts): a promise.
        return trackEvents(ctx.state, ctx.faults.poisonEventId, body, (code, message) => new Fail(code, message)).then(() => ok({}), (err: unknown) => {
          if (err instanceof Fail) return { status: 200, body: { code: err.code, message: err.message, request_id: ctx.requestId, data: {} } }
          throw err
        })
      case 'POST /segment/mapping/':
        mappingRequest(ctx, token, body)
        return ok({})
      case 'POST /dmp/custom_audience/file/upload/': {
        const advertiserId = idString(body['advertiser_id'], 'advertiser_id')
        reach(token, advertiserId, 31)
        return ok({ file_path: state.files.upload(advertiserId, body as Record<string, string>, upload?.files['file']) })
      }
      case 'POST /dmp/custom_audience/create/': {
        const advertiserId = idString(body['advertiser_id'], 'advertiser_id')
        reach(token, advertiserId, 31)
        const id = state.files.create(advertiserId, body, () => state.nextAudienceId(), a => state.audienceCount(a))
        ctx.scheduleSave()
        return ok({ custom_audience_id: id })
      }
      case 'POST /dmp/custom_audience/update/': {
        const advertiserId = idString(body['advertiser_id'], 'advertiser_id')
        reach(token, advertiserId, 31)
        state.files.update(advertiserId, body)
        ctx.scheduleSave()
        return ok({})
      }
      case 'POST /dmp/custom_audience/delete/': {
        const advertiserId = idString(body['advertiser_id'], 'advertiser_id')
        reach(token, advertiserId, 31)
        const ids = body['custom_audience_ids']
        if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100) throw new Fail(40002, 'Parameter error: custom_audience_ids must list 1 to 100 ids')
        for (const id of ids) {
          const a = state.audiences.get(String(id)) ?? state.files.audiences.get(String(id))
          if (a === undefined || a.advertiserId !== advertiserId) throw new Fail(40002, 'Parameter error: invalid audience ID')
        }
        for (const id of ids) { state.audiences.delete(String(id)); state.files.audiences.delete(String(id)) }
        ctx.scheduleSave()
        return ok({})
      }
      case 'GET /dmp/custom_audience/get/': {
        const advertiserId = idString(q.get('advertiser_id'), 'advertiser_id')
        reach(token, advertiserId, 30)
        const ids = jsonList(q.get('custom_audience_ids'), 'custom_audience_ids')
        const list = ids.map(id => {
          const f = state.files.audiences.get(id)
          if (f !== undefined && f.advertiserId === advertiserId) return { audience_details: state.files.details(f), audience_history: [] }
          const a = state.audiences.get(id)
          if (a === undefined || a.advertiserId !== advertiserId) throw new Fail(40002, 'Parameter error: invalid audience ID')
          return { audience_details: details(a), audience_history: [] }
        })
        return ok({ list })
      }
      case 'GET /dmp/custom_audience/list/': {
        const advertiserId = idString(q.get('advertiser_id'), 'advertiser_id')
        reach(token, advertiserId, 30)
        const page = pageParam(q.get('page'), 'page', 1, Number.MAX_SAFE_INTEGER, 1)
        const size = pageParam(q.get('page_size'), 'page_size', 1, 100, 10)
        const all = [...[...state.audiences.values()].filter(a => a.advertiserId === advertiserId).map(details),
          ...[...state.files.audiences.values()].filter(a => a.advertiserId === advertiserId).map(a => state.files.details(a))]
        return ok({ list: all.slice((page - 1) * size, page * size), page_info: { page, page_size: size, total_number: all.length, total_page: Math.max(1, Math.ceil(all.length / size)) } })
      }
      default:
        return { status: 404, body: { code: 40006, message: '404 page not found', request_id: ctx.requestId, data: {} } }
    }
  } catch (err) {
    if (err instanceof Fail || err instanceof FileFail) return { status: 200, body: { code: err.code, message: err.message, request_id: ctx.requestId, data: {} } }
    throw err
  }
}

/** TikTok's paging parameters: whole numbers in range, or 40002. */
function pageParam (v: string | null, name: string, min: number, max: number, fallback: number): number {
  if (v === null) return fallback
  const n = Number(v)
  if (!/^\d+$/.test(v) || n < min || n > max) throw new Fail(40002, `Parameter error: ${name} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`)
  return n
}

function details (a: { audienceId: string, name: string, createdAt: number, members: Map<string, ShardedSet> }): Record<string, unknown> {
  const members = [...a.members.values()].reduce((n, s) => n + s.size, 0)
  return { audience_id: a.audienceId, name: a.name, type: 'Partner', audience_type: 'Partner', cover_num: coverNum(members), is_valid: true, is_expiring: false, create_time: Math.floor(a.createdAt / 1000), shared: false }
}

function authenticate (ctx: RouteContext, headers: IncomingHttpHeaders): EmulatorToken {
  const value = headers['access-token']
  if (typeof value !== 'string' || value === '') throw new Fail(40104, 'Access token is empty; set the Access-Token header')
  const token = ctx.state.tokens.get(value)
  if (token === undefined || token.revoked) throw new Fail(40105, 'Access token is invalid or has been revoked')
  token.calls++
  if (ctx.faults.revokeTokenAfter !== undefined && token.calls > ctx.faults.revokeTokenAfter) {
    token.revoked = true
    throw new Fail(40105, 'Access token is invalid or has been revoked')
  }
  return token
}

function reach (token: EmulatorToken, advertiserId: string, scope: number): void {
  if (!token.advertiserIds.includes(advertiserId)) throw new Fail(40001, `No permission to operate advertiser ${advertiserId}`)
  if (!token.scopes.includes(scope)) throw new Fail(40001, `No permission: scope ${scope} not granted`)
}

function mappingRequest (ctx: RouteContext, token: EmulatorToken, body: Record<string, unknown>): void {
  const advertisers = body['advertiser_ids']
  if (!Array.isArray(advertisers) || advertisers.length === 0) throw new Fail(40002, 'Parameter error: advertiser_ids is required')
  for (const a of advertisers) reach(token, idString(a, 'advertiser_ids[]'), 31)
  const action = body['action'] ?? 'add'
  if (action !== 'add' && action !== 'delete') throw new Fail(40002, 'Parameter error: action must be add or delete')
  const schemas = body['id_schema']
  if (!Array.isArray(schemas) || schemas.length === 0 || schemas.some(s => typeof s !== 'string' || !kSchemas.has(s.toUpperCase())) || new Set(schemas).size !== schemas.length) {
    throw new Fail(40002, 'Parameter error: id_schema must list distinct supported id types')
  }
  const rows = body['batch_data']
  if (!Array.isArray(rows) || rows.length === 0) throw new Fail(40002, 'Parameter error: batch_data is required')
  if (rows.length > kMaxRows) throw new Fail(40011, `Too many ids in one request: ${rows.length} rows, at most ${kMaxRows}`)
  const ops: Array<[string, string, string]> = []
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== schemas.length) throw new Fail(40002, 'Parameter error: every batch_data row must have one element per id_schema entry')
    row.forEach((el: unknown, i: number) => {
      if (el === null || typeof el !== 'object') throw new Fail(40002, 'Parameter error: batch_data elements must be objects')
      const e = el as { id?: unknown, audience_ids?: unknown }
      if (e.id === undefined && e.audience_ids === undefined) return
      const schema = String(schemas[i]).toUpperCase()
      if (typeof e.id !== 'string' || (schema.endsWith('SHA256') && !kHex64.test(e.id))) throw new Fail(40002, 'Parameter error: invalid id in batch_data')
      if (e.id === ctx.faults.poisonId) throw new Fail(40002, 'Parameter error: invalid id in batch_data')
      if (!Array.isArray(e.audience_ids) || e.audience_ids.length === 0) throw new Fail(40002, 'Parameter error: audience_ids is required in batch_data')
      for (const id of e.audience_ids) {
        if (ctx.state.files.audiences.has(String(id))) throw new Fail(40002, 'Parameter error: audience is a Customer File audience; /segment/mapping/ maps identifiers into partner audiences only')
        const a = ctx.state.audiences.get(idString(id, 'audience_ids[]'))
        if (a === undefined || !advertisers.includes(a.advertiserId)) throw new Fail(40002, 'Parameter error: invalid audience ID')
        ops.push([a.audienceId, schema, e.id])
      }
    })
  }
  // Validated whole before applying: a failed request changes nothing.
  for (const [audienceId, schema, id] of ops) {
    const a = ctx.state.audiences.get(audienceId)!
    let set = a.members.get(schema)
    if (set === undefined) { set = new ShardedSet(); a.members.set(schema, set) }
    if (action === 'add') {
      set.add(id)
      ctx.state.received.set(audienceId, (ctx.state.received.get(audienceId) ?? 0) + 1)
    } else set.delete(id)
  }
  ctx.scheduleSave()
}
