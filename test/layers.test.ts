// The layer rule (.dependency-cruiser.cjs) bites: a tree that breaks it fails the check that
// `npm test` runs, and the project's own tree passes it.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const depcruise = join(root, 'node_modules', '.bin', 'depcruise')
const config = join(root, '.dependency-cruiser.cjs')

async function check (cwd: string, ...dirs: string[]): Promise<{ code: number, out: string }> {
  try {
    const r = await run(depcruise, [...dirs, '--config', config, '--output-type', 'err'], { cwd })
    return { code: 0, out: r.stdout + r.stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, out: e.stdout + e.stderr }
  }
}

function tree (t: { teardown: (fn: () => void) => void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-layers-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

const base = {
  'pipeline/errors.ts': 'export const code = 1\n',
  'adapters/file.ts': "import { code } from '../pipeline/errors.js'\nexport const file = code\n",
  'engine/cli.ts': "import { file } from '../adapters/file.js'\nimport { code } from '../pipeline/errors.js'\nexport const cli = file + code\n"
}

t.test('the project tree keeps the layer rule', async t => {
  const r = await check(root, 'engine', 'pipeline', 'adapters', 'bench', 'test')
  t.equal(r.code, 0, r.out)
})

t.test('a tree that keeps the rule passes', async t => {
  const r = await check(tree(t, base), 'engine', 'pipeline', 'adapters')
  t.equal(r.code, 0, r.out)
})

const violations: Array<[string, Record<string, string>, string]> = [
  ['pipeline/ importing engine/', { 'pipeline/bad.ts': "import { cli } from '../engine/cli.js'\nexport const bad = cli\n" }, 'pipeline-is-innermost'],
  ['pipeline/ importing adapters/', { 'pipeline/bad.ts': "import { file } from '../adapters/file.js'\nexport const bad = file\n" }, 'pipeline-is-innermost'],
  ['adapters/ importing engine/', { 'adapters/bad.ts': "import { cli } from '../engine/cli.js'\nexport const bad = cli\n" }, 'adapters-import-pipeline-only'],
  ['a cycle inside a folder', {
    'engine/a.ts': "import { b } from './b.js'\nexport const a = (): number => b() + 1\n",
    'engine/b.ts': "import { a } from './a.js'\nexport const b = (): number => a() - 1\n"
  }, 'no-cycles']
]

for (const [what, files, rule] of violations) {
  t.test(`${what} fails the check`, async t => {
    const r = await check(tree(t, { ...base, ...files }), 'engine', 'pipeline', 'adapters')
    t.not(r.code, 0, 'the check fails')
    t.match(r.out, rule, `it names the rule ${rule}`)
  })
}
