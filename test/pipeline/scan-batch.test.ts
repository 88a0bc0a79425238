// The native scanner (pipeline/native/scan_batch.cc) is a port of BatchProcessor's JavaScript
// loop: every batch must give the very same result both ways — digests in the same order, the
// same counts, the same reject records — over generated batches full of what real files hold:
// messy cells, quoting, CRLF, non-ASCII text, every reject reason, and every option.
import t from 'tap'
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { isUtf8 } from 'node:buffer'
import { BatchProcessor } from '../../pipeline/batch-processor.js'
import { nativeScanBatch } from '../../pipeline/native-scan.js'
import { nativeAddon, describeNativeStatus } from '../../pipeline/native-hash.js'
import type { BatchResult, BatchTask, ColumnPlan, WorkerOptions } from '../../pipeline/protocol.js'

let seed = 77
const rnd = (): number => { seed = (seed * 48271) % 2147483647; return seed / 2147483647 }
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(rnd() * 10))).join('')
const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('')

const kSpace = ['', ' ', '  ', '\t', '\u00a0', '\ufeff', '\v']
const pad = (s: string): string => `${rnd() < 0.3 ? pick(kSpace) : ''}${s}${rnd() < 0.3 ? pick(kSpace) : ''}`
const mixCase = (s: string): string => [...s].map(c => (rnd() < 0.3 ? c.toUpperCase() : c)).join('')

function email (): string {
  const local = pick(['jane', 'john.doe', 'a', 'x+tag', 'j.a.n.e', 'o\'brien', 'ünïcode', 'ΑΒΓ', 'Straße', '', 'a b'])
  const domain = pick(['gmail.com', 'GoogleMail.com', 'example.co.uk', 'b.c', 'no-dot', '.lead.com', 'trail.com.', 'do..uble.com', 'x.İ.com', 'ex\u0001ample.com', 'ex\u007fample.com'])
  return pick([
    `${local}@${domain}`, `${local}@${domain}`, `${local}@${domain}`,
    `${local}@@${domain}`, `@${domain}`, `${local}`, `${local}@`, hex(64), hex(64).toUpperCase(), hex(63), `${'a'.repeat(250)}@b.com`, ''
  ])
}

function phone (): string {
  const ten = rnd() < 0.7 ? `${2 + Math.floor(rnd() * 8)}${digits(2)}${2 + Math.floor(rnd() * 8)}${digits(6)}` : digits(10)
  const [a, b, c] = [ten.slice(0, 3), ten.slice(3, 6), ten.slice(6)]
  return pick([ten, `(${a}) ${b}-${c}`, `${a}.${b}.${c}`, `1-${a}-${b}-${c}`, `+1${ten}`, `+1 (${a}) ${b}-${c}`, `001${ten}`, `00 1 ${ten}`, `00+1${ten}`,
    `+44 20 7946 0${digits(3)}`, `020 7946 0${digits(3)}`, `+${digits(11)}`, `${digits(9)}`, `${a} ${b} ${c} x12`, `${a}/${b}/${c}`, '555-0123', `+1${ten}５`, '0', '00', '+', ''])
}

