// Identifier shapes scrubbed out of free text before it reaches a log line or an error: the last
// guard behind messages that are written to carry no values in the first place.
// Shapes of the identifiers we handle. A digit run alone is not scrubbed: line numbers and byte
// offsets are digits too, and they are what operators need.
const kScrub: ReadonlyArray<[RegExp, string]> = [
  [/[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[A-Za-z]{2,}/g, '[email]'],
  [/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g, '[maid]'],
  [/\b[0-9a-fA-F]{32,}\b/g, '[hex]'],
  [/\+\d[\d ().-]{6,18}\d/g, '[phone]'],
  [/\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b/g, '[phone]']
]

/** Replaces anything shaped like an email, phone, MAID or hex digest in free text. */
export function scrub (text: string): string {
  let out = text
  for (const [re, sub] of kScrub) out = out.replace(re, sub)
  return out
}
