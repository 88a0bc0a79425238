// JSON arrays (of objects or strings) are parsed with stream-json, one element at a time, so a
// 1 GiB array is never held in memory. Elements are re-encoded as NDJSON lines, which the workers
// already parse; line numbers for JSON inputs are element numbers (1-based).
import { Readable, pipeline } from 'node:stream'
import StreamArray from 'stream-json/streamers/StreamArray.js'
import { InputError } from './errors.js'

const kBlockBytes = 1 << 20

/** Yields blocks of NDJSON lines, one line per array element. */
export async function * jsonArrayAsLines (file: string, chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  // pipeline() (not pipe()) so an error in the source, such as a truncated gzip, reaches us.
  const stream = pipeline(Readable.from(chunks), StreamArray.withParser(), () => {})
  let parts: string[] = []
  let bytes = 0
  try {
    for await (const item of stream as AsyncIterable<{ key: number, value: unknown }>) {
      const line = JSON.stringify(item.value) + '\n'
      parts.push(line)
      bytes += line.length
      if (bytes >= kBlockBytes) {
        yield Buffer.from(parts.join(''))
        parts = []
        bytes = 0
      }
    }
  } catch (err) {
    if (err instanceof InputError) throw err
    throw new InputError('HP_ERR_INPUT_FORMAT', `'${file}' is not a JSON array of objects or strings: ${(err as Error).message}; use --format ndjson for one object per line`, { file }, { cause: err })
  }
  if (parts.length > 0) yield Buffer.from(parts.join(''))
}
