// The metrics of a batch command (hash, distribute): collected only when asked for, served while
// the run lasts with --metrics-port, pushed once at its end with --pushgateway. A push that
// fails is a warning: the run's own outcome stands.
import { createMetrics, type Metrics } from '../metrics.js'
import { startMetricsServer, type MetricsServer } from '../../adapters/metrics-server.js'
import { pushMetrics } from '../../adapters/pushgateway.js'
import type { CommandIo } from '../command.js'

/** The command-line options startRunMetrics is given (--metrics-port, --metrics-host, --pushgateway). */
export const RUN_METRICS_OPTIONS = {
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string', default: '127.0.0.1' },
  pushgateway: { type: 'string' }
} as const

export interface RunMetricsOptions {
  /** Already checked (parsePort); undefined: no server. */
  port?: number | undefined
  host: string
  /** Already checked (parseHttpUrl); undefined: no push. */
  pushgateway?: string | undefined
}

export interface RunMetrics {
  /** undefined when neither a server nor a push wants them. */
  metrics: Metrics | undefined
  /** Stops the server and pushes the final values; call once, when the run is over. */
  close (): Promise<void>
}

export async function startRunMetrics (io: CommandIo, command: string, options: RunMetricsOptions): Promise<RunMetrics> {
  let metrics: Metrics | undefined
  let server: MetricsServer | undefined
  if (options.port !== undefined || options.pushgateway !== undefined) metrics = createMetrics()
  if (metrics !== undefined && options.port !== undefined) {
    server = await startMetricsServer(metrics, { port: options.port, host: options.host })
    io.stderr.write(`hashpipe: metrics on ${server.url}\n`)
  }
  return {
    metrics,
    async close () {
      await server?.close()
      if (metrics !== undefined && options.pushgateway !== undefined) {
        await pushMetrics(metrics, { url: options.pushgateway, grouping: { command } }).catch((err: unknown) => {
          io.stderr.write(`hashpipe: warning: ${(err as Error).message}\n`)
        })
      }
    }
  }
}
