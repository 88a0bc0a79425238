// `hashpipe connections list|remove`: what a connection reaches and who uses it, never the
// token; removal deletes the token file and the record, and is refused while the config's
// destinations use it (unless --force) and without --yes off a terminal.
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { distributeWorld, kAdv } from '../helpers/distribute-world.js'
import { manage } from '../helpers/manage-world.js'
import { DEFAULT_APP, DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'
import { StateStore } from '../../engine/state/state-store.js'

t.test('list and remove', async t => {
  const w = await distributeWorld(t, 'first-party')
  const stateDir = join(w.dir, 'state')
  const token = join(stateDir, 'tokens', 'acme.token')
  const state = StateStore.open(stateDir)
  try {
    state.tokens.write('spare', 'spare-secret-token')
    state.catalog.putConnection({ name: 'spare', advertiserIds: [kAdv], scopes: [30, 31] })
  } finally {
    state.close()
  }

  const list = await manage(['connections', 'list', '--config', w.config, '--json'])
  t.equal(list.code, 0, list.stderr)
  t.notMatch(list.stdout + list.stderr, DEFAULT_TOKEN, 'no token in the output')
  t.notMatch(list.stdout, 'spare-secret-token')
  const rows = JSON.parse(list.stdout).connections
  t.match(rows, [
    { name: 'acme', app_id: DEFAULT_APP.appId, connected: true, advertiser_ids: [kAdv], created_at: /^\d{4}-/, token_stored: true, token_expires_at: null, used_by: ['destination:Acme'] },
    { name: 'spare', connected: true, advertiser_ids: [kAdv], token_stored: true, used_by: [] }
  ])
  const text = await manage(['connections', 'list', '--config', w.config])
  t.match(text.stdout, /^acme\n {2}app id: {7}7000000000000000001\n {2}ad accounts: {2}7123456789012345678/m)
  t.match(text.stdout, /used by: {6}destination 'Acme'/)
  t.notMatch(text.stdout, DEFAULT_TOKEN)

  const used = await manage(['connections', 'remove', 'acme', '--config', w.config, '--yes'])
  t.equal(used.code, 2)
  t.match(used.stderr, /^hashpipe: HP_ERR_USAGE: connection 'acme' is used by destination 'Acme' in .*--force --yes/m)
  t.ok(existsSync(token), 'the token is kept')

  const unconfirmed = await manage(['connections', 'remove', 'spare', '--config', w.config])
  t.equal(unconfirmed.code, 2)
  t.match(unconfirmed.stderr, /add --yes/)
  const spare = await manage(['connections', 'remove', 'spare', '--config', w.config, '--yes'])
  t.equal(spare.code, 0, spare.stderr)
  t.notOk(existsSync(join(stateDir, 'tokens', 'spare.token')), 'the token file is gone')

  const forced = await manage(['connections', 'remove', 'acme', '--config', w.config, '--force', '--yes', '--json'])
  t.equal(forced.code, 0, forced.stderr)
  t.match(JSON.parse(forced.stdout), { name: 'acme', token_removed: true, record_removed: true, destinations_deactivated: 1, used_by: ['destination:Acme'] })
  t.notOk(existsSync(token), 'the token file is gone')
  const after = StateStore.open(stateDir)
  try {
    t.equal(after.catalog.connection('acme'), undefined)
    t.equal(after.catalog.connection('spare'), undefined)
    t.equal(after.catalog.destination('Acme')?.activatedAt, null, 'the destination is no longer activated')
  } finally {
    after.close()
  }
  t.match(JSON.parse((await manage(['connections', 'list', '--config', w.config, '--json'])).stdout).connections, [{ name: 'acme', connected: false, token_stored: false, used_by: ['destination:Acme'] }])

  const gone = await manage(['connections', 'remove', 'spare', '--config', w.config, '--yes'])
  t.equal(gone.code, 1)
  t.match(gone.stderr, /^hashpipe: HP_ERR_STATE_MISSING: no connection 'spare' is stored/m)
  // Without a token, distribute says to connect again (exit 4).
  const d = await w.distribute()
  t.equal(d.code, 4)
})
