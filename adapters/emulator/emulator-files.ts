// Customer File audiences in the emulator: file upload (multipart, MD5 as file_signature,
// .csv/.txt, size limit), create from file paths, update with REPLACE/APPEND/REMOVE as set
// operations, TikTok's processing window (is_valid false, updates refused), one REPLACE a day,
// the 1,000-identifier minimum and 400 audiences per advertiser. Members are DigestSets (sorted
// Buffers) keyed by the upper-cased header type (EMAIL_SHA256, PHONE_SHA256, MAID_SHA256).
import { createHash, randomBytes } from 'node:crypto'
import { DigestSet } from './digest-set.js'

export class FileFail extends Error {
  constructor (readonly code: number, message: string) { super(message) }
}

export interface FileOptions {
  /** How long a new or updated audience stays is_valid=false (TikTok: up to 48 h). */
  processingMs: number
  /** Upload size limit (TikTok: 250 MB). */
  fileMaxBytes: number
  /** A file_path older than this answers 40910 (expired). */
  fileTtlMs?: number | undefined
}

interface Upload { advertiserId: string, calculateType: string, members: Map<string, DigestSet>, uploadedAt: number }
export interface FileAudience {
  audienceId: string,
  advertiserId: string,
  name: string,
  createdAt: number,
  calculateType: string
  members: Map<string, DigestSet>,
  processingUntil: number,
  processingSince: number,
  lastReplaceAt: number | undefined
}

const kUploadTypes = new Set(['EMAIL_SHA256', 'PHONE_SHA256', 'IDFA_SHA256', 'IDFA_MD5', 'GAID_SHA256', 'GAID_MD5', 'MAID_SHA256', 'MAID_MD5', 'FIRST_SHA256', 'FIRST_MD5', 'MULTIPLE_TYPES'])
const kCreateTypes = new Set(['EMAIL_SHA256', 'PHONE_SHA256', 'IDFA_SHA256', 'IDFA_MD5', 'GAID_SHA256', 'GAID_MD5', 'FIRST_SHA256', 'FIRST_MD5', 'MULTIPLE_TYPES'])
const kHeaders = new Set(['MAID', 'PHONE_SHA256', 'EMAIL_SHA256', 'MAID_SHA256', 'MAID_MD5'])
export const kMinMembers = 1000
export const kMaxAudiences = 400
const kDay = 86_400_000

