// Semantic rules over the (interpolated) config tree, from LiveRamp's TikTok integration (docs/integration-rules.md):
// one segment to one ad account, unique names, Data Marketplace agreements, Record Sync in the
// US only. They read the raw tree defensively, so they run and report even when unrelated
// parts of the file fail the schema: `validate` lists every problem in one pass.
import type { ConfigProblem } from './config-interpolate.js'
import { formatPath } from './config-interpolate.js'

const kDataMarketplace = 'data-marketplace-3pd'
const kRecordSync = 'first-party-record-sync'

/** The integration's workaround (docs/integration-rules.md), quoted in every refusal of a segment going to a second ad account. */
export function oneAccountMessage (segment: string): string {
  return 'TikTok does not allow the same segment to be sent to multiple TikTok ad accounts (the deliveries fail). ' +
    `To send it to another ad account, clone it under a unique name: hashpipe segments clone ${shellQuote(segment)} --name NEW, ` +
    'then set the clone\'s destination to that account'
}

const kAgreementText: Record<string, string> = {
  data_usage_reporting_requirement: 'you will report the impressions and amount spent of campaigns using this data to LiveRamp monthly',
  payment_model: 'the cost of the data is calculated as a % of campaign spend, from the monthly usage report\'s Amount Spent',
  payment_requirement: 'you will pay for the use of this data in accordance with the TikTok Data Agreement'
}
const kMarketplaceFields = [...Object.keys(kAgreementText), 'reporting_contact_email']
/** Identifier types Data Marketplace segments may carry to TikTok (docs/integration-rules.md: emails, SHA-256 emails, plain phones). */
const kMarketplaceIdTypes = ['email', 'email_sha256', 'phone']

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)
const list = (v: unknown): unknown[] => Array.isArray(v) ? v : []
const str = (v: unknown): string | undefined => typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined
const key = (name: string): string => name.toLowerCase()

