// The emulator's customer-file audiences through the client's own calls: TikTok's upload checks
// and codes, create/update as set operations, the processing window, one REPLACE a day, the
// 1,000 minimum, /segment/mapping/ refused, expired file paths; and the compact digest set.
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator } from '../../adapters/emulator/emulator.js'
import { DEFAULT_TOKEN } from '../../adapters/emulator/emulator-state.js'
import { DigestSet } from '../../adapters/emulator/digest-set.js'
import { TikTokClient } from '../../adapters/tiktok/tiktok-client.js'
import { uploadFile, createFileAudience, updateFileAudience, findFileAudiences, fileAudienceState, deleteFileAudience } from '../../adapters/tiktok/custom-audiences.js'
import { mapping } from '../../adapters/tiktok/audiences.js'

const kAdv = '7123456789012345678'
const digest = (i: number): string => createHash('sha256').update(`user${i}@example.com`).digest('hex')

t.test('DigestSet: sorted, distinct, union and difference', async t => {
  const a = DigestSet.fromHex([digest(3), digest(1), digest(2), digest(1)])
  t.equal(a.size, 3, 'repeats dropped')
  t.same(a.hex(), [digest(1), digest(2), digest(3)].sort())
  const b = DigestSet.fromHex([digest(3), digest(4)])
  t.same(a.union(b).hex(), [1, 2, 3, 4].map(digest).sort())
  t.same(a.difference(b).hex(), [digest(1), digest(2)].sort())
  t.equal(DigestSet.empty().union(b).size, 2)
})

t.test('upload, create, update, processing, limits and faults', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-emfiles-'))
  const em = await startEmulator({ processingMs: 3_600_000, fileMaxBytes: 100_000 })
  const client = new TikTokClient({ apiBaseUrl: em.apiBaseUrl, accessToken: DEFAULT_TOKEN, rateLimit: { qps: 500, qpm: 30000 }, retryBudgetMs: 1000 })
  t.teardown(async () => { await client.close(); await em.close(); rmSync(dir, { recursive: true, force: true }) })
  const file = (name: string, from: number, to: number, header = 'email_SHA256'): { path: string, name: string, bytes: number, md5: string } => {
    const text = `${header}\n${Array.from({ length: to - from }, (_, i) => digest(from + i)).join('\n')}\n`
    const path = join(dir, name)
    writeFileSync(path, text)
    return { path, name, bytes: statSync(path).size, md5: createHash('md5').update(text).digest('hex') }
  }
  const code = async (p: Promise<unknown>): Promise<number | undefined> => await p.then(() => 0, (err: { apiCode?: number }) => err.apiCode)

  const big = file('big.csv', 0, 1600)
  t.equal(await code(uploadFile(client, kAdv, big)), 40907, 'over the size limit')
  const f1 = file('a.csv', 0, 1200)
  t.equal(await code(uploadFile(client, kAdv, { ...f1, md5: '0'.repeat(32) })), 40900, 'MD5 mismatch')
  t.equal(await code(uploadFile(client, kAdv, { ...f1, name: 'a.json' })), 40908, 'name must end .csv or .txt')
  t.equal(await code(uploadFile(client, kAdv, file('h.csv', 0, 10, 'EMAIL'))), 40914, 'unknown MULTIPLE_TYPES header')
  const p1 = await uploadFile(client, kAdv, f1)
  t.equal(p1.length, 16, '16-character file_path')
  const small = await uploadFile(client, kAdv, file('s.csv', 0, 999))
  t.equal(await code(createFileAudience(client, kAdv, 'seg', [small])), 40002, 'below 1,000 identifiers refused')

  const id = await createFileAudience(client, kAdv, 'seg', [p1])
  // The window is an hour; the test ends it instead of waiting.
  const processed = (): void => { em.state.files.audiences.get(id)!.processingUntil = 0 }
  t.same(await findFileAudiences(client, kAdv, 'seg'), [id], 'found by name as a customer-file audience')
  t.same(await fileAudienceState(client, kAdv, id), { isValid: false, coverNum: 744 }, 'processing after create')
  const p2 = await uploadFile(client, kAdv, file('b.csv', 1200, 1300))
  t.equal(await code(updateFileAudience(client, kAdv, id, 'APPEND', [p2])), 40002, 'updates refused while processing')
  processed()
  t.equal((await fileAudienceState(client, kAdv, id))?.isValid, true, 'valid after the window')
  await updateFileAudience(client, kAdv, id, 'APPEND', [p2])
  const members = (): number => em.state.snapshot().find(a => a.audienceId === id)!.members['EMAIL_SHA256']!.length
  t.equal(members(), 1300, 'APPEND adds')
  processed()
  await updateFileAudience(client, kAdv, id, 'REMOVE', [await uploadFile(client, kAdv, file('c.csv', 0, 100))])
  t.equal(members(), 1200, 'REMOVE removes')
  processed()
  await updateFileAudience(client, kAdv, id, 'APPEND', [p2])
  t.equal(members(), 1200, 'APPEND is a set operation')
  processed()
  await updateFileAudience(client, kAdv, id, 'REPLACE', [p1])
  t.same(em.state.snapshot().find(a => a.audienceId === id)!.members['EMAIL_SHA256'], Array.from({ length: 1200 }, (_, i) => digest(i)).sort(), 'REPLACE swaps the data')
  processed()
  t.equal(await code(updateFileAudience(client, kAdv, id, 'REPLACE', [p1])), 40002, 'a second REPLACE within 24 h refused')
  t.equal(await code(updateFileAudience(client, kAdv, id, 'REMOVE', [p1])), 40002, 'an update leaving < 1,000 refused')
  t.equal(await code(mapping(client, kAdv, id, 'add', 'EMAIL_SHA256', [digest(5)])), 40002, '/segment/mapping/ refused on a file audience')
  em.faults.fileTtlMs = 0
  t.equal(await code(updateFileAudience(client, kAdv, id, 'APPEND', [p2])), 40910, 'an expired file_path')
  await deleteFileAudience(client, kAdv, id)
  t.same(await findFileAudiences(client, kAdv, 'seg'), [], 'deleted')
  delete em.faults.fileTtlMs
  for (let i = 0; i < 400; i++) em.state.createAudience(kAdv, `a${i}`)
  const limited = await createFileAudience(client, kAdv, 'seg', [await uploadFile(client, kAdv, f1)]).catch((err: Error) => err)
  t.match(limited, { apiCode: 40002, message: /limit of 400/ }, '400 audiences per advertiser')
})
