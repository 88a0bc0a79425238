// The native batch hasher must give exactly node:crypto's digests, fail like the JS fallback on
// bad arguments (never crash), load in worker threads, and step aside for HASHPIPE_NATIVE=0.
// CI must build the addon: there a missing addon fails the run instead of silently testing only
// the fallback.
import t from 'tap'
import { hash, randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { checkAddon, describeNativeStatus, hashBackend, hashMany, hashManyJs, nativeAddon, nativeHashMany, nativeStatus, type HashMany } from '../../pipeline/native-hash.js'
import { NATIVE_LAYOUT, layoutMismatch } from '../../pipeline/native-layout.js'

const moduleUrl = new URL('../../pipeline/native-hash.js', import.meta.url).href

const impls: Array<[string, HashMany]> = [['js', hashManyJs]]
if (nativeHashMany !== undefined) impls.push(['native', nativeHashMany])

t.test('the native addon is available (required when CI is set)', async t => {
  if (nativeHashMany === undefined) {
    if (process.env.CI !== undefined && process.env.CI !== '') t.fail(`native hashing unavailable in CI: ${describeNativeStatus()}`)
    else t.comment(`native hashing unavailable, only the JS path is tested: ${describeNativeStatus()}`)
    t.equal(hashBackend, 'js')
    t.equal(hashMany, hashManyJs)
    t.equal(nativeStatus.active, false)
    t.equal(nativeAddon, undefined, 'no addon is handed out unless it passed every check')
  } else {
    t.equal(hashBackend, 'native')
    t.equal(hashMany, nativeHashMany)
    t.same(Object.keys(nativeStatus), ['active', 'sha_ni'])
    t.equal(nativeStatus.active, true)
    t.match(describeNativeStatus(), /^active/)
    t.equal(layoutMismatch(nativeAddon!.layout), undefined, 'the addon exports the layout this side reads, key for key')
  }
})

t.test('an addon with a different layout, a missing function or no layout is reported inactive, with why', async t => {
  const fn = (): void => {}
  const complete = { hashMany: fn, scanBatch: fn, formatRows: fn, sortUnique: fn, alignedBuffer: fn, partitionDigests: fn, layout: { ...NATIVE_LAYOUT }, cpu: { sha_ni: false } }
  t.same(checkAddon(complete), { active: true, sha_ni: false })
  const shifted = checkAddon({ ...complete, layout: { ...NATIVE_LAYOUT, stat_seen: NATIVE_LAYOUT.stat_seen! + 1 } })
  t.equal(shifted.active, false)
  t.match(shifted, { reason: /^layout mismatch .*stat_seen is 7 in the addon, 6 here; npx node-gyp rebuild/ })
  const extra = checkAddon({ ...complete, layout: { ...NATIVE_LAYOUT, stat_future: 40 } })
  t.match(extra, { active: false, reason: /stat_future is 40 in the addon, unknown here/ })
  const { event_ints: _e, ...short } = NATIVE_LAYOUT
  t.match(checkAddon({ ...complete, layout: short }), { active: false, reason: /event_ints is absent in the addon, 8 here/ })
  t.match(checkAddon({ ...complete, layout: undefined }), { active: false, reason: /the addon exports no layout/ })
  t.match(checkAddon({ ...complete, scanBatch: undefined }), { active: false, reason: /^incomplete addon: no scanBatch/ })
  t.match(checkAddon(undefined), { active: false, reason: /exports nothing/ })
  if (nativeAddon !== undefined) {
    const real = nativeAddon as unknown as Record<string, unknown>
    t.same(checkAddon(real), nativeStatus, 'the built addon passes the same check')
    t.match(checkAddon({ ...real, layout: { ...(real.layout as object), reason_count: 11 } }), { active: false, reason: /reason_count is 11 in the addon, 10 here/ })
  }
})

const kPieces = ['a', 'Z', '0', '.', '@', '+', ' ', 'é', 'ß', 'Ω', '日本', '한', '😀', '\u0000', '\u{10FFFF}']

function randomText (maxBytes: number): string {
  let s = ''
  while (true) {
    const piece = kPieces[Math.floor(Math.random() * kPieces.length)]!
    if (Buffer.byteLength(s + piece) > maxBytes) return s
    s += piece
  }
}

/** Messages of every byte length 0..300 (random bytes, so all block boundaries) plus random UTF-8 text. */
function corpus (): Buffer[] {
  const messages: Buffer[] = []
  for (let len = 0; len <= 300; len++) messages.push(randomBytes(len), randomBytes(len))
  for (let i = 0; i < 3000; i++) messages.push(Buffer.from(randomText(Math.floor(Math.random() * 301)), 'utf8'))
  return messages
}

/** Packs messages into a view at a nonzero byteOffset of a larger buffer, as a real batch is. */
function pack (messages: Buffer[]): { input: Uint8Array, offsets: Uint32Array } {
  const total = messages.reduce((n, m) => n + m.length, 0)
  const backing = Buffer.alloc(total + 7, 0xee)
  const input = backing.subarray(3, 3 + total)
  const offsets = new Uint32Array(messages.length + 1)
  let pos = 0
  messages.forEach((m, i) => { m.copy(input, pos); pos += m.length; offsets[i + 1] = pos })
  return { input, offsets }
}

t.test('native, JS and node:crypto agree on thousands of messages of length 0..300', async t => {
  const messages = corpus()
  const { input, offsets } = pack(messages)
  const expected = Buffer.concat(messages.map(m => hash('sha256', m, 'buffer')))
  for (const [name, fn] of impls) {
    const backing = new Uint8Array(messages.length * 32 + 64).fill(0x55)
    const out = backing.subarray(16, 16 + messages.length * 32)
    fn(input, offsets, messages.length, out)
    t.ok(Buffer.from(out).equals(expected), `${name}: every digest matches node:crypto`)
    t.ok(backing.subarray(0, 16).every(b => b === 0x55) && backing.subarray(16 + out.length).every(b => b === 0x55),
      `${name}: nothing written outside out`)
  }
})

t.test('hashing a JS string equals hashing its UTF-8 bytes through hashMany', async t => {
  const texts = Array.from({ length: 500 }, () => randomText(60))
  const { input, offsets } = pack(texts.map(s => Buffer.from(s, 'utf8')))
  const out = new Uint8Array(texts.length * 32)
  hashMany(input, offsets, texts.length, out)
  const mismatches = texts.filter((s, i) => Buffer.from(out.subarray(i * 32, i * 32 + 32)).toString('hex') !== hash('sha256', s, 'hex'))
  t.equal(mismatches.length, 0)
})

t.test('an empty batch writes nothing', async t => {
  for (const [name, fn] of impls) {
    const out = new Uint8Array(32).fill(7)
    fn(new Uint8Array(0), new Uint32Array(0), 0, out)
    fn(Buffer.alloc(0), new Uint32Array([0]), 0, new Uint8Array(0))
    t.ok(out.every(b => b === 7), name)
  }
  const out = new Uint8Array(64)
  for (const [name, fn] of impls) {
    // Two empty messages: both are SHA-256 of nothing.
    fn(new Uint8Array(0), new Uint32Array([0, 0, 0]), 2, out)
    t.equal(Buffer.from(out).toString('hex'), hash('sha256', '', 'hex').repeat(2), name)
  }
})

t.test('bad arguments throw the same TypeError/RangeError from both paths and write nothing', async t => {
  const input = Buffer.from('abcdef')
  const ok = new Uint32Array([0, 3, 6])
  const out = (): Uint8Array => new Uint8Array(64).fill(9)
  const cases: Array<[string, unknown[], string, string]> = [
    ['input is a string', ['abc', ok, 2, out()], 'TypeError', 'input must be a Uint8Array'],
    ['input is a Uint16Array', [new Uint16Array(6), ok, 2, out()], 'TypeError', 'input must be a Uint8Array'],
    ['input is missing', [], 'TypeError', 'input must be a Uint8Array'],
    ['offsets is an array', [input, [0, 3, 6], 2, out()], 'TypeError', 'offsets must be a Uint32Array'],
    ['offsets is an Int32Array', [input, new Int32Array([0, 3, 6]), 2, out()], 'TypeError', 'offsets must be a Uint32Array'],
    ['count is a string', [input, ok, '2', out()], 'TypeError', 'count must be a number'],
    ['count is negative', [input, ok, -1, out()], 'RangeError', 'count must be an integer in [0, 2^32)'],
    ['count is fractional', [input, ok, 1.5, out()], 'RangeError', 'count must be an integer in [0, 2^32)'],
    ['count is NaN', [input, ok, Number.NaN, out()], 'RangeError', 'count must be an integer in [0, 2^32)'],
    ['count is Infinity', [input, ok, Number.POSITIVE_INFINITY, out()], 'RangeError', 'count must be an integer in [0, 2^32)'],
    ['count is 2^32', [input, ok, 2 ** 32, out()], 'RangeError', 'count must be an integer in [0, 2^32)'],
    ['out is an ArrayBuffer', [input, ok, 2, new ArrayBuffer(64)], 'TypeError', 'out must be a Uint8Array'],
    ['offsets too short', [input, new Uint32Array([0, 3]), 2, out()], 'RangeError', 'offsets must hold count + 1 entries'],
    ['out too short', [input, ok, 2, new Uint8Array(63)], 'RangeError', 'out must hold count * 32 bytes'],
    ['offset past the end', [input, new Uint32Array([0, 3, 7]), 2, out()], 'RangeError', 'offsets must not point past the end of input'],
    ['huge offset', [input, new Uint32Array([0, 0xffffffff, 6]), 2, out()], 'RangeError', 'offsets must be non-decreasing'],
    ['decreasing offsets', [input, new Uint32Array([4, 3, 6]), 2, out()], 'RangeError', 'offsets must be non-decreasing']
  ]
  for (const [name, fn] of impls) {
    for (const [label, args, type, message] of cases) {
      const code = type === 'TypeError' ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE'
      t.throws(() => (fn as (...a: unknown[]) => void)(...args), { name: type, message, code }, `${name}: ${label}`)
      const target = args[3]
      if (target instanceof Uint8Array && target.length === 64) t.ok(target.every(b => b === 9), `${name}: ${label} wrote nothing`)
    }
  }
})

t.test('works inside a worker thread (and alongside the main thread copy)', async t => {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads')
    import(workerData.moduleUrl).then(m => {
      const input = Buffer.from(workerData.text, 'utf8')
      const out = new Uint8Array(64)
      m.hashMany(input, new Uint32Array([0, 5, input.length]), 2, out)
      parentPort.postMessage({ backend: m.hashBackend, hex: Buffer.from(out).toString('hex') })
    })`
  const text = 'hello, wörld 😀'
  const run = async (): Promise<{ backend: string, hex: string }> => await new Promise((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData: { moduleUrl, text } })
    w.once('message', resolve)
    w.once('error', reject)
  })
  const results = await Promise.all([run(), run()])
  const bytes = Buffer.from(text, 'utf8')
  const expected = hash('sha256', bytes.subarray(0, 5), 'hex') + hash('sha256', bytes.subarray(5), 'hex')
  for (const r of results) {
    t.equal(r.backend, hashBackend, 'the worker uses the same backend as the main thread')
    t.equal(r.hex, expected)
  }
})

function childBackend (env: NodeJS.ProcessEnv): { backend: string, status: unknown, hex: string } {
  const code = `
    const m = await import(${JSON.stringify(moduleUrl)})
    const out = new Uint8Array(32)
    m.hashMany(Buffer.from('a@b.co'), new Uint32Array([0, 6]), 1, out)
    console.log(JSON.stringify({ backend: m.hashBackend, status: m.nativeStatus, hex: Buffer.from(out).toString('hex') }))`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env, encoding: 'utf8', timeout: 30_000 })
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as { backend: string, status: unknown, hex: string }
}

t.test('HASHPIPE_NATIVE=0 selects the JS path with identical digests', async t => {
  const off = childBackend({ ...process.env, HASHPIPE_NATIVE: '0' })
  t.equal(off.backend, 'js')
  t.same(off.status, { active: false, reason: 'turned off by HASHPIPE_NATIVE=0' })
  t.equal(off.hex, hash('sha256', 'a@b.co', 'hex'))
  const { HASHPIPE_NATIVE: _unused, ...rest } = process.env
  const on = childBackend(rest)
  t.equal(on.backend, nativeHashMany !== undefined ? 'native' : 'js', 'without the variable the addon is used when built')
  t.equal(on.hex, off.hex)
})

t.test('trimHeap hands free heap pages back on glibc with the native core, and is a no-op without it', async t => {
  const { trimHeap } = await import('../../pipeline/heap-trim.js')
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } }
  const glibc = typeof report.header?.glibcVersionRuntime === 'string'
  t.equal(trimHeap(), nativeAddon !== undefined && glibc, `native ${nativeAddon !== undefined}, glibc ${String(report.header?.glibcVersionRuntime)}`)
  const off = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(new URL('../../pipeline/heap-trim.js', import.meta.url).href)}); process.stdout.write(String(m.trimHeap()))`], { encoding: 'utf8', env: { ...process.env, HASHPIPE_NATIVE: '0' } })
  t.equal(off.stdout, 'false', 'HASHPIPE_NATIVE=0: nothing is called')
})

