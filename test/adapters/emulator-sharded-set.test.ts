import t from 'tap'
import { createHash } from 'node:crypto'
import { ShardedSet } from '../../adapters/emulator/sharded-set.js'

t.test('a set of strings over 256 Sets: add, has, delete, size and iteration agree with one Set', async t => {
  const s = new ShardedSet(['a', 'b', 'a'])
  t.equal(s.size, 2, 'built from values, repeats once')
  const ref = new Set(['a', 'b'])
  const ids = Array.from({ length: 20_000 }, (_, i) => i % 3 === 0 ? createHash('sha256').update(String(i)).digest('hex') : `maid-${i}`)
  for (const id of ids) { s.add(id); ref.add(id) }
  s.add(ids[5]!)
  t.equal(s.size, ref.size, 'an id added twice counts once')
  let disagree = 0
  for (let i = 0; i < ids.length; i += 2) if (s.delete(ids[i]!) !== ref.delete(ids[i]!)) disagree++
  t.equal(disagree, 0, "every delete answers as the Set's does")
  t.notOk(s.delete('never added'), 'deleting an absent id says so')
  t.equal(s.size, ref.size)
  t.same([...s].sort(), [...ref].sort(), 'iteration yields exactly the members')
  t.ok(s.has(ids[1]!) && !s.has(ids[0]!))
  t.ok(new ShardedSet(['']).has(''), 'the empty string is a member like any other')
})
