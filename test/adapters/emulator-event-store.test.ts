import t from 'tap'
import { EventStore } from '../../adapters/emulator/event-store.js'
import { DigestTable } from '../../pipeline/digest-table.js'
import { createHash } from 'node:crypto'

t.test('stores each key once and gives the events back as they were', async t => {
  const s = new EventStore()
  t.equal(s.addAll('700', [
    { key: '700\u0000e1\u0000Purchase', event: { event: 'Purchase', event_id: 'e1', properties: { value: 1.5 } } },
    { key: '700\u0000e1\u0000Purchase', event: { event: 'Purchase', event_id: 'e1', properties: { value: 9 } } },
    { key: '700\u0000e1\u0000Contact', event: { event: 'Contact', event_id: 'e1' } }
  ]), 2, 'a key repeated within one request is stored once; another event name is another key')
  t.equal(s.addAll('700', [{ key: '700\u0000e1\u0000Contact', event: { event: 'Contact', event_id: 'e1', again: true } }]), 0, 'and once across requests')
  t.equal(s.addAll('801', [{ key: '801\u0000é\n\u0000Purchase', event: { event: 'Purchase', event_id: 'é\n' } }]), 1, 'keys and ids beyond ASCII, with newlines')
  t.equal(s.size, 3)
  t.same([...s.values()], [
    { eventSourceId: '700', event: { event: 'Purchase', event_id: 'e1', properties: { value: 1.5 } } },
    { eventSourceId: '700', event: { event: 'Contact', event_id: 'e1' } },
    { eventSourceId: '801', event: { event: 'Purchase', event_id: 'é\n' } }
  ], 'the first copy of a key is the one kept, in arrival order')
})

t.test('grows past its first log chunk without losing or repeating an event', async t => {
  const s = new EventStore()
  const pad = 'x'.repeat(900)
  let stored = 0
  // 20 requests of 1,000 events: 18 MB of log, past the first 16 MB chunk.
  for (let r = 0; r < 20; r++) stored += s.addAll('7', Array.from({ length: 1000 }, (_, i) => ({ key: `7\u0000id${r * 1000 + i}\u0000Purchase`, event: { event_id: `id${r * 1000 + i}`, pad } })))
  t.equal(stored, 20_000)
  const ids = [...s.values()].map(e => e.event['event_id'])
  t.equal(ids.length, 20_000)
  t.same(ids.slice(0, 2), ['id0', 'id1'])
  t.equal(ids[19_999], 'id19999')
  t.equal(new Set(ids).size, 20_000, 'no record read twice or cut at a chunk edge')
})

t.test('DigestTable: exact membership across its tables\' doublings', async t => {
  const d = new DigestTable()
  const key = (i: number): Buffer => createHash('sha256').update(String(i)).digest()
  let refused = 0
  for (let i = 0; i < 50_000; i++) if (!d.add(key(i))) refused++
  t.equal(refused, 0, 'no new key taken for one already there')
  t.equal(d.size, 50_000)
  let found = 0
  for (let i = 0; i < 50_000; i += 3) if (d.has(key(i)) && !d.add(key(i))) found++
  t.equal(found, Math.ceil(50_000 / 3), 'every key still found after each of the 256 tables doubled several times')
  t.notOk(d.has(key(50_001)), 'a key never added is absent')
  t.equal(d.size, 50_000)
})