t.test('pinMmapThreshold keeps big blocks out of the heap after glibc would have raised its threshold', async t => {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } }
  const glibc = typeof report.header?.glibcVersionRuntime === 'string'
  // In a child of its own: the setting is process-wide. A freed 8 MiB mapped block raises glibc's
  // threshold past 4 MiB; without the pin the next 4 MiB blocks then come from the heap.
  const child = (pin: boolean): { pinned: boolean, grew: number } => {
    const script = `
      import { readFileSync } from 'node:fs'
      const { pinMmapThreshold } = await import(${JSON.stringify(new URL('../../pipeline/heap-trim.js', import.meta.url).href)})
      const { alignedBuffer } = await import(${JSON.stringify(new URL('../../adapters/aligned-buffer.js', import.meta.url).href)})
      const heap = () => {
        const line = readFileSync('/proc/self/maps', 'utf8').split('\\n').find(l => l.endsWith('[heap]'))
        if (line === undefined) return 0
        const [from, to] = line.split(' ')[0].split('-')
        return parseInt(to, 16) - parseInt(from, 16)
      }
      const pinned = ${String(pin)} ? pinMmapThreshold() : false
      let big = alignedBuffer(8 << 20); big.fill(1); big = undefined
      for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise(resolve => setImmediate(resolve)) }
      const before = heap()
      const held = []
      for (let i = 0; i < 4; i++) held.push(alignedBuffer(4 << 20).fill(1))
      process.stdout.write(JSON.stringify({ pinned, grew: heap() - before, held: held.length }))`
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' })
    t.equal(r.status, 0, r.stderr)
    return JSON.parse(r.stdout) as { pinned: boolean, grew: number }
  }
  if (nativeAddon === undefined || !glibc) {
    const { pinMmapThreshold } = await import('../../pipeline/heap-trim.js')
    t.equal(pinMmapThreshold(), false, 'nothing to pin without the native core on glibc')
    return
  }
  const pinNative = nativeAddon.pinMmapThreshold as (bytes?: unknown) => boolean
  t.throws(() => pinNative(), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, 'no byte count')
  t.throws(() => pinNative('128k'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => pinNative(-1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => pinNative(64 << 20), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, 'past glibc\'s 32 MiB ceiling')
  const free = child(false)
  t.equal(free.pinned, false)
  // Some of the 16 MiB may fit in free heap space already there: at least two blocks' worth must grow it.
  t.ok(free.grew >= 8 << 20, `unpinned, the heap took the 4 MiB blocks (grew ${free.grew} bytes)`)
  const pinned = child(true)
  t.equal(pinned.pinned, true, 'glibc took the threshold')
  t.ok(pinned.grew < 1 << 20, `pinned, they were mapped on their own (heap grew ${pinned.grew} bytes)`)
})

