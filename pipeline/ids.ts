// Correlation ids for logs: one hyperid generator per purpose, created once per process and
// injected, so each sequence counts on its own and a run id never shares a prefix with a
// batch id by accident. Ids are random + counter: they carry nothing from the input.
import hyperid from 'hyperid'

export type IdPurpose = 'run' | 'batch' | 'request'

export interface Ids {
  runId (): string
  batchId (): string
  requestId (): string
}

export function createIds (): Ids {
  const run = hyperid({ urlSafe: true })
  const batch = hyperid({ urlSafe: true })
  const request = hyperid({ urlSafe: true })
  return {
    runId: () => run(),
    batchId: () => batch(),
    requestId: () => request()
  }
}
