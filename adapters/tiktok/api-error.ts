// Errors from TikTok calls, with the exit codes docs/cli-contract.md gives them: re-authorization 4,
// unavailable after retries 5 (resumable), anything else terminal 1. TikTok's message is kept
// (scrubbed of anything shaped like an identifier) because it is often the only explanation.
import { HashpipeError, kDefaultExitCodes, type ErrorCode } from '../../pipeline/errors.js'
import { scrub } from '../../pipeline/scrub.js'

export interface ApiErrorDetails { endpoint: string, httpStatus?: number, apiCode?: number, requestId?: string, apiMessage?: string }

export class ApiError extends HashpipeError {
  readonly endpoint: string
  readonly httpStatus: number | undefined
  readonly apiCode: number | undefined
  readonly requestId: string | undefined
  /** TikTok blamed the request's rows (batch_data), not the request: a poison identifier may be isolated. */
  readonly rowError: boolean

  constructor (code: ErrorCode, message: string, details: ApiErrorDetails, options: { cause?: unknown } = {}) {
    super(code, scrub(message), kDefaultExitCodes[code], options)
    this.endpoint = details.endpoint
    this.httpStatus = details.httpStatus
    this.apiCode = details.apiCode
    this.requestId = details.requestId
    this.rowError = details.apiCode === 40002 && /batch_data/i.test(details.apiMessage ?? '')
  }
}
