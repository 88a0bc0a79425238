// Error codes are a contract (scripts match on them): every code in pipeline/errors.ts is thrown
// somewhere, every thrown code is there, and README.md's error-code table lists exactly those
// codes with the exit code each maps to.
import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { kDefaultExitCodes, type ErrorCode } from '../../pipeline/errors.js'

// dist/test/pipeline/ → the repository root, where the TypeScript sources are.
const kRoot = fileURLToPath(new URL('../../../', import.meta.url))
const kErrorsFile = join('pipeline', 'errors.ts')

function sources (dir: string): string[] {
  return readdirSync(join(kRoot, dir)).flatMap(name => {
    const path = join(dir, name)
    if (statSync(join(kRoot, path)).isDirectory()) return sources(path)
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : []
  })
}

// Constructor calls with a literal code, e.g. `new HashpipeError('HP_ERR_X'` or
// `new ApiError(\n 'HP_ERR_X'`; and the classes of errors.ts that fix their own code.
const kThrowSite = /new\s+[A-Z]\w*Error\s*\(\s*'(HP_ERR_[A-Z_]+)'/g
const kFixedCodeClass = /class\s+(\w+)\s+extends\s+HashpipeError\s*\{[^]*?super\(\s*'(HP_ERR_[A-Z_]+)'/g

function thrownCodes (): Map<string, string[]> {
  const errorsSource = readFileSync(join(kRoot, kErrorsFile), 'utf8')
  const fixed = [...errorsSource.matchAll(kFixedCodeClass)].map(m => ({ cls: m[1]!, code: m[2]! }))
  const found = new Map<string, string[]>()
  const add = (code: string, where: string): void => { found.set(code, [...(found.get(code) ?? []), where]) }
  for (const file of ['engine', 'pipeline', 'adapters'].flatMap(sources)) {
    if (file === kErrorsFile) continue
    const text = readFileSync(join(kRoot, file), 'utf8')
    for (const m of text.matchAll(kThrowSite)) add(m[1]!, relative(kRoot, join(kRoot, file)))
    for (const { cls, code } of fixed) {
      if (new RegExp(`new\\s+${cls}\\s*\\(`).test(text)) add(code, `${file} (${cls})`)
    }
  }
  return found
}

function readmeTable (): Map<string, string> {
  const readme = readFileSync(join(kRoot, 'README.md'), 'utf8')
  const section = readme.split(/^## /m).find(s => s.startsWith('Error codes'))
  if (section === undefined) throw new Error('README.md has no "## Error codes" section')
  const rows = new Map<string, string>()
  for (const line of section.split('\n')) {
    const m = /^\|\s*`(HP_ERR_[A-Z_]+)`\s*\|[^|]*\|\s*([^|]*?)\s*\|/.exec(line)
    if (m !== null) rows.set(m[1]!, m[2]!)
  }
  return rows
}

const declared = Object.keys(kDefaultExitCodes).sort()

t.test('the sources throw at least the codes this test knows of', async t => {
  // Guards the scan itself: if the patterns stopped matching, every other test would pass vacuously.
  const thrown = thrownCodes()
  for (const code of ['HP_ERR_USAGE', 'HP_ERR_CONFIG_INVALID', 'HP_ERR_WORKER_CRASHED', 'HP_ERR_API_PROTOCOL', 'HP_ERR_STATE_IO']) {
    t.ok(thrown.has(code), `${code} found`)
  }
})

t.test('every declared code is thrown and every thrown code is declared', async t => {
  const thrown = thrownCodes()
  t.same(declared.filter(c => !thrown.has(c)), [], 'declared in pipeline/errors.ts but never thrown')
  t.same([...thrown.keys()].filter(c => !declared.includes(c)).sort(), [], 'thrown but not declared')
})

t.test("README.md's error-code table lists exactly the declared codes, with their exit codes", async t => {
  const rows = readmeTable()
  t.same([...rows.keys()].sort(), declared)
  for (const [code, exit] of rows) {
    const expected = kDefaultExitCodes[code as ErrorCode]
    if (expected === undefined) continue
    t.equal(Number(/^\d+/.exec(exit)?.[0]), expected, `${code}: exit ${expected}`)
  }
})

t.test('no error code is the old catch-all HP_ERR_STATE', async t => {
  t.notOk(declared.includes('HP_ERR_STATE'))
})
