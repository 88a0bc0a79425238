// Parquet inputs, read with hyparquet one row group at a time: the identifier columns of a row
// group are decoded, written out as CSV records (one per row, the mapped columns in order,
// quoted where a value needs it) and handed on as chunks, so a Parquet file goes through the
// same splitter and worker pool as a CSV file. Memory is one row group's mapped columns and its
// text, whatever the file's size.
//
// A null is an empty cell (counted as empty, never hashed). Numbers (a phone stored as INT64)
// are written in decimal; byte arrays without a string annotation are read as UTF-8.
// A file whose footer, metadata or pages cannot be decoded fails with HP_ERR_INPUT_CORRUPT_PARQUET
// naming the file, before anything of it is counted as read.
import { open, stat, type FileHandle } from 'node:fs/promises'
import { extname } from 'node:path'
import { parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type ColumnData, type FileMetaData } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { InputError } from '../pipeline/errors.js'
import type { InputSource } from './file-source.js'
import { scrub } from '../pipeline/scrub.js'

const kMagic = Buffer.from('PAR1')
/** Text handed on per chunk: a row group's records are cut into pieces of about this size. */
const kChunkBytes = 1 << 20

/** True for a `.parquet` name (under an optional .gz is not Parquet: Parquet compresses inside). */
export function isParquetName (name: string): boolean {
  return name !== '-' && extname(name).toLowerCase() === '.parquet'
}

/** True when a regular file starts with Parquet's magic bytes. */
export async function hasParquetMagic (name: string): Promise<boolean> {
  if (name === '-') return false
  try {
    const st = await stat(name)
    if (!st.isFile() || st.size < 12) return false
    const fh = await open(name, 'r')
    try {
      const head = Buffer.alloc(4)
      await fh.read(head, 0, 4, 0)
      return head.equals(kMagic)
    } finally { await fh.close() }
  } catch {
    return false
  }
}

export interface ParquetInput {
  name: string
  size: number
  /** Rows in the file (every row group). */
  rows: number
  rowGroups: number
  /** Top-level column names, in schema order. */
  columns: string[]
  /** The mapped columns (by name, in this order) as CSV records: one row group at a time. */
  records: (columns: string[]) => InputSource
  close: () => Promise<void>
}

function corrupt (name: string, what: string, err: unknown): InputError {
  // The reader's own words, scrubbed: a decoding error may quote bytes of the file.
  const reason = scrub(err instanceof Error ? err.message : String(err))
  return new InputError('HP_ERR_INPUT_CORRUPT_PARQUET',
    `Parquet input '${name}' ${what} (${reason}); the run was stopped and nothing from this file was kept — re-export the file, or check it with another Parquet reader`,
    { file: name }, { cause: err })
}

/** A file read through one descriptor, counting the bytes read (progress). */
class FileBuffer implements AsyncBuffer {
  readonly byteLength: number
  bytesRead = 0
  readonly #fh: FileHandle
  constructor (fh: FileHandle, size: number) {
    this.#fh = fh
    this.byteLength = size
  }

  async slice (start: number, end?: number): Promise<ArrayBuffer> {
    const stop = Math.min(end ?? this.byteLength, this.byteLength)
    const length = Math.max(0, stop - start)
    const buffer = new ArrayBuffer(length)
    let done = 0
    while (done < length) {
      const { bytesRead } = await this.#fh.read(new Uint8Array(buffer, done), 0, length - done, start + done)
      if (bytesRead === 0) break
      done += bytesRead
    }
    this.bytesRead += done
    return done === length ? buffer : buffer.slice(0, done)
  }
}

export async function openParquet (name: string): Promise<ParquetInput> {
  const fh = await open(name, 'r')
  let metadata: FileMetaData
  let file: FileBuffer
  let columns: string[]
  try {
    const size = (await fh.stat()).size
    file = new FileBuffer(fh, size)
    metadata = await parquetMetadataAsync(file)
    columns = parquetSchema(metadata).children.map(c => c.element.name)
  } catch (err) {
    await fh.close()
    throw corrupt(name, 'is not a readable Parquet file', err)
  }
  const groups = metadata.row_groups.map(g => Number(g.num_rows))
  return {
    name,
    size: file.byteLength,
    rows: Number(metadata.num_rows),
    rowGroups: groups.length,
    columns,
    records: wanted => source(name, file, metadata, groups, wanted, fh),
    close: async () => { await fh.close().catch(() => {}) }
  }
}

function source (name: string, file: FileBuffer, metadata: FileMetaData, groups: number[], wanted: string[], fh: FileHandle): InputSource {
  async function * chunks (): AsyncGenerator<Buffer> {
    try {
      let rowStart = 0
      for (let g = 0; g < groups.length; g++) {
        const rows = groups[g]!
        const rowEnd = rowStart + rows
        const values: ArrayLike<unknown>[] = []
        for (const column of wanted) {
          try {
            values.push(await readColumn(file, metadata, column, rowStart, rowEnd))
          } catch (err) {
            throw corrupt(name, `row group ${g + 1} of ${groups.length}, column '${column}', cannot be decoded`, err)
          }
        }
        yield * recordsOf(values, rows)
        rowStart = rowEnd
      }
    } finally {
      await fh.close().catch(() => {})
    }
  }
  return {
    name,
    size: file.byteLength,
    regular: true,
    gzip: false,
    chunks: chunks(),
    bytesRead: () => file.bytesRead,
    recycle: () => {}
  }
}

/** One column of rows [rowStart, rowEnd): the decoded chunks, cut to the range (a chunk may hold rows around it). */
async function readColumn (file: AsyncBuffer, metadata: FileMetaData, column: string, rowStart: number, rowEnd: number): Promise<unknown[]> {
  const out: unknown[] = new Array(rowEnd - rowStart).fill(null)
  const onChunk = (chunk: ColumnData): void => {
    if (chunk.columnName !== column) return
    const from = Math.max(rowStart, chunk.rowStart)
    const to = Math.min(rowEnd, chunk.rowEnd)
    const data = chunk.columnData
    for (let r = from; r < to; r++) out[r - rowStart] = data[r - chunk.rowStart]
  }
  await parquetRead({ file, metadata, columns: [column], rowStart, rowEnd, compressors, onChunk })
  return out
}

/** CSV records of one row group: rows × the mapped columns, in pieces of about kChunkBytes. */
function * recordsOf (values: ArrayLike<unknown>[], rows: number): Generator<Buffer> {
  const single = values.length === 1
  let text = ''
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < values.length; c++) {
      if (c > 0) text += ','
      const cell = cellText(values[c]![r])
      // A lone null still makes a record ("" is an empty cell): a blank line would not be counted.
      if (cell === undefined) { if (single) text += '""'; continue }
      text += needsQuotes(cell) ? `"${cell.replaceAll('"', '""')}"` : cell
    }
    text += '\n'
    if (text.length >= kChunkBytes) { yield Buffer.from(text); text = '' }
  }
  if (text.length > 0) yield Buffer.from(text)
}

function needsQuotes (s: string): boolean {
  return s.includes(',') || s.includes('"') || s.includes('\n') || s.includes('\r')
}

const kDecoder = new TextDecoder('utf-8', { fatal: false })

function cellText (v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  if (v instanceof Uint8Array) return kDecoder.decode(v)
  if (v instanceof Date) return v.toISOString()
  // Nested, boolean or other values are no identifier: written as text, the normalizers reject them.
  return typeof v === 'object' ? JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? String(x) : x) : String(v)
}
