// The README's command synopses and the commands' own --help cannot drift apart: every command
// `hashpipe --help` lists is asked for its help, and its usage lines must be the README's list.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { runCli } from '../helpers/cli.js'

const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8')

/** The usage block at the top of a help text: `usage: hashpipe …` and its continuation lines. */
function usageLines (help: string): string[] {
  const lines = help.split('\n')
  const out: string[] = []
  for (const line of lines) {
    const m = /^(?:usage: | {7})(hashpipe .*)$/.exec(line)
    if (m === null) break
    out.push(m[1]!.trimEnd())
  }
  return out
}

t.test('every command\'s --help synopsis is in the README, and the README lists no other', async t => {
  const top = await runCli(['--help'])
  t.equal(top.code, 0, top.stderr)
  const commands = [...top.stdout.split('commands:\n')[1]!.split('\n\n')[0]!.matchAll(/^ {2}(\S+)/gm)].map(m => m[1]!)
  t.ok(commands.length >= 13, `commands listed: ${commands.join(', ')}`)
  const helps = await Promise.all(commands.map(async c => ({ c, r: await runCli([c, '--help']) })))
  const fromHelp: string[] = []
  for (const { c, r } of helps) {
    t.equal(r.code, 0, `${c} --help: ${r.stderr}`)
    const lines = usageLines(r.stdout)
    t.ok(lines.length > 0, `${c} --help starts with its usage line`)
    t.ok(lines.every(l => l.startsWith(`hashpipe ${c} `) || l === `hashpipe ${c}`), `${c}: its synopses name it`)
    fromHelp.push(...lines)
  }
  const block = /<!-- synopses:begin -->\n```text\n([\s\S]*?)```\n<!-- synopses:end -->/.exec(readme)
  t.ok(block, 'the README has the synopses block')
  const fromReadme = block![1]!.split('\n').filter(l => l !== '')
  t.same(fromReadme, fromHelp, 'README synopses = the commands\' --help, in the order hashpipe --help lists them')
})
