// Pushes a batch run's final metrics to a Prometheus Pushgateway, for runs too short to be
// scraped. Grouping key is job="hashpipe" plus instance (and any labels the caller adds), in
// the Pushgateway path form /metrics/job/<job>/<label>/<value>...; values that contain a `/`
// use its @base64 form.
import { hostname } from 'node:os'
import { request } from 'undici'
import { HashpipeError } from '../pipeline/errors.js'
import type { MetricsSource } from './metrics-server.js'

export interface PushOptions {
  /** Pushgateway base URL, e.g. http://pushgateway:9091 (user:password@ becomes Basic auth). */
  url: string
  /** Default 'hashpipe'. */
  job?: string
  /** Default os.hostname(). */
  instance?: string
  /** Extra grouping labels. Keep them to fixed values (a command name), never a segment name. */
  grouping?: Record<string, string>
  /** PUT replaces the whole group (default); POST replaces only the metrics pushed. */
  method?: 'PUT' | 'POST'
  /** Default 10 s for headers and for the body each. */
  timeoutMs?: number
}

const kLabelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/

function segment (name: string, value: string): string {
  if (!kLabelName.test(name)) throw new HashpipeError('HP_ERR_METRICS_PUSH', `pushgateway grouping label "${name}" is not a valid label name`)
  if (value === '' || value.includes('/')) return `${name}@base64/${Buffer.from(value).toString('base64url') || '='}`
  return `${name}/${encodeURIComponent(value)}`
}

/** The push URL for a grouping key (exported for tests and for `--dry-run` style display). */
export function pushUrl (options: PushOptions): URL {
  let base: URL
  try {
    base = new URL(options.url)
  } catch {
    throw new HashpipeError('HP_ERR_METRICS_PUSH', 'pushgateway URL is not a valid http(s) URL')
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new HashpipeError('HP_ERR_METRICS_PUSH', 'pushgateway URL must use http or https')
  }
  const labels: Array<[string, string]> = [['instance', options.instance ?? hostname()], ...Object.entries(options.grouping ?? {})]
  const parts = [segment('job', options.job ?? 'hashpipe'), ...labels.map(([k, v]) => segment(k, v))]
  const prefix = base.pathname.replace(/\/+$/, '')
  const out = new URL(base.href)
  out.pathname = `${prefix}/metrics/${parts.join('/')}`
  out.search = ''
  out.hash = ''
  return out
}

/** Sends the exposition once; throws HP_ERR_METRICS_PUSH (never with credentials in the message). */
export async function pushMetrics (source: MetricsSource, options: PushOptions): Promise<void> {
  const target = pushUrl(options)
  const headers: Record<string, string> = { 'content-type': source.contentType }
  if (target.username !== '' || target.password !== '') {
    const user = decodeURIComponent(target.username)
    const pass = decodeURIComponent(target.password)
    headers['authorization'] = 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64')
    target.username = ''
    target.password = ''
  }
  const where = `${target.origin}${target.pathname}`
  const body = await source.exposition()
  const timeout = options.timeoutMs ?? 10_000
  let status: number
  try {
    const res = await request(target, {
      method: options.method ?? 'PUT',
      headers,
      body,
      headersTimeout: timeout,
      bodyTimeout: timeout
    })
    status = res.statusCode
    // Always drain the body so the connection is released (undici).
    await res.body.dump()
  } catch (err) {
    const code = (err as { code?: unknown }).code
    throw new HashpipeError('HP_ERR_METRICS_PUSH',
      `pushing metrics to ${where} failed (${typeof code === 'string' ? code : 'network error'})`, undefined, { cause: err })
  }
  if (status < 200 || status >= 300) {
    throw new HashpipeError('HP_ERR_METRICS_PUSH', `pushing metrics to ${where} failed: HTTP ${status}`)
  }
}
