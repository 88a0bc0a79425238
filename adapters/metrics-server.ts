// Serves the registry's text exposition on GET /metrics and nothing else: no config dump, no
// debug routes (docs/operational-rules.md H2). Binds 127.0.0.1 unless the caller names another host, since
// exporters leave authentication to a reverse proxy (H1).
//
// A scraper hammering the endpoint must not slow the pipeline on the same thread (H3):
// concurrent scrapes share one render, a rendered text is reused for `cacheMs`, and
// connections and request times are bounded.
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { HashpipeError } from '../pipeline/errors.js'

export const DEFAULT_METRICS_HOST = '127.0.0.1'

export interface MetricsSource {
  exposition (): Promise<string>
  readonly contentType: string
}

export interface MetricsServerOptions {
  /** Default 0: the OS picks a free port (read it back from `port`). */
  port?: number
  /** Default 127.0.0.1. Anything else exposes the metrics beyond this machine. */
  host?: string
  /** Reuse a rendered exposition for this long. Default 250 ms; 0 renders every scrape. */
  cacheMs?: number
  /** Open connections beyond this are refused. Default 16. */
  maxConnections?: number
}

export interface MetricsServer {
  readonly host: string
  readonly port: number
  /** e.g. http://127.0.0.1:9464/metrics */
  readonly url: string
  close (): Promise<void>
}

const kPath = '/metrics'

export async function startMetricsServer (source: MetricsSource, options: MetricsServerOptions = {}): Promise<MetricsServer> {
  const host = options.host ?? DEFAULT_METRICS_HOST
  const cacheMs = options.cacheMs ?? 250
  let cached: { text: string, at: number } | undefined
  let rendering: Promise<string> | undefined

  const render = (): Promise<string> => {
    if (cached !== undefined && Date.now() - cached.at < cacheMs) return Promise.resolve(cached.text)
    rendering ??= source.exposition().then(text => {
      cached = { text, at: Date.now() }
      return text
    }).finally(() => { rendering = undefined })
    return rendering
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0]
    res.setHeader('X-Content-Type-Options', 'nosniff')
    if (path !== kPath) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n')
      return
    }
    render().then(text => {
      res.writeHead(200, {
        'Content-Type': source.contentType,
        'Content-Length': Buffer.byteLength(text),
        'Cache-Control': 'no-store'
      })
      res.end(req.method === 'HEAD' ? undefined : text)
    }, () => {
      // The reason stays out of the response: it could name internals.
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('metrics unavailable\n')
    })
  }

  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 }, handle)
  server.maxConnections = options.maxConnections ?? 16

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new HashpipeError('HP_ERR_METRICS_SERVER',
        `cannot serve metrics on ${host}:${options.port ?? 0} (${err.code ?? 'error'}): choose another --metrics-port or --metrics-host`,
        undefined, { cause: err }))
    }
    server.once('error', onError)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError)
      resolve()
    })
  })

  const address = server.address() as AddressInfo
  const urlHost = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address
  let closing: Promise<void> | undefined
  return {
    host: address.address,
    port: address.port,
    url: `http://${urlHost}:${address.port}${kPath}`,
    close () {
      closing ??= new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    }
  }
}
