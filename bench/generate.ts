// Deterministic generator of realistic identifier files for benchmarks: CSV `email,phone,maid`
// with messy case and spacing, varied US phone formats (valid NANP numbers), ~5% pre-hashed
// emails, ~1% invalid values, ~20% rows repeating an earlier person re-messed, some empty
// cells. Same seed, same bytes. Files go to the OS temp dir, never into the repository.
//   node dist/bench/generate.js --size 1GiB --out /tmp/x.csv --seed 1
import { createHash } from 'node:crypto'
import { openSync, writeSync, closeSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

const kAreaCodes = [201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228, 229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270, 276, 281, 301, 302, 303, 304, 305, 307, 308, 309, 310, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 323, 325, 330, 331, 334, 336, 337, 339, 347, 351, 352, 360, 361, 386, 401, 402, 404, 405, 406, 407, 408, 409, 410, 412, 413, 414, 415, 417, 419, 423, 424, 425, 430, 432, 434, 435, 440, 443, 469, 478, 479, 480, 484, 501, 502, 503, 504, 505, 507, 508, 509, 510, 512, 513, 515, 516, 517, 518, 520, 530, 540, 541, 551, 559, 561, 562, 563, 567, 570, 571, 573, 574, 580, 585, 586, 601, 602, 603, 605, 606, 607, 608, 609, 610, 612, 614, 615, 616, 617, 618, 619, 620, 623, 626, 630, 631, 636, 641, 646, 650, 651, 660, 661, 662, 678, 682, 701, 702, 703, 704, 706, 707, 708, 712, 713, 714, 715, 716, 717, 718, 719, 720, 724, 727, 731, 732, 734, 740, 754, 757, 760, 763, 765, 770, 772, 773, 774, 775, 781, 785, 786, 801, 802, 803, 804, 805, 806, 808, 810, 812, 813, 814, 815, 816, 817, 818, 828, 830, 831, 832, 843, 845, 847, 848, 850, 856, 857, 858, 859, 860, 862, 863, 864, 865, 870, 878, 901, 903, 904, 906, 907, 908, 909, 910, 912, 913, 914, 915, 916, 917, 918, 919, 920, 925, 928, 931, 936, 937, 940, 941, 947, 949, 951, 952, 954, 956, 970, 971, 972, 973, 978, 979, 980, 985, 989]
const kFirst = ['james', 'mary', 'john', 'patricia', 'robert', 'jennifer', 'michael', 'linda', 'william', 'elizabeth', 'david', 'barbara', 'maria', 'li', 'ahmed', 'olga', 'priya', 'diego', 'amara', 'kenji']
const kDomains = ['gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'aol.com', 'example.com', 'comcast.net', 'proton.me']

/** mulberry32: small, fast, deterministic. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const kHexCodes = Array.from('0123456789abcdef', c => c.charCodeAt(0))
const kFlushAt = 1 << 20

interface Person { email: string, phone: string, maid: string }

export interface GenerateOptions { path: string, bytes?: number, rows?: number, seed?: number }
export interface GenerateStats { rows: number, identifiers: number, bytes: number }

export function generateFile (options: GenerateOptions): GenerateStats {
  const r = prng(options.seed ?? 1)
  const int = (n: number): number => Math.floor(r() * n)
  // Char codes into a reused array, one string at the end: per-character concatenation made
  // the garbage collector the generator's main cost. Same draws in the same order, same bytes.
  const codes: number[] = []
  const hex = (n: number): string => { codes.length = n; for (let i = 0; i < n; i++) codes[i] = kHexCodes[int(16)]!; return String.fromCharCode.apply(null, codes) }
  const people: Person[] = []
  const fd = openSync(options.path, 'w')
  // Lines go straight into one reused buffer (every byte is ASCII, so latin1 writes them as they
  // are): a 1 MiB string of concatenated lines, flattened and encoded per write, cost as much as
  // generating them. Flushed at the same points as before, so the same rows end the file.
  const buf = Buffer.allocUnsafe(kFlushAt + (1 << 16))
  let at = buf.write('email,phone,maid\n', 0, 'latin1')
  let bytes = 0
  let rows = 0
  let identifiers = 0
  const maxRows = options.rows ?? Infinity
  const maxBytes = options.bytes ?? Infinity
  const messCase = (s: string): string => { const m = r(); return m < 0.5 ? s : m < 0.75 ? s.toUpperCase() : s[0]!.toUpperCase() + s.slice(1) }
  const pad = (s: string): string => r() < 0.15 ? ` ${s} ` : s
  const formatPhone = (p: string): string => {
    const [a, b, c] = [p.slice(0, 3), p.slice(3, 6), p.slice(6)]
    switch (int(6)) {
      case 0: return `(${a}) ${b}-${c}`
      case 1: return `${a}.${b}.${c}`
      case 2: return p
      case 3: return `+1 ${a}-${b}-${c}`
      case 4: return `1-${a}-${b}-${c}`
      default: return `+1${p}`
    }
  }
  while (rows < maxRows && bytes < maxBytes) {
    let person: Person
    if (people.length > 0 && r() < 0.2) {
      person = people[int(people.length)]!
    } else {
      person = {
        email: `${kFirst[int(kFirst.length)]}${r() < 0.5 ? '.' : '_'}${hex(6)}${int(1000)}@${kDomains[int(kDomains.length)]}`,
        phone: `${kAreaCodes[int(kAreaCodes.length)]}${2 + int(8)}${int(10)}${int(10)}${String(int(10000)).padStart(4, '0').replace(/^01/, '21')}`,
        maid: `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[int(4)]}${hex(3)}-${hex(12)}`
      }
      if (people.length < 2_000_000) people.push(person)
    }
    let email = r() < 0.05 ? createHash('sha256').update(person.email).digest('hex') : messCase(person.email)
    if (email.length === 64 && r() < 0.3) email = email.toUpperCase()
    let phone = formatPhone(person.phone)
    let maid = r() < 0.5 ? person.maid.toUpperCase() : person.maid
    const bad = r()
    if (bad < 0.0033) email = `${person.email.split('@')[0]}@@broken`
    else if (bad < 0.0066) phone = `555-01${int(10)}${int(10)}`
    else if (bad < 0.01) maid = r() < 0.5 ? '00000000-0000-0000-0000-000000000000' : maid.slice(0, 30)
    if (r() < 0.02) phone = ''
    if (r() < 0.02) maid = ''
    const line = `${pad(email)},${phone.includes(',') ? `"${phone}"` : phone},${pad(maid)}\n`
    identifiers += (email === '' ? 0 : 1) + (phone === '' ? 0 : 1) + (maid === '' ? 0 : 1)
    at += buf.write(line, at, 'latin1')
    rows++
    if (at > kFlushAt) { bytes += writeSync(fd, buf, 0, at); at = 0 }
  }
  bytes += writeSync(fd, buf, 0, at)
  closeSync(fd)
  return { rows, identifiers, bytes }
}

const kUnits: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1 << 20, gb: 1e9, gib: 1 << 30 }
export function parseBytes (s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(s.trim())
  if (m === null) throw new Error(`not a size: ${s}`)
  return Math.floor(Number(m[1]) * (kUnits[(m[2] ?? '').toLowerCase() || 'b'] ?? NaN))
}

const kUsage = `usage: node dist/bench/generate.js --out FILE [--size SIZE | --rows N] [--seed N]

Writes a deterministic benchmark CSV (email,phone,maid): same seed and size, same bytes.
  --out FILE   where to write it (keep it out of the repository)
  --size SIZE  about this many bytes: 100MB, 1GiB, 12.5GiB (default 1GiB)
  --rows N     exactly N rows instead of a size
  --seed N     the seed (default 1)
  -h, --help
`

function usageError (message: string): never {
  process.stderr.write(`generate: ${message}\n\n${kUsage}`)
  process.exit(2)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let values: { size?: string, rows?: string, out?: string, seed?: string, help?: boolean }
  try {
    ;({ values } = parseArgs({ options: { size: { type: 'string' }, rows: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string', default: '1' }, help: { type: 'boolean', short: 'h' } } }))
  } catch (err) {
    usageError((err as Error).message)
  }
  if (values.help === true) {
    process.stdout.write(kUsage)
    process.exit(0)
  }
  if (values.out === undefined) usageError('--out FILE is required')
  const seed = Number(values.seed)
  if (!Number.isInteger(seed)) usageError(`--seed must be an integer; got '${values.seed ?? ''}'`)
  const rows = values.rows !== undefined ? Number(values.rows) : undefined
  if (rows !== undefined && !(Number.isInteger(rows) && rows > 0)) usageError(`--rows must be a positive integer; got '${values.rows ?? ''}'`)
  let bytes: number | undefined
  try {
    // Neither a size nor a row count would mean an endless file.
    bytes = values.size !== undefined ? parseBytes(values.size) : rows === undefined ? 1 << 30 : undefined
  } catch (err) {
    usageError(`--size: ${(err as Error).message} (e.g. 100MB, 1GiB)`)
  }
  const stats = generateFile({ path: values.out, seed, ...(bytes !== undefined ? { bytes } : {}), ...(rows !== undefined ? { rows } : {}) })
  process.stdout.write(JSON.stringify(stats) + '\n')
}