export function checkRules (root: unknown): ConfigProblem[] {
  if (!isObj(root)) return []
  const problems: ConfigProblem[] = []
  const add = (path: Array<string | number>, message: string): void => { problems.push({ path: formatPath(path), message }) }

  const destinations = new Map<string, { index: number, integration: unknown, name: string }>()
  // With a destination unnamed or malformed, "no destination named X" would only echo that problem.
  let namesKnown = root['destinations'] === undefined || Array.isArray(root['destinations'])
  list(root['destinations']).forEach((d, i) => {
    const name = isObj(d) ? str(d['name']) : undefined
    if (name === undefined || name.length >= 150) namesKnown = false
    if (!isObj(d)) return
    if (name !== undefined) {
      const first = destinations.get(key(name))
      if (first !== undefined) add(['destinations', i, 'name'], `duplicate destination name '${name}' (also destinations[${first.index}]); destination names must be unique`)
      else destinations.set(key(name), { index: i, integration: d['integration'], name })
    }
    if (d['integration'] === kDataMarketplace) {
      for (const f of kMarketplaceFields) {
        if (d[f] !== undefined) continue
        add(['destinations', i, f], f === 'reporting_contact_email'
          ? `is required for integration ${kDataMarketplace}: the email address(es), comma separated, of whoever sends the monthly usage reports`
          : `is required for integration ${kDataMarketplace}: set it to true (or "I Agree") to acknowledge that ${kAgreementText[f]}`)
      }
    } else {
      for (const f of [...kMarketplaceFields, 'data_cost_percent']) {
        if (d[f] !== undefined) add(['destinations', i, f], `applies only to integration ${kDataMarketplace}; remove it`)
      }
    }
    if (d['audience_type'] === 'customer_file' && d['integration'] === kDataMarketplace) {
      add(['destinations', i, 'audience_type'], `customer_file audiences are for first-party data; integration ${kDataMarketplace} delivers partner audiences only — remove audience_type or set it to partner`)
    }
    const region = str(d['region'])?.toUpperCase() ?? 'US'
    if (d['integration'] === kRecordSync && region !== 'US') {
      add(['destinations', i, 'region'], `integration ${kRecordSync} (Record Sync) is available only in the US; set region: US or use integration first-party`)
    }
  })

  const segments = new Map<string, { index: number, destination: string | undefined }>()
  list(root['segments']).forEach((s, i) => {
    if (!isObj(s)) return
    const name = str(s['name'])
    const label = name ?? `segments[${i}]`
    const raw = s['destination']
    let destination: string | undefined
    if (Array.isArray(raw)) {
      const names = raw.map(str).filter((v): v is string => v !== undefined)
      if (names.length > 1) add(['segments', i, 'destination'], `names ${names.length} destinations; a segment goes to one destination. ${oneAccountMessage(label)}`)
      else if (names.length === 0) add(['segments', i, 'destination'], 'must name a destination')
      destination = names[0]
    } else {
      destination = str(raw)
    }
    if (s['destinations'] !== undefined) {
      add(['segments', i, 'destinations'], `a segment has one destination (key destination:), not a list. ${oneAccountMessage(label)}`)
    }

    const dest = destination === undefined ? undefined : destinations.get(key(destination))
    if (destination !== undefined && dest === undefined && namesKnown) {
      const known = [...destinations.values()].map(d => `'${d.name}'`)
      add(['segments', i, 'destination'], `no destination named '${destination}'; ${known.length === 0 ? 'no destinations are defined' : `defined: ${known.join(', ')}`}`)
    }

    if (name !== undefined) {
      const first = segments.get(key(name))
      if (first === undefined) {
        segments.set(key(name), { index: i, destination })
      } else if (key(first.destination ?? '') === key(destination ?? '')) {
        add(['segments', i, 'name'], `duplicate segment name '${name}' (also segments[${first.index}]); segment names must be unique`)
      } else {
        add(['segments', i, 'name'], `segment '${name}' already goes to destination '${first.destination ?? '(none)'}' (segments[${first.index}]); this entry sends it to '${destination ?? '(none)'}'. ${oneAccountMessage(name)}`)
      }
    }

    if (s['columns'] !== undefined && s['type'] !== undefined) {
      add(['segments', i, 'type'], 'set either columns (header names of a file with a header) or type (a one-column file without header), not both')
    }

    const thirdParty = s['data_type'] === 'third-party'
    if (dest !== undefined && thirdParty && dest.integration !== kDataMarketplace) {
      add(['segments', i, 'data_type'], `third-party (Data Marketplace) segments go only to a ${kDataMarketplace} destination; '${dest.name}' is ${String(dest.integration)}`)
    }
    if (dest !== undefined && !thirdParty && dest.integration === kDataMarketplace) {
      add(['segments', i, 'destination'], `'${dest.name}' is a ${kDataMarketplace} destination, for third-party (Data Marketplace) segments only; set data_type: third-party if this is Data Marketplace data, or use a first-party destination`)
    }
    if (thirdParty) {
      const types = [...(isObj(s['columns']) ? Object.keys(s['columns']) : []), ...(typeof s['type'] === 'string' ? [s['type']] : [])]
      for (const t of types) {
        if (kMarketplaceIdTypes.includes(t) || !isIdTypeLike(t)) continue
        add(['segments', i, isObj(s['columns']) && t in s['columns'] ? 'columns' : 'type', ...(isObj(s['columns']) && t in s['columns'] ? [t] : [])],
          `Data Marketplace segments can carry only emails (plain or SHA-256) and plain phone numbers to TikTok, not ${t}`)
      }
    }
  })

  const conversions = new Map<string, number>()
  list(root['conversions']).forEach((c, i) => {
    if (!isObj(c)) return
    const name = str(c['name'])
    if (name !== undefined) {
      const first = conversions.get(key(name))
      if (first !== undefined) add(['conversions', i, 'name'], `duplicate conversions name '${name}' (also conversions[${first}]); names must be unique`)
      else conversions.set(key(name), i)
    }
    const cols = isObj(c['columns']) ? c['columns'] : {}
    if (c['event'] === undefined && cols['event'] === undefined) {
      add(['conversions', i, 'event'], 'is required when columns has no event column: name the TikTok standard event these rows are (e.g. CompletePayment or Purchase)')
    }
    if (cols['event_time'] === undefined) add(['conversions', i, 'columns', 'event_time'], 'is required: the column holding when the event happened (ISO 8601 with a zone, or Unix seconds)')
    if (cols['email'] === undefined && cols['phone'] === undefined) add(['conversions', i, 'columns'], 'must map email or phone (or both): TikTok matches offline events by them')
  })
  return problems
}

const isIdTypeLike = (t: string): boolean => ['phone_sha256', 'maid', 'idfa', 'gaid'].includes(t)

/** A shell-safe rendering of a segment name for the suggested command. */
export function shellQuote (s: string): string {
  return /^[A-Za-z0-9._\-/]+$/.test(s) ? s : `'${s.replaceAll('\'', '\'\\\'\'')}'`
}

/** The known key a mistyped one most likely meant (camelCase, case, dashes, or ≤ 2 edits away). */
export function suggestKey (unknown: string, known: readonly string[]): string | undefined {
  const norm = unknown.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replaceAll('-', '_').toLowerCase()
  if (known.includes(norm)) return norm
  let best: string | undefined
  let bestDistance = 3
  for (const k of known) {
    const d = distance(norm, k)
    if (d < bestDistance) { best = k; bestDistance = d }
  }
  return best
}

function distance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]!
}
