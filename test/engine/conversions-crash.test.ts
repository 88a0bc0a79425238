// `hashpipe conversions send` SIGKILLed at named crashpoints, then run again: TikTok (the
// emulator) ends up holding exactly the file's events, and only the batches in flight at the
// kill (at most conversions[].inflight of them) were sent twice. With inflight: 1 the counts are
// exact; with several in flight they depend on timing, so the rerun is checked against the
// ledger the kill left: it sends exactly the batches not acknowledged there.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'
import { StateStore } from '../../engine/state/state-store.js'
import { runCli, cliPath } from '../helpers/cli.js'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { tempDir } from '../helpers/temp-dir.js'

const nowS = Math.floor(Date.now() / 1000)
const kEvents = 10
const kBatch = 3

const scenarios = [
  // Batch 1 acknowledged by TikTok, not yet in the ledger: it is the one sent again.
  { crashpoint: 'conversions-batch-sent:2', receivedAtKill: 6, resent: 3, alreadySent: 3 },
  // Killed before the first request left: nothing was sent, nothing is sent twice.
  { crashpoint: 'conversions-batch-pending:1', receivedAtKill: 0, resent: 0, alreadySent: 0 },
  // Batch 2 in the ledger as acked: the rerun sends only batch 3.
  { crashpoint: 'conversions-batch-acked:3', receivedAtKill: 9, resent: 0, alreadySent: 9 }
]

/** Events the ledger holds as acknowledged, and batches pending (sent or about to be, unacknowledged). */
function ledger (stateDir: string): { acked: number, pending: number } {
  const state = StateStore.open(stateDir)
  try {
    const run = state.conversions.unfinished('sales')
    const out = { acked: 0, pending: 0 }
    if (run === undefined) return out
    for (let i = 0; i < Math.ceil(kEvents / kBatch); i++) {
      const b = state.conversions.batch(run.id, i)
      if (b?.status === 'acked') out.acked += b.sent
      else if (b?.status === 'pending') out.pending++
    }
    return out
  } finally {
    state.close()
  }
}

interface Teardown { teardown: (fn: () => void | Promise<void>) => void }

async function world (t: Teardown, inflight: number): Promise<{ dir: string, config: string, em: Awaited<ReturnType<typeof startEmulator>>, rows: string[] }> {
  const dir = tempDir(t, 'hp-conv-crash-')
  const em = await startEmulator()
  t.teardown(async () => { await em.close() })
  const config = join(dir, 'hashpipe.yaml')
  writeFileSync(config, `state_dir: state
tiktok: { api_base_url: "${em.apiBaseUrl}", app_id: "1", secret: s, events_rate_limit: { qps: 500, qpm: 30000 } }
conversions:
  - { name: sales, event_source_id: "7000000000000000800", connection: acme, inputs: [sales.csv], columns: { email: Email, event_time: At, order_id: Order }, event: Purchase, batch_size: ${kBatch}, inflight: ${inflight} }
`)
  const rows = Array.from({ length: kEvents }, (_, i) => `p${i}@example.com,${nowS - i},o-${i}`)
  writeFileSync(join(dir, 'sales.csv'), ['Email,At,Order', ...rows].join('\n') + '\n')
  const state = StateStore.open(join(dir, 'state'))
  state.catalog.putConnection({ name: 'acme', advertiserIds: ['7123456789012345678'], scopes: [1] })
  state.tokens.write('acme', DEFAULT_TOKEN)
  state.close()
  return { dir, config, em, rows }
}

const storedOrders = (em: Awaited<ReturnType<typeof startEmulator>>): string[] => [...em.state.events.values()].map(e => (e.event['properties'] as { order_id: string }).order_id).sort()

for (const s of scenarios) {
  t.test(`killed at ${s.crashpoint}, one batch in flight`, async t => {
    const { config, em, rows } = await world(t, 1)
    const killed = await runCli(['conversions', 'send', '--config', config], { env: { HASHPIPE_CRASHPOINT: s.crashpoint } })
    t.equal(killed.signal, 'SIGKILL', killed.stderr)
    t.equal(em.state.eventsReceived, s.receivedAtKill)

    const rerun = await runCli(['conversions', 'send', '--config', config, '--json'])
    t.equal(rerun.code, 0, rerun.stderr)
    const j = JSON.parse(rerun.stdout) as { conversions: Array<Record<string, unknown>> }
    t.match(j.conversions[0], { resumed: true, events_already_sent: s.alreadySent, events_sent: kEvents - s.alreadySent })
    t.same(storedOrders(em), rows.map((_, i) => `o-${i}`).sort(), 'TikTok holds every event of the file once')
    t.equal(em.state.eventsReceived, kEvents + s.resent, 'only the batch in flight at the kill was sent twice')
    t.equal(em.state.duplicatesDropped, s.resent)
  })
}