t.test('releaseBuffer frees an ArrayBuffer now, before any GC, and is a no-op without the native core', async t => {
  const { releaseBuffer } = await import('../../pipeline/release-buffer.js')
  const buffer = new ArrayBuffer(32 << 20)
  const view = new Uint8Array(buffer).fill(7)
  const held = process.memoryUsage().arrayBuffers
  if (nativeAddon === undefined) {
    t.equal(releaseBuffer(buffer), false, 'without the native core nothing is freed')
    t.equal(view.length, 32 << 20)
    return
  }
  t.equal(releaseBuffer(buffer), true)
  t.equal(buffer.byteLength, 0, 'the buffer is detached')
  t.equal(view.length, 0, 'and so is every view on it')
  const freed = held - process.memoryUsage().arrayBuffers
  t.ok(freed >= 32 << 20, `its memory went at once (${freed} bytes)`)
  t.equal(releaseBuffer(new SharedArrayBuffer(8)), false, 'a SharedArrayBuffer is not ours to free')
  // (not in this project's type libraries)
  const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly
  t.equal(releaseBuffer(new wasm.Memory({ initial: 1 }).buffer), false, 'nor is a WebAssembly memory, which cannot be detached')
  const native = nativeAddon.releaseBuffer as (buffer?: unknown) => boolean
  t.throws(() => native(), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, 'no buffer')
  t.throws(() => native(new Uint8Array(8)), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, 'a view is not an ArrayBuffer')
  const off = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(new URL('../../pipeline/release-buffer.js', import.meta.url).href)}); const b = new ArrayBuffer(8); process.stdout.write(String(m.releaseBuffer(b)) + ' ' + b.byteLength)`], { encoding: 'utf8', env: { ...process.env, HASHPIPE_NATIVE: '0' } })
  t.equal(off.stdout, 'false 8', 'HASHPIPE_NATIVE=0: the buffer is left to V8')
})
