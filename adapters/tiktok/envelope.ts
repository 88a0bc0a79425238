// TikTok's JSON envelope {code, message, request_id, data}, parsed so that 19-digit ids stay
// exact: TikTok sends ids as strings, but if a bare integer too large for a double ever arrives,
// it is turned into a string before JSON.parse can round it.
export interface Envelope<T = unknown> {
  code: number
  message: string
  request_id: string
  data: T
}

/** Quotes every bare integer of 16 or more digits outside string literals. */
export function quoteBigIntegers (text: string): string {
  let out = ''
  let last = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) { inString = true; continue }
    if ((c >= 48 && c <= 57) || c === 45) {
      let j = i + (c === 45 ? 1 : 0)
      while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++
      const next = text.charCodeAt(j)
      const isInteger = next !== 46 && next !== 101 && next !== 69 // not a fraction or exponent
      if (isInteger && j - i >= 16) {
        out += text.slice(last, i) + '"' + text.slice(i, j) + '"'
        last = j
      }
      i = j - 1
    }
  }
  return last === 0 ? text : out + text.slice(last)
}

/** Parses an envelope; undefined when the body is not a JSON envelope (HTML, truncated, empty). */
export function parseEnvelope (text: string): Envelope | undefined {
  let value: unknown
  try {
    value = JSON.parse(quoteBigIntegers(text))
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object') return undefined
  const v = value as Record<string, unknown>
  const code = typeof v['code'] === 'string' ? Number(v['code']) : v['code']
  if (typeof code !== 'number' || !Number.isInteger(code)) return undefined
  return {
    code,
    message: typeof v['message'] === 'string' ? v['message'] : '',
    request_id: typeof v['request_id'] === 'string' ? v['request_id'] : '',
    data: v['data'] ?? {}
  }
}
