// Leak test for `conversions send`: canary emails and phones (plain, normalized, digests) and an
// order id never appear in stdout, stderr, the rejects file, error messages or /metrics — on
// success, on rejects, on a poison event and on a revoked token.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'
import { StateStore } from '../../engine/state/state-store.js'
import { loadConfig } from '../../engine/config.js'
import { createMetrics, apiObserver } from '../../engine/metrics.js'
import { sendConversions } from '../../engine/conversions/send-conversions.js'
import { TikTokClient } from '../../adapters/tiktok/tiktok-client.js'
import { trackEvents } from '../../adapters/tiktok/events.js'
import conversions from '../../engine/commands/conversions.js'
import { CANARY_EMAILS, CANARY_PHONES, CANARY_IDENTIFIERS, assertNoCanary } from '../helpers/canary.js'
import { tempDir } from '../helpers/temp-dir.js'

const kOrder = 'ORD-canary-77q31x'

t.test('no identifier, digest or order id in outputs, errors or metrics', async t => {
  const dir = tempDir(t, 'hp-conv-canary-')
  const em = await startEmulator()
  t.teardown(async () => { await em.close() })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `state_dir: state
tiktok: { api_base_url: "${em.apiBaseUrl}", app_id: "1", secret: s }
conversions:
  - { name: c, event_source_id: "7000000000000000800", connection: acme, inputs: [in.csv], columns: { email: E, phone: P, event_time: T, value: V, currency: C, order_id: O }, event: Purchase, batch_size: 2 }
`)
  const now = Math.floor(Date.now() / 1000)
  const q = (s: string): string => `"${s}"`
  writeFileSync(join(dir, 'in.csv'), ['E,P,T,V,C,O',
    `${q(CANARY_EMAILS[0]!.plain)},${q(CANARY_PHONES[0]!.plain)},${now - 10},5,USD,${kOrder}`,
    `${q(CANARY_EMAILS[1]!.plain)},${q(CANARY_PHONES[1]!.plain)},${now + 9999},5,USD,${kOrder}-2`,
    `${q(CANARY_EMAILS[1]!.plain)},,${now - 20},-5,USD,${kOrder}-3`,
    `,${q(CANARY_PHONES[1]!.plain)},${now - 30},5,,${kOrder}-4`
  ].join('\n') + '\n')
  const state = StateStore.open(join(dir, 'state'))
  state.catalog.putConnection({ name: 'acme', advertiserIds: ['7123456789012345678'], scopes: [1] })
  state.tokens.write('acme', DEFAULT_TOKEN)
  state.close()

  let text = ''
  const run = async (...args: string[]): Promise<number> => {
    const sink = new PassThrough().on('data', c => { text += String(c) })
    return await conversions(['send', '--config', config, '--rejects', join(dir, 'rejects.csv'), ...args], { stdin: new PassThrough(), stdout: sink, stderr: sink, env: {}, signal: new AbortController().signal })
  }
  t.equal(await run('--max-reject-ratio', '1'), 0)
  text += readFileSync(join(dir, 'rejects.csv'), 'utf8')
  t.equal(await run('--json', '--max-reject-ratio', '1', '--restart'), 0)
  em.faults.revokeTokenAfter = 0
  t.equal(await run(), 4)
  t.match(text, /HP_ERR_API_REAUTHORIZE/)

  // The same send with metrics on, and a poison event on the first row.
  delete em.faults.revokeTokenAfter
  for (const tok of em.state.tokens.values()) tok.revoked = false
  const metrics = createMetrics({ defaultMetrics: false })
  const cfg = await loadConfig(config, {})
  const client = new TikTokClient({ apiBaseUrl: cfg.tiktok.apiBaseUrl, accessToken: DEFAULT_TOKEN, rateLimit: cfg.tiktok.eventsRateLimit, observer: apiObserver(metrics) })
  t.teardown(async () => { await client.close() })
  const first = [...em.state.events.values()][0]!.event['event_id'] as string
  em.faults.poisonEventId = first
  const st = StateStore.open(cfg.stateDir)
  try {
    const r = await sendConversions(cfg, st, { track: async (id, events) => await trackEvents(client, id, events) }, cfg.conversions[0]!, {
      dryRun: false, restart: true, stdin: new PassThrough(), onEvents: (outcome, reason, n) => { metrics.conversionEvents.inc({ outcome, reason: reason === '' ? 'none' : reason }, n) }
    })
    t.equal(r.rejected.tiktok_rejected, 1)
  } finally {
    st.close()
  }
  const exposition = await metrics.exposition()
  t.match(exposition, /hashpipe_conversion_events_total\{outcome="rejected",reason="tiktok_rejected"\} 1/)
  t.match(exposition, /hashpipe_api_requests_total\{endpoint="\/event\/track\/",code_class="client_error"\}/)
  assertNoCanary(t, text, CANARY_IDENTIFIERS, 'stdout, stderr and the rejects file')
  assertNoCanary(t, exposition, CANARY_IDENTIFIERS, '/metrics')
  t.notMatch(text + exposition, new RegExp(kOrder, 'i'), 'no order id')
})
