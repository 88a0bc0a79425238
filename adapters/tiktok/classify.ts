// The one table from (HTTP status, TikTok code, transport error) to what the client does.
// TikTok answers application errors with HTTP 200 and a non-zero code, so HTTP 200 alone is
// never success (docs/tiktok-api-notes.md §1, §5).
export type Verdict = 'success' | 'retry' | 'rate_limited' | 'reauthorize' | 'terminal'

export interface Outcome {
  verdict: Verdict
  /** Which limiter backs off on rate_limited. */
  scope?: 'app' | 'advertiser'
  /** Bounded label for metrics: ok, rate_limited, auth, client_error, server_error, network, invalid_response. */
  codeClass: string
}

const kAuth = new Set([40001, 40102, 40103, 40104, 40105, 40106, 40107])

export function classify (status: number | undefined, code: number | undefined, transportError?: string): Outcome {
  if (transportError !== undefined) return { verdict: 'retry', codeClass: 'network' }
  if (status === undefined) return { verdict: 'retry', codeClass: 'network' }
  if (status === 429) return { verdict: 'rate_limited', scope: 'app', codeClass: 'rate_limited' }
  if (status >= 500) return { verdict: 'retry', codeClass: 'server_error' }
  if (status === 401 || status === 403) return { verdict: 'reauthorize', codeClass: 'auth' }
  if (status >= 400) return { verdict: 'terminal', codeClass: 'client_error' }
  // HTTP 2xx/3xx: the envelope decides.
  if (code === undefined) return { verdict: 'retry', codeClass: 'invalid_response' }
  if (code === 0 || code === 20001) return { verdict: 'success', codeClass: 'ok' }
  if (code === 40100 || code === 40016) return { verdict: 'rate_limited', scope: 'app', codeClass: 'rate_limited' }
  if (code === 40133) return { verdict: 'rate_limited', scope: 'advertiser', codeClass: 'rate_limited' }
  if (kAuth.has(code)) return { verdict: 'reauthorize', codeClass: 'auth' }
  if (code === 50000 || code === 50002 || code === 40200 || code === 40202 || code === 60001 || code === 51305) return { verdict: 'retry', codeClass: 'server_error' }
  return { verdict: 'terminal', codeClass: 'client_error' }
}