function maid (): string {
  const u = `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`
  // One byte swapped for a neighbour of the hex ranges ('/', ':', '@', 'G', '`', 'g'...) or a dash.
  const at = Math.floor(rnd() * 36)
  const near = `${u.slice(0, at)}${pick(['/', ':', '@', 'G', '`', 'g', '-', '[', 'Z', '0', 'F', '{'])}${u.slice(at + 1)}`
  return pick([u, u.toUpperCase(), '00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-00000000000O', u.slice(1), `${u}0`, u.replace('-', '_'), `${u.slice(0, 35)}g`, near, near.toUpperCase(), ''])
}

function hashCell (): string { return pick([hex(64), hex(64).toUpperCase(), hex(64).slice(1), `${hex(63)}z`, '', 'not-a-hash']) }

const kCells: Record<string, () => string> = { email, phone, maid, email_sha256: hashCell }

/** A CSV/TSV cell as a writer might quote it (or not), or a broken one. */
function quote (value: string, delim: string, quoting: boolean): string {
  const r = rnd()
  if (!quoting) return value.replaceAll('\t', ' ').replaceAll('\n', ' ')
  if (r < 0.1) return `"${value.replaceAll('"', '""')}"`
  if (r < 0.13) return `"${value}\nsecond line"`
  if (r < 0.14) return `"${value}"junk`
  if (r < 0.15) return `x"${value}`
  if (value.includes(delim) || value.includes('"') || value.includes('\n')) return `"${value.replaceAll('"', '""')}"`
  return value
}

function batch (format: 'csv' | 'tsv' | 'lines', columns: string[], rows: number, delimiter?: number): string {
  const delim = format === 'tsv' ? '\t' : delimiter !== undefined ? String.fromCharCode(delimiter) : ','
  let out = ''
  for (let i = 0; i < rows; i++) {
    const r = rnd()
    if (r < 0.01) { out += '\n'; continue }
    if (r < 0.015) { out += `${'z'.repeat(300)}\n`; continue }
    if (r < 0.02 && format === 'csv') { out += '"unterminated,\n'; continue }
    let cells = columns.map(c => pad(rnd() < 0.1 ? mixCase(kCells[c]!()) : kCells[c]!()))
    if (format === 'lines') cells = cells.slice(0, 1)
    if (rnd() < 0.03) cells = cells.slice(0, Math.floor(rnd() * cells.length))
    out += cells.map(c => format === 'lines' ? c.replaceAll('\n', ' ') : quote(c, delim, format === 'csv')).join(delim)
    out += rnd() < 0.2 ? '\r\n' : '\n'
  }
  // Half the batches end without a final newline, as the last batch of a file may.
  return rnd() < 0.5 ? out : out.replace(/\r?\n$/, '')
}

const base: WorkerOptions = { defaultCountry: 'US', phoneHashForm: 'e164', emailCanonicalize: 'none', stripPlusTag: false, maxRecordBytes: 256, includeValues: false }

function task (text: string, plan: ColumnPlan, seq: number): BatchTask {
  const bytes = Buffer.from(text)
  const buffer = new ArrayBuffer(bytes.length)
  new Uint8Array(buffer).set(bytes)
  return { seq, input: 0, buffer, byteLength: bytes.length, firstByte: 1000, plan }
}

function comparable (r: BatchResult): unknown {
  return {
    rows: r.rows,
    lines: r.lines,
    count: r.count,
    digests: Buffer.from(r.digests, 0, r.count * 32).toString('hex'),
    schemas: Buffer.from(r.schemas, 0, r.count).toString('hex'),
    seen: r.seen,
    valid: r.valid,
    empty: r.empty,
    rejected: r.rejected,
    rejects: r.rejects
  }
}

t.test('the native scanner is loaded (required when CI is set)', async t => {
  if (nativeScanBatch === undefined && process.env.CI !== undefined && process.env.CI !== '') t.fail(`native scanner unavailable in CI: ${describeNativeStatus()}`)
  t.pass(nativeScanBatch === undefined ? `only the JavaScript loop runs here: ${describeNativeStatus()}` : 'native scanner loaded')
})

const kPlans: Array<{ name: string, plan: ColumnPlan, columns: string[] }> = [
  { name: 'csv email,phone,maid', columns: ['email', 'phone', 'maid'], plan: { format: 'csv', fields: [{ index: 0, key: '', name: 'email', type: 'email' }, { index: 1, key: '', name: 'phone', type: 'phone' }, { index: 2, key: '', name: 'maid', type: 'maid' }] } },
  { name: 'csv with skipped and reordered columns', columns: ['maid', 'email', 'email_sha256', 'phone'], plan: { format: 'csv', fields: [{ index: 3, key: '', name: 'tel', type: 'phone' }, { index: 0, key: '', name: 'ifa', type: 'gaid' }, { index: 2, key: '', name: 'h', type: 'email_sha256' }] } },
  { name: 'csv delimited by ;', columns: ['phone', 'email', 'maid'], plan: { format: 'csv', delimiter: 59, fields: [{ index: 0, key: '', name: 'p', type: 'phone' }, { index: 1, key: '', name: 'e', type: 'email' }, { index: 2, key: '', name: 'm', type: 'maid' }] } },
  { name: 'csv delimited by tab, quoted cells', columns: ['email', 'maid', 'phone'], plan: { format: 'csv', delimiter: 9, fields: [{ index: 0, key: '', name: 'e', type: 'email' }, { index: 2, key: '', name: 'p', type: 'phone' }] } },
  { name: 'tsv', columns: ['phone', 'email', 'maid'], plan: { format: 'tsv', fields: [{ index: 0, key: '', name: 'p', type: 'phone' }, { index: 1, key: '', name: 'e', type: 'email' }, { index: 2, key: '', name: 'm', type: 'idfa' }] } },
  { name: 'lines of emails', columns: ['email'], plan: { format: 'lines', fields: [{ index: 0, key: '', name: 'email', type: 'email' }] } },
  { name: 'lines of phones', columns: ['phone'], plan: { format: 'lines', fields: [{ index: 0, key: '', name: 'phone', type: 'phone' }] } },
  { name: 'lines of hashes', columns: ['email_sha256'], plan: { format: 'lines', fields: [{ index: 0, key: '', name: 'h', type: 'phone_sha256' }] } }
]

const kOptions: Array<[string, WorkerOptions]> = [
  ['defaults', base],
  ['values in rejects, digits-only phones', { ...base, includeValues: true, phoneHashForm: 'digits' }],
  ['default country GB', { ...base, defaultCountry: 'GB' }],
  ['gmail canonicalization and plus tags', { ...base, emailCanonicalize: 'gmail', stripPlusTag: true }],
  ['long records allowed', { ...base, maxRecordBytes: 4096 }]
]

t.test('native and JavaScript paths give identical batch results', { skip: nativeScanBatch === undefined ? 'native scanner not built' : false }, async t => {
  let seq = 0
  for (const { name, plan, columns } of kPlans) {
    for (const [label, options] of kOptions) {
      const native = new BatchProcessor(options)
      const js = new BatchProcessor(options, { scan: false })
      let mismatches = 0
      for (let b = 0; b < 12; b++) {
        const text = batch(plan.format as 'csv' | 'tsv' | 'lines', columns, 50 + Math.floor(rnd() * 400), plan.delimiter)
        const a = comparable(native.run(task(text, plan, seq)))
        const j = comparable(js.run(task(text, plan, seq++)))
        if (JSON.stringify(a) !== JSON.stringify(j)) {
          if (mismatches++ === 0) t.same(a, j, `${name}, ${label}: first differing batch`)
        }
      }
      t.equal(mismatches, 0, `${name}, ${label}`)
    }
  }
})

t.test('a batch larger than the first digest and event buffers is scanned in several calls', { skip: nativeScanBatch === undefined ? 'native scanner not built' : false }, async t => {
  // Short identifiers (7 bytes each) outgrow the initial digest capacity (one per 16 bytes), and
  // 5,000 phones off the fast path outnumber the 1,024-event buffer.
  const plan: ColumnPlan = { format: 'lines', fields: [{ index: 0, key: '', name: 'v', type: 'email' }] }
  const emails = Array.from({ length: 20_000 }, (_, i) => `${i}@b.co`).join('\n')
  const r1 = new BatchProcessor(base).run(task(emails, plan, 1))
  t.equal(r1.count, 20_000)
  t.same(comparable(r1), comparable(new BatchProcessor(base, { scan: false }).run(task(emails, plan, 1))))
  const phones: ColumnPlan = { format: 'lines', fields: [{ index: 0, key: '', name: 'p', type: 'phone' }] }
  const intl = Array.from({ length: 5000 }, (_, i) => (i % 2 === 0 ? `+44 20 7946 0${String(i % 1000).padStart(3, '0')}` : 'nope')).join('\n')
  const r2 = new BatchProcessor(base).run(task(intl, phones, 2))
  t.equal(r2.count, 2500)
  t.equal(r2.rejects.length, 2500)
  t.same(comparable(r2), comparable(new BatchProcessor(base, { scan: false }).run(task(intl, phones, 2))))
})

t.test('digests grouped by partition: the native pass and the JavaScript loops give the same bytes', { skip: typeof nativeAddon?.partitionDigests === 'function' ? false : 'addon not built' }, async t => {
  // Phones off the fast path and canonicalized emails are deferred: the invalid ones leave
  // holes, which grouping must drop.
  const partitioned = (r: BatchResult): unknown => ({
    count: r.count,
    digests: Buffer.from(r.digests, 0, r.count * 32).toString('hex'),
    partitions: Buffer.from(r.partitions!).toString('hex'),
    seen: r.seen,
    valid: r.valid,
    rejected: r.rejected,
    rejects: r.rejects
  })
  let seq = 0
  let holes = 0
  for (const { name, plan, columns } of kPlans) {
    for (const [label, options] of kOptions) {
      const native = new BatchProcessor(options)
      const js = new BatchProcessor(options, { partition: false })
      for (let b = 0; b < 4; b++) {
        const text = batch(plan.format as 'csv' | 'tsv' | 'lines', columns, 50 + Math.floor(rnd() * 400), plan.delimiter)
        const a = native.run({ ...task(text, plan, seq), partition: true })
        const j = js.run({ ...task(text, plan, seq++), partition: true })
        if (a.valid.reduce((x, y) => x + y, 0) < a.seen.reduce((x, y) => x + y, 0)) holes++
        t.same(partitioned(a), partitioned(j), `${name}, ${label}, batch ${b}`)
        const ends = new Uint32Array(a.partitions!)
        t.equal(ends[1023], a.count, 'the last partition ends at count')
      }
    }
  }
  t.ok(holes > 0, 'some batches had rejected identifiers')
})

t.test('partitionDigests checks its arguments before writing anything', { skip: typeof nativeAddon?.partitionDigests === 'function' ? false : 'addon not built' }, async t => {
  const partition = nativeAddon!.partitionDigests as (...args: unknown[]) => number
  const digests = new Uint8Array(3 * 32).map((_, i) => (i * 37) & 255)
  const out = new Uint8Array(3 * 32)
  const ends = new Uint32Array(1024)
  t.equal(partition(digests, new Uint8Array([1, 255, 0]), 3, out, ends), 2)
  t.equal(ends[1023], 2)
  t.same([...out.subarray(0, 32)], [...digests.subarray(64, 96)], 'schema 0 sorts first')
  t.same([...out.subarray(32, 64)], [...digests.subarray(0, 32)], 'then schema 1; the hole is dropped')
  const untouched = new Uint8Array(3 * 32)
  t.throws(() => partition(digests, new Uint8Array([1, 4, 0]), 3, untouched, ends), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /schemas must be 0-3, or 255/ })
  t.ok(untouched.every(b => b === 0), 'a bad schema is caught before any write')
  t.throws(() => partition(digests, new Uint8Array(3), 4, out, ends), { code: 'ERR_OUT_OF_RANGE' }, 'count past the buffers')
  t.throws(() => partition(digests, new Uint8Array(3), 3, out, new Uint32Array(1023)), { code: 'ERR_OUT_OF_RANGE', message: /1024/ })
  t.throws(() => partition(digests, new Uint8Array(3), 2, digests.subarray(32), ends), { code: 'ERR_OUT_OF_RANGE', message: /overlap/ })
  t.throws(() => partition(digests, [0, 0, 0], 3, out, ends), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => partition(digests, new Uint8Array(3), '3', out, ends), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => partition(digests, new Uint8Array(3), 3, out, new Int32Array(1024)), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
})

t.test('the scanner\'s digests are node:crypto\'s, at every message length around the one-block limit', { skip: nativeScanBatch === undefined ? 'native scanner not built' : false }, async t => {
  // The addon hashes one-block messages (<= 55 bytes) two at a time and longer ones alone: mixed
  // lengths, odd counts and a batch that stops early for room exercise the pairing and its flush.
  const plan: ColumnPlan = { format: 'lines', fields: [{ index: 0, key: '', name: 'email', type: 'email' }] }
  for (const count of [1, 2, 3, 127, 20_001]) {
    const emails = Array.from({ length: count }, (_, i) => `${'x'.repeat((i * 7) % 70)}${i}@Example.com`)
    const r = new BatchProcessor(base).run(task(emails.join('\n'), plan, count))
    t.equal(r.count, count)
    const got = Buffer.from(r.digests, 0, r.count * 32)
    const bad = emails.filter((e, i) => got.subarray(i * 32, i * 32 + 32).toString('hex') !== createHash('sha256').update(e.toLowerCase()).digest('hex'))
    t.same(bad, [], `${count} emails of ${Math.min(...emails.map(e => e.length))}-${Math.max(...emails.map(e => e.length))} bytes`)
  }
  const mixed: ColumnPlan = { format: 'csv', fields: [{ index: 0, key: '', name: 'p', type: 'phone' }, { index: 1, key: '', name: 'm', type: 'maid' }] }
  const rows = Array.from({ length: 501 }, (_, i) => [`(415) 555-${String(1000 + i)}`, `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`])
  const r = new BatchProcessor(base).run(task(rows.map(c => c.join(',')).join('\n'), mixed, 9))
  const expected = rows.flatMap(([p, m]) => [`+1415555${p!.slice(-4)}`, m!]).map(v => createHash('sha256').update(v).digest('hex')).join('')
  t.equal(Buffer.from(r.digests, 0, r.count * 32).toString('hex'), expected, 'phones and MAIDs, interleaved')
})

t.test('a partitioned batch puts its digests in the spare buffer handed back, when it fits', async t => {
  const plan: ColumnPlan = { format: 'lines', fields: [{ index: 0, key: '', name: 'email', type: 'email' }] }
  const text = Array.from({ length: 100 }, (_, i) => `u${i}@b.co`).join('\n')
  for (const engine of [{}, { partition: false }]) {
    const p = new BatchProcessor(base, engine)
    const fresh = p.run({ ...task(text, plan, 1), partition: true })
    const spare = new ArrayBuffer(4096 * 32)
    const reused = p.run({ ...task(text, plan, 2), partition: true, spare })
    t.equal(reused.digests, spare, 'the spare holds the digests')
    t.equal(Buffer.from(reused.digests, 0, 3200).toString('hex'), Buffer.from(fresh.digests, 0, 3200).toString('hex'))
    t.same([...new Uint32Array(reused.partitions!)], [...new Uint32Array(fresh.partitions!)])
    t.equal(reused.schemas.byteLength, 0, 'no per-digest schemas beside partitions')
    const tooSmall = new ArrayBuffer(99 * 32)
    const small = p.run({ ...task(text, plan, 3), partition: true, spare: tooSmall })
    t.not(small.digests, tooSmall, 'a spare too small is not used')
    // A fresh one has room to spare, so it can serve a slightly fuller batch later.
    t.ok(small.digests.byteLength >= 100 * 32 && small.digests.byteLength % 4096 === 0, 'a fresh buffer: whole pages, at least the digests')
  }
})

const kAllJs = { scan: false, hash: false, partition: false }

t.test('with every native step off, batches give the native results: the fallback production takes is this one', { skip: nativeScanBatch === undefined ? 'native scanner not built' : false }, async t => {
  let seq = 0
  for (const { name, plan, columns } of kPlans) {
    for (const [label, options] of kOptions.slice(0, 3)) {
      const native = new BatchProcessor(options)
      const js = new BatchProcessor(options, kAllJs)
      for (let b = 0; b < 3; b++) {
        const text = batch(plan.format as 'csv' | 'tsv' | 'lines', columns, 50 + Math.floor(rnd() * 300))
        const partition = b === 2
        const a = native.run({ ...task(text, plan, seq), partition })
        const j = js.run({ ...task(text, plan, seq++), partition })
        const view = (r: BatchResult): unknown => r.partitions === undefined
          ? comparable(r)
          : { ...(comparable({ ...r, schemas: new ArrayBuffer(r.count) }) as object), partitions: Buffer.from(r.partitions).toString('hex') }
        t.same(view(j), view(a), `${name}, ${label}, batch ${b}${partition ? ' (partitioned)' : ''}`)
      }
    }
  }
})

t.test('a worker under HASHPIPE_NATIVE=0 gives the same batch results as the native core', async t => {
  const plan = kPlans[0]!.plan
  const text = batch('csv', kPlans[0]!.columns, 400)
  const here = comparable(new BatchProcessor(base).run(task(text, plan, 1)))
  const moduleUrl = new URL('../../pipeline/batch-processor.js', import.meta.url).href
  const code = `
    const { BatchProcessor } = await import(${JSON.stringify(moduleUrl)})
    const { nativeStatus } = await import(${JSON.stringify(new URL('../../pipeline/native-hash.js', import.meta.url).href)})
    const { text, plan, options } = JSON.parse(process.argv[1])
    const bytes = Buffer.from(text)
    const buffer = new ArrayBuffer(bytes.length)
    new Uint8Array(buffer).set(bytes)
    const r = new BatchProcessor(options).run({ seq: 1, input: 0, buffer, byteLength: bytes.length, firstByte: 1000, plan, options })
    console.log(JSON.stringify({ status: nativeStatus, result: {
      rows: r.rows, lines: r.lines, count: r.count,
      digests: Buffer.from(r.digests, 0, r.count * 32).toString('hex'), schemas: Buffer.from(r.schemas, 0, r.count).toString('hex'),
      seen: r.seen, valid: r.valid, empty: r.empty, rejected: r.rejected, rejects: r.rejects } }))`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, JSON.stringify({ text, plan, options: base })],
    { env: { ...process.env, HASHPIPE_NATIVE: '0' }, encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20 })
  t.equal(r.status, 0, r.stderr)
  const child = JSON.parse(r.stdout) as { status: unknown, result: unknown }
  t.same(child.status, { active: false, reason: 'turned off by HASHPIPE_NATIVE=0' })
  t.same(child.result, here)
})