/** The parts of a multipart/form-data body: text fields and file parts (name, bytes). */
export function parseMultipart (contentType: string | undefined, body: Buffer): { fields: Record<string, string>, files: Record<string, { filename: string, data: Buffer }> } {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '')
  if (m === null) throw new FileFail(40002, 'Parameter error: multipart/form-data body with a boundary is required')
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`)
  const fields: Record<string, string> = {}
  const files: Record<string, { filename: string, data: Buffer }> = {}
  let at = body.indexOf(delimiter)
  while (at >= 0) {
    const start = at + delimiter.length
    if (body.subarray(start, start + 2).toString() === '--') break
    const headEnd = body.indexOf('\r\n\r\n', start)
    const next = body.indexOf(delimiter, headEnd)
    if (headEnd < 0 || next < 0) throw new FileFail(40002, 'Parameter error: malformed multipart body')
    const head = body.subarray(start, headEnd).toString('utf8')
    const data = body.subarray(headEnd + 4, next - 2)
    const name = /name="([^"]*)"/i.exec(head)?.[1]
    const filename = /filename="([^"]*)"/i.exec(head)?.[1]
    if (name !== undefined) {
      if (filename !== undefined) files[name] = { filename, data }
      else fields[name] = data.toString('utf8')
    }
    at = next
  }
  return { fields, files }
}

const kHexValue = (() => {
  const t = new Int8Array(256).fill(-1)
  for (let c = 0; c < 10; c++) t[0x30 + c] = c
  for (let c = 0; c < 6; c++) { t[0x41 + c] = 10 + c; t[0x61 + c] = 10 + c }
  return t
})()
/** Two hex characters (the first in the low byte) to their byte; -1 where either is not hex. */
const kHexPair = (() => {
  const t = new Int16Array(65_536).fill(-1)
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      if (kHexValue[a]! >= 0 && kHexValue[b]! >= 0) t[a | (b << 8)] = (kHexValue[a]! << 4) | kHexValue[b]!
    }
  }
  return t
})()
// What String.prototype.trim() removes, as latin1 bytes.
const isSpace = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === 0xa0

/**
 * The identifiers of an uploaded file, by header type; TikTok's file rules give the codes. The
 * file is scanned as bytes (a 250 MB upload is ~3.8 M lines), in pieces as it arrives: lines as
 * split(/\r?\n/) gives them less a last empty one, cells split at commas and trimmed, SHA256
 * cells checked as 64 hex characters and decoded straight into a digest buffer. Only a line
 * split across two pieces is copied; the first error thrown is the file's.
 */
export class FileDecoder {
  readonly #type: string
  #header: string[] | undefined
  #headerRow = false
  #rows = 0
  #room: number
  #columns: Array<Buffer | undefined> = []
  #counts: number[] = []
  #carry = Buffer.allocUnsafe(256)
  #carried = 0

  /** `sizeHint`: the file's size or a bound on it; a SHA256 cell takes at least 64 bytes. */
  constructor (calculateType: string, sizeHint: number) {
    this.#type = calculateType
    this.#room = Math.floor(Math.max(0, sizeHint) / 64) + 1
  }

  write (chunk: Buffer): void {
    let from = 0
    if (this.#carried > 0) {
      const nl = chunk.indexOf(0x0a)
      this.#keep(chunk, 0, nl === -1 ? chunk.length : nl)
      if (nl === -1) return
      this.#carried = 0
      this.#line(this.#carry, 0, this.#lastCarried)
      from = nl + 1
    }
    for (let nl = chunk.indexOf(0x0a, from); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
      this.#line(chunk, from, nl)
      from = nl + 1
    }
    if (from < chunk.length) this.#keep(chunk, from, chunk.length)
  }

  end (): Map<string, DigestSet> {
    if (this.#carried > 0) { const n = this.#carried; this.#carried = 0; this.#line(this.#carry, 0, n) }
    if (this.#header === undefined || (this.#headerRow && this.#rows === 0)) throw new FileFail(40906, 'The file is empty')
    const out = new Map<string, DigestSet>()
    this.#header.forEach((h, i) => {
      if (!h.endsWith('SHA256')) return
      const type = h === 'MAID' ? 'MAID_SHA256' : h
      out.set(type, (out.get(type) ?? DigestSet.empty()).union(DigestSet.from(this.#columns[i]!.subarray(0, this.#counts[i]! * 32))))
    })
    return out
  }

  #lastCarried = 0
  #keep (src: Buffer, from: number, to: number): void {
    const need = this.#carried + to - from
    if (need > this.#carry.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.#carry.length * 2))
      this.#carry.copy(bigger, 0, 0, this.#carried)
      this.#carry = bigger
    }
    this.#carried += src.copy(this.#carry, this.#carried, from, to)
    this.#lastCarried = this.#carried
  }

  /** Room for one more digest in a column, grown by doubling where the size hint fell short. */
  #slot (cell: number): Buffer {
    const out = this.#columns[cell]!
    const o = this.#counts[cell]! * 32
    if (o + 32 <= out.length) return out
    const bigger = Buffer.allocUnsafe(out.length * 2 + 32)
    out.copy(bigger, 0, 0, o)
    this.#columns[cell] = bigger
    return bigger
  }

  /** One line: bytes `from` up to `nl` (its newline or the end of the file). */
  #line (data: Buffer, from: number, nl: number): void {
    const stop = nl > from && data[nl - 1] === 0x0d ? nl - 1 : nl
    let header = this.#header
    if (header === undefined) {
      const first = data.toString('latin1', from, stop).split(',').map(s => s.trim().toUpperCase())
      if (this.#type === 'MULTIPLE_TYPES') {
        if (!first.every(h => kHeaders.has(h))) throw new FileFail(40914, 'Invalid file: MULTIPLE_TYPES files need a header row of MAID, phone_SHA256, email_SHA256, MAID_SHA256, MAID_MD5')
        header = first
        this.#headerRow = true
      } else {
        header = [this.#type]
        // A single-type file may carry a header row; it is skipped.
        if (first.length === 1 && (kHeaders.has(first[0]!) || first[0] === this.#type)) this.#headerRow = true
      }
      this.#header = header
      this.#columns = header.map(h => h.endsWith('SHA256') ? Buffer.allocUnsafe(this.#room * 32) : undefined)
      this.#counts = header.map(() => 0)
      if (this.#headerRow) return
    }
    this.#rows++
    const wide = header.length
    // The common line of a digest file (64 hex characters) is decoded a pair of characters per
    // lookup; anything else takes the general path below.
    if (wide === 1 && nl - from === 64 && this.#columns[0] !== undefined) {
      const single = this.#slot(0)
      const o = this.#counts[0]! * 32
      let bad = 0
      for (let k = 0, q = from; k < 32; k++, q += 2) {
        const v = kHexPair[data[q]! | (data[q + 1]! << 8)]!
        bad |= v
        single[o + k] = v
      }
      if (bad >= 0) { this.#counts[0]!++; return }
    }
    if (wide > 1) {
      let fields = 1
      for (let c = data.indexOf(0x2c, from); c !== -1 && c < stop; c = data.indexOf(0x2c, c + 1)) fields++
      if (fields !== wide) throw new FileFail(40915, 'The file does not meet the specs: every row needs as many fields as the header')
    }
    let cell = 0
    for (let c = from; ; cell++) {
      // One cell: the whole line in a single-type file, else up to the next comma.
      let ce = wide === 1 ? stop : data.indexOf(0x2c, c)
      if (ce === -1 || ce > stop) ce = stop
      let a = c
      let b = ce
      while (a < b && isSpace(data[a]!)) a++
      while (b > a && isSpace(data[b - 1]!)) b--
      if (a < b && this.#columns[cell] !== undefined) {
        if (b - a !== 64) throw new FileFail(40915, 'The file does not meet the specs: a SHA256 value is not 64 hex characters')
        const out = this.#slot(cell)
        const o = this.#counts[cell]! * 32
        for (let k = 0; k < 32; k++) {
          const hi = kHexValue[data[a + 2 * k]!]!
          const lo = kHexValue[data[a + 2 * k + 1]!]!
          if (hi < 0 || lo < 0) throw new FileFail(40915, 'The file does not meet the specs: a SHA256 value is not 64 hex characters')
          out[o + k] = (hi << 4) | lo
        }
        this.#counts[cell]!++
      }
      if (ce >= stop) break
      c = ce + 1
    }
  }
}

function parseFile (data: Buffer, calculateType: string): Map<string, DigestSet> {
  const decoder = new FileDecoder(calculateType, data.length)
  decoder.write(data)
  return decoder.end()
}

const total = (m: Map<string, DigestSet>): number => [...m.values()].reduce((n, s) => n + s.size, 0)

/** A file part read as it arrived (emulator-upload.ts): its size, MD5 and decoded identifiers. */
export interface StreamedFile {
  filename: string
  size: number
  md5: () => string
  /** Throws the file's first FileFail; `calculateType` is the request's. */
  members: (calculateType: string) => Map<string, DigestSet>
}

export class FileWorld {
  readonly uploads = new Map<string, Upload>()
  readonly audiences = new Map<string, FileAudience>()
  options: FileOptions

  constructor (options: FileOptions) { this.options = options }

  upload (advertiserId: string, fields: Record<string, string>, file: { filename: string, data: Buffer } | StreamedFile | undefined): string {
    const type = fields['calculate_type']
    if (type === undefined || !kUploadTypes.has(type)) throw new FileFail(40909, 'Unsupported calculate_type')
    const signature = fields['file_signature']
    if (signature === undefined || signature === '') throw new FileFail(40002, 'Parameter error: file_signature is required')
    if (file === undefined) throw new FileFail(40905, 'The file does not exist: the file part is required')
    if (!/\.(csv|txt)$/.test(file.filename)) throw new FileFail(40908, 'Unsupported file type: the file name must end with .csv or .txt')
    const size = 'data' in file ? file.data.length : file.size
    if (size === 0) throw new FileFail(40906, 'The file is empty')
    if (size > this.options.fileMaxBytes) throw new FileFail(40907, `The file is too large: at most ${this.options.fileMaxBytes} bytes`)
    const md5 = 'data' in file ? createHash('md5').update(file.data).digest('hex') : file.md5()
    if (md5 !== signature.toLowerCase()) throw new FileFail(40900, 'The file_signature does not match the file (MD5)')
    const members = 'data' in file ? parseFile(file.data, type) : file.members(type)
    const path = randomBytes(8).toString('hex')
    this.uploads.set(path, { advertiserId, calculateType: type, members, uploadedAt: Date.now() })
    return path
  }

  #files (advertiserId: string, paths: unknown, calculateType: string, max: number): Upload[] {
    if (!Array.isArray(paths) || paths.length === 0) throw new FileFail(40002, 'Parameter error: file_paths is required')
    if (paths.length > max) throw new FileFail(40002, `Parameter error: at most ${max} file_paths`)
    return paths.map(p => {
      if (typeof p !== 'string' || p.length !== 16) throw new FileFail(40002, 'Parameter error: every file_path has 16 characters')
      const u = this.uploads.get(p)
      if (u === undefined || u.advertiserId !== advertiserId) throw new FileFail(40905, 'The file does not exist')
      if (this.options.fileTtlMs !== undefined && Date.now() - u.uploadedAt >= this.options.fileTtlMs) throw new FileFail(40910, 'The file has expired; upload it again')
      const asCreate = u.calculateType.replace(/^MAID_/, 'FIRST_')
      if (asCreate !== calculateType) throw new FileFail(40909, `The file's calculate_type ${u.calculateType} does not match ${calculateType}`)
      return u
    })
  }

  create (advertiserId: string, body: Record<string, unknown>, newId: () => string, audiencesOf: (advertiserId: string) => number): string {
    const name = body['custom_audience_name']
    if (typeof name !== 'string' || name.length === 0 || name.length > 128) throw new FileFail(40002, 'Parameter error: custom_audience_name must have 1 to 128 characters')
    const type = body['calculate_type']
    if (typeof type !== 'string' || !kCreateTypes.has(type)) throw new FileFail(40002, 'Parameter error: calculate_type')
    const files = this.#files(advertiserId, body['file_paths'], type, 500)
    if (audiencesOf(advertiserId) >= kMaxAudiences) throw new FileFail(40002, `The number of audiences of this advertiser has reached the limit of ${kMaxAudiences}; delete audiences before creating more`)
    const members = mergeAll(files)
    if (total(members) < kMinMembers) throw new FileFail(40002, `The audience must contain at least ${kMinMembers} identifiers`)
    const now = Date.now()
    const audienceId = newId()
    this.audiences.set(audienceId, { audienceId, advertiserId, name, createdAt: now, calculateType: type, members, processingSince: now, processingUntil: now + this.options.processingMs, lastReplaceAt: undefined })
    return audienceId
  }

  update (advertiserId: string, body: Record<string, unknown>): void {
    const id = body['custom_audience_id']
    const a = typeof id === 'string' ? this.audiences.get(id) : undefined
    if (a === undefined || a.advertiserId !== advertiserId) throw new FileFail(40002, 'Parameter error: invalid custom_audience_id')
    if (typeof body['custom_audience_name'] === 'string' && body['file_paths'] === undefined) { a.name = body['custom_audience_name']; return }
    const action = body['action'] ?? 'REPLACE'
    if (action !== 'REPLACE' && action !== 'APPEND' && action !== 'REMOVE') throw new FileFail(40002, 'Parameter error: action must be REPLACE, APPEND or REMOVE')
    const now = Date.now()
    if (now < a.processingUntil) throw new FileFail(40002, 'The audience is being updated or under processing; only a valid audience (is_valid=true) can be updated')
    if (action === 'REPLACE' && a.lastReplaceAt !== undefined && now - a.lastReplaceAt < kDay) {
      throw new FileFail(40002, 'An unfinished replace operation is already running; we recommend no more than one replace per day')
    }
    const files = this.#files(advertiserId, body['file_paths'], a.calculateType, Number.MAX_SAFE_INTEGER)
    const given = mergeAll(files)
    let next: Map<string, DigestSet>
    if (action === 'REPLACE') next = given
    else if (action === 'APPEND') next = merge(a.members, given)
    else next = new Map([...a.members].map(([k, s]) => [k, s.difference(given.get(k) ?? DigestSet.empty())]))
    if (total(next) < kMinMembers) throw new FileFail(40002, `The audience would hold fewer than ${kMinMembers} identifiers`)
    a.members = next
    a.processingSince = now
    a.processingUntil = now + this.options.processingMs
    if (action === 'REPLACE') a.lastReplaceAt = now
  }

  details (a: FileAudience): Record<string, unknown> {
    const n = total(a.members)
    return {
      audience_id: a.audienceId,
      name: a.name,
      type: 'Customer File',
      audience_type: 'Customer File',
      calculate_type: a.calculateType,
      cover_num: n < kMinMembers ? 0 : Math.floor(n * 0.62),
      is_valid: Date.now() >= a.processingUntil,
      is_expiring: false,
      create_time: Math.floor(a.createdAt / 1000),
      shared: false
    }
  }

  /** The inspection route's view: members as lowercase hex by type. */
  view (a: FileAudience): { audienceId: string, advertiserId: string, name: string, createdAt: number, type: 'customer_file', isValid: boolean, members: Record<string, string[]> } {
    return { audienceId: a.audienceId, advertiserId: a.advertiserId, name: a.name, createdAt: a.createdAt, type: 'customer_file', isValid: Date.now() >= a.processingUntil, members: Object.fromEntries([...a.members].map(([k, s]) => [k, s.hex()])) }
  }

  /** Persisted form (members base64); uploads are not kept, as TikTok's expire. */
  toJSON (): unknown[] {
    return [...this.audiences.values()].map(a => ({ ...a, members: Object.fromEntries([...a.members].map(([k, s]) => [k, s.buf.toString('base64')])) }))
  }

  load (list: unknown[]): void {
    for (const raw of list as Array<Omit<FileAudience, 'members'> & { members: Record<string, string> }>) {
      this.audiences.set(raw.audienceId, { ...raw, members: new Map(Object.entries(raw.members).map(([k, v]) => [k, DigestSet.from(Buffer.from(v, 'base64'))])) })
    }
  }
}

function merge (a: Map<string, DigestSet>, b: Map<string, DigestSet>): Map<string, DigestSet> {
  const out = new Map(a)
  for (const [k, s] of b) out.set(k, (out.get(k) ?? DigestSet.empty()).union(s))
  return out
}

/** The members of many uploads, by type, each type's sets joined at once. */
function mergeAll (uploads: Upload[]): Map<string, DigestSet> {
  const byType = new Map<string, DigestSet[]>()
  for (const u of uploads) for (const [k, s] of u.members) byType.set(k, [...(byType.get(k) ?? []), s])
  return new Map([...byType].map(([k, list]) => [k, DigestSet.unionAll(list)]))
}
