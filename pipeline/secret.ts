// A value that must never be printed: the TikTok app secret and access tokens travel wrapped in
// this, so a config or connection object that ends up in a log line, a JSON dump or
// util.inspect shows `[redacted]`. Only the code that sends it to TikTok calls reveal().
import { inspect } from 'node:util'

const kRedacted = '[redacted]'

export class Secret {
  readonly #value: string

  constructor (value: string) {
    this.#value = value
  }

  reveal (): string { return this.#value }
  get length (): number { return this.#value.length }
  toString (): string { return kRedacted }
  toJSON (): string { return kRedacted }
  [inspect.custom] (): string { return kRedacted }
}