const kInflight = 3
// Killed with two batches out and a third pending; at the first answer; after the first acknowledgement.
for (const point of ['conversions-batch-pending:3', 'conversions-batch-sent:1', 'conversions-batch-acked:1']) {
  t.test(`killed at ${point}, ${kInflight} batches in flight`, async t => {
    const { dir, config, em, rows } = await world(t, kInflight)
    const killed = await runCli(['conversions', 'send', '--config', config], { env: { HASHPIPE_CRASHPOINT: point } })
    t.equal(killed.signal, 'SIGKILL', killed.stderr)
    const atKill = em.state.eventsReceived
    const left = ledger(join(dir, 'state'))
    t.ok(left.pending <= kInflight, `${left.pending} batch(es) pending in the ledger at the kill`)
    t.ok(atKill - left.acked <= kInflight * kBatch, `${atKill - left.acked} event(s) received and not acknowledged at the kill`)

    const rerun = await runCli(['conversions', 'send', '--config', config, '--json'])
    t.equal(rerun.code, 0, rerun.stderr)
    const j = JSON.parse(rerun.stdout) as { conversions: Array<Record<string, unknown>> }
    t.match(j.conversions[0], { resumed: true, events_already_sent: left.acked, events_sent: kEvents - left.acked })
    t.same(storedOrders(em), rows.map((_, i) => `o-${i}`).sort(), 'TikTok holds every event of the file once')
    t.equal(em.state.eventsReceived, atKill + kEvents - left.acked, 'the rerun sent exactly the batches not acknowledged in the ledger')
    t.ok(em.state.eventsReceived - kEvents <= kInflight * kBatch, `at most the ${kInflight} batches in flight were sent twice (${em.state.eventsReceived - kEvents} events)`)
  })
}

t.test('killed at a random moment', async t => {
  const dir = tempDir(t, 'hp-conv-crash-')
  const em = await startEmulator()
  t.teardown(async () => { await em.close() })
  const config = join(dir, 'hashpipe.yaml')
  const total = 600
  const batch = 10
  const inflight = 4
  // 60 batches at 40 requests/s: the run takes about 1.6 s, and the kill (at most 0.5 s after the first batch) lands inside it.
  writeFileSync(config, `state_dir: state
tiktok: { api_base_url: "${em.apiBaseUrl}", app_id: "1", secret: s, events_rate_limit: { qps: 40, qpm: 30000 } }
conversions:
  - { name: sales, event_source_id: "7000000000000000800", connection: acme, inputs: [sales.csv], columns: { email: Email, event_time: At, order_id: Order }, event: Purchase, batch_size: ${batch}, inflight: ${inflight} }
`)
  const rows = Array.from({ length: total }, (_, i) => `r${i}@example.com,${nowS - i},o-${i}`)
  writeFileSync(join(dir, 'sales.csv'), ['Email,At,Order', ...rows].join('\n') + '\n')
  const state = StateStore.open(join(dir, 'state'))
  state.catalog.putConnection({ name: 'acme', advertiserIds: ['7123456789012345678'], scopes: [1] })
  state.tokens.write('acme', DEFAULT_TOKEN)
  state.close()

  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cliPath, 'conversions', 'send', '--config', config], { stdio: 'ignore' })
  // Wait for the first batch to arrive, then kill after a random share of the remaining run.
  while (em.state.eventsReceived === 0 && child.exitCode === null) await new Promise(resolve => setTimeout(resolve, 5))
  await new Promise(resolve => setTimeout(resolve, Math.floor(Math.random() * 500)))
  child.kill('SIGKILL')
  await once(child, 'close')
  const atKill = em.state.eventsReceived
  t.ok(atKill > 0, `${atKill} events received before the kill`)

  const rerun = await runCli(['conversions', 'send', '--config', config, '--json'])
  t.equal(rerun.code, 0, rerun.stderr)
  t.same(storedOrders(em), rows.map((_, i) => `o-${i}`).sort(), 'TikTok holds every event of the file once')
  t.ok(em.state.eventsReceived - total <= inflight * batch, `at most the ${inflight} batches in flight were sent twice (${em.state.eventsReceived - total} events)`)
})
