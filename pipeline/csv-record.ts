// RFC 4180 record parser for the slow path: records that contain a double quote. Most rows of
// real identifier files have none, and the batch processor splits those with indexOf alone;
// this parser runs only from the first quote-bearing record on, one record at a time.

export interface ParsedRecord {
  fields: string[]
  /** Index just past the record's terminating newline, or text.length. */
  next: number
  /** Newlines inside quoted fields (the record spans 1 + newlines physical lines). */
  newlines: number
  /** An unterminated quote, or text after a closing quote that is not a delimiter. */
  malformed: boolean
}

const kQuote = 34
const kNewline = 10
const kReturn = 13

/** Parse one record of `text` starting at `start`. `delim` is ',' or '\t'. */
export function parseRecord (text: string, start: number, delim: string): ParsedRecord {
  const d = delim.charCodeAt(0)
  const n = text.length
  const fields: string[] = []
  let newlines = 0
  let malformed = false
  let i = start
  for (;;) {
    if (i < n && text.charCodeAt(i) === kQuote) {
      // Quoted field: "" is an escaped quote; delimiters and newlines are data until the closing quote.
      let value = ''
      let from = i + 1
      let j = from
      let closed = false
      while (j < n) {
        const c = text.charCodeAt(j)
        if (c === kQuote) {
          if (j + 1 < n && text.charCodeAt(j + 1) === kQuote) {
            value += text.slice(from, j + 1)
            j += 2
            from = j
            continue
          }
          value += text.slice(from, j)
          closed = true
          j++
          break
        }
        if (c === kNewline) newlines++
        j++
      }
      if (!closed) {
        fields.push(value + text.slice(from, n))
        return { fields, next: n, newlines, malformed: true }
      }
      // After the closing quote only a delimiter or the end of the record may follow.
      let k = j
      while (k < n) {
        const c = text.charCodeAt(k)
        if (c === d || c === kNewline) break
        if (c !== kReturn) malformed = true
        k++
      }
      fields.push(value)
      if (k >= n) return { fields, next: n, newlines, malformed }
      if (text.charCodeAt(k) === kNewline) return { fields, next: k + 1, newlines, malformed }
      i = k + 1
      continue
    }
    // Unquoted field: up to the next delimiter or newline. A quote that does not open the field is
    // data (O"Brien), as in the splitter, which only treats a quote at a field start as opening.
    let j = i
    while (j < n) {
      const c = text.charCodeAt(j)
      if (c === d || c === kNewline) break
      j++
    }
    let end = j
    if (end > i && (j >= n || text.charCodeAt(j) === kNewline) && text.charCodeAt(end - 1) === kReturn) end--
    fields.push(text.slice(i, end))
    if (j >= n) return { fields, next: n, newlines, malformed }
    if (text.charCodeAt(j) === kNewline) return { fields, next: j + 1, newlines, malformed }
    i = j + 1
  }
}