/** Bytes with NUL bytes and invalid UTF-8 sequences put into some records. */
function damage (text: string): Buffer {
  const lines = text.split('\n')
  const parts = lines.map(l => {
    const r = rnd()
    const bytes = Buffer.from(l)
    if (r > 0.15 || bytes.length === 0) return bytes
    const at = Math.floor(rnd() * bytes.length)
    const bad = r < 0.05 ? Buffer.from([0]) : pick([Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0x80])])
    return Buffer.concat([bytes.subarray(0, at), bad, bytes.subarray(at)])
  })
  return Buffer.concat(parts.flatMap((p, i) => (i < parts.length - 1 ? [p, Buffer.from('\n')] : [p])))
}

t.test('every reject\'s line and byte offset are those of its record, in clean and damaged batches, both ways', async t => {
  const options = { ...base, includeValues: true }
  const engines = nativeScanBatch === undefined ? [kAllJs] : [{}, kAllJs]
  let checked = 0
  let dirtyCellRejects = 0
  let seq = 0
  for (const { name, plan, columns } of kPlans) {
    const processors = engines.map(e => new BatchProcessor(options, e))
    for (let b = 0; b < 8; b++) {
      const text = batch(plan.format as 'csv' | 'tsv' | 'lines', columns, 50 + Math.floor(rnd() * 200))
      const bytes = b % 2 === 0 ? Buffer.from(text) : damage(text)
      const buffer = new ArrayBuffer(bytes.length)
      new Uint8Array(buffer).set(bytes)
      // The reference: a record starts at the batch's first byte or just after a newline, and its
      // line is the number of newlines before it.
      const newlinesBefore = new Uint32Array(bytes.length + 1)
      for (let i = 0; i < bytes.length; i++) newlinesBefore[i + 1] = newlinesBefore[i]! + (bytes[i] === 10 ? 1 : 0)
      const damaged = new Set<number>()
      if (b % 2 === 1) {
        let start = 0
        for (let i = 0; i <= bytes.length; i++) {
          if (i < bytes.length && bytes[i] !== 10) continue
          const line = bytes.subarray(start, i)
          if (line.includes(0) || !isUtf8(line)) damaged.add(start)
          start = i + 1
        }
      }
      for (const p of processors) {
        const r = p.run({ seq: seq++, input: 0, buffer: buffer.slice(0), byteLength: bytes.length, firstByte: 1000, plan })
        let bad = 0
        const whole = new Set<number>()
        for (const reject of r.rejects) {
          const at = reject.byteOffset - 1000
          const ok = at >= 0 && at < bytes.length && (at === 0 || bytes[at - 1] === 10) && reject.line === newlinesBefore[at]
          if (!ok && bad++ === 0) t.fail(`${name}, batch ${b}: ${reject.reason} at line ${reject.line}, byte ${at}; expected line ${newlinesBefore[at] ?? '?'} at a record start`)
          if (reject.reason === 'nul_byte' || reject.reason === 'invalid_utf8') whole.add(at)
          else if (damaged.size > 0 && reject.field !== '') dirtyCellRejects++
          checked++
        }
        t.equal(bad, 0, `${name}, batch ${b}${b % 2 === 1 ? ' (damaged)' : ''}: ${r.rejects.length} rejects at their records`)
        if (b % 2 === 1) t.same([...whole].sort((x, y) => x - y), [...damaged].sort((x, y) => x - y), 'each damaged line is rejected whole, once')
      }
    }
  }
  t.ok(checked > 1000, `${checked} rejects checked`)
  t.ok(dirtyCellRejects > 100, `${dirtyCellRejects} cell rejects in damaged batches`)
})
