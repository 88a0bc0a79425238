// `npm run demo`: the main job on the bundled sample customers file, on this machine only.
// Runs `hashpipe hash` over test/fixtures/sample/customers.csv and writes the unique set and
// the rejects under .hashpipe/demo/.
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import hash from './commands/hash.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const sample = join(root, 'test/fixtures/sample/customers.csv')
const outDir = join(root, '.hashpipe/demo')

async function main (): Promise<number> {
  await mkdir(outDir, { recursive: true })
  const out = join(outDir, 'unique.csv')
  const rejects = join(outDir, 'rejects.csv')
  process.stdout.write(`hashpipe demo: hashing ${sample}\n\n`)
  const controller = new AbortController()
  const code = await hash([sample, '--out', out, '--rejects', rejects, '--no-progress'], {
    stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal
  })
  process.stdout.write(`\nunique identifiers: ${out}\nrejects:            ${rejects}\n`)
  return code
}

main().then(code => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`hashpipe demo: ${(err as Error).message}\n`)
  process.exitCode = 1
})
