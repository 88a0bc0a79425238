// Every refusal on the distribute path names a command that gets the user out. Each refusal that
// a test can provoke is provoked here, the command it names is checked against
// `distribute --help` and run, and the distribution must then be where it should be. A scan of
// the distribute sources checks that every option any message names exists.
import t from 'tap'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { distributeWorld, people, expectedMembers, namedCommands, type World } from '../helpers/distribute-world.js'
import { runCli } from '../helpers/cli.js'

let helpText: string | undefined
async function help (w: World): Promise<string> {
  helpText ??= (await w.run(['distribute', '--help'])).stdout
  return helpText
}

/** The commands a refusal names, each checked against the help; returns them. */
async function waysOut (t: { ok: (v: unknown, m: string) => void, match: (a: string, b: string, m: string) => void, equal: (a: unknown, b: unknown, m: string) => void }, w: World, stderr: string): Promise<string[][]> {
  const commands = namedCommands(stderr)
  t.ok(commands.length > 0, `the refusal names a command: ${stderr.split('\n').find(l => l.startsWith('hashpipe: ')) ?? stderr}`)
  for (const c of commands) {
    for (const flag of c.filter(a => a.startsWith('--'))) t.match(await help(w), flag, `${flag} is a distribute option`)
    t.equal(c[c.indexOf('--config') + 1], w.config, 'the config is named')
  }
  return commands
}

t.test('an interrupted run refuses --dry-run, and an input changed under it refuses to resume', async t => {
  const w = await distributeWorld(t, 'first-party')
  writeFileSync(w.input, people(0, 200))
  t.equal((await w.distribute([], { HASHPIPE_CRASHPOINT: 'after-plan' })).signal, 'SIGKILL')
  const dry = await w.distribute(['--dry-run'])
  t.equal(dry.code, 2)
  const [finish, discard] = await waysOut(t, w, dry.stderr)
  t.ok(finish !== undefined && !finish.includes('--restart') && discard?.includes('--restart') === true, 'finish it, or discard it')
  const finished = await w.run(finish!)
  t.equal(finished.code, 0, finished.stderr)
  t.same(w.members(), expectedMembers(0, 200))

  writeFileSync(w.input, people(0, 250))
  t.equal((await w.distribute([], { HASHPIPE_CRASHPOINT: 'after-plan' })).signal, 'SIGKILL')
  writeFileSync(w.input, people(0, 260))
  const changed = await w.distribute()
  t.equal(changed.code, 1)
  t.match(changed.stderr, /changed size/)
  const [restart] = await waysOut(t, w, changed.stderr)
  t.ok(restart?.includes('--restart'))
  const restarted = await w.run(restart!)
  t.equal(restarted.code, 0, restarted.stderr)
  t.same(w.members(), expectedMembers(0, 260))
})

t.test('the mass-delete guard names --allow-mass-delete', async t => {
  const w = await distributeWorld(t, 'first-party-record-sync')
  writeFileSync(w.input, people(0, 300))
  t.equal((await w.distribute()).code, 0)
  writeFileSync(w.input, people(0, 10))
  const refused = await w.distribute()
  t.equal(refused.code, 1)
  const [allow] = await waysOut(t, w, refused.stderr)
  t.ok(allow?.includes('--allow-mass-delete'))
  const r = await w.run(allow!)
  t.equal(r.code, 0, r.stderr)
  t.same(w.members(), expectedMembers(0, 10))
})

t.test('every option a distribute-path message names exists', async t => {
  const root = fileURLToPath(new URL('../../../', import.meta.url))
  const sources = [
    ...readdirSync(join(root, 'engine/distribute')).filter(f => f.endsWith('.ts')).map(f => join(root, 'engine/distribute', f)),
    join(root, 'engine/commands/distribute.ts')
  ]
  const distributeHelp = (await runCli(['distribute', '--help'])).stdout
  const connectHelp = (await runCli(['connect', '--help'])).stdout
  const hashHelp = (await runCli(['hash', '--help'])).stdout
  const segmentsHelp = (await runCli(['segments', '--help'])).stdout
  const resetHelp = (await runCli(['distributions', '--help'])).stdout
  let checked = 0
  for (const file of sources) {
    const text = readFileSync(file, 'utf8')
    // Message text: the literals handed to an error, to a log warning, or to command().
    for (const m of text.matchAll(/(?:Error\(|warn\(|command\()[^\n]*/g)) {
      for (const flag of m[0].matchAll(/--[a-z][a-z-]+/g)) {
        // An option counts for the command the message names before it.
        const before = m[0].slice(0, flag.index)
        // 'distributions reset' first: at the same position as 'distribute', the longer name wins (the sort is stable).
        const named = ['distributions reset', 'distribute', 'connect tiktok', 'hashpipe hash', 'segments clone'].map(c => [c, before.lastIndexOf(c)] as const).sort((a, b) => b[1] - a[1])[0]!
        const help = named[1] < 0 || named[0] === 'distribute' ? distributeHelp : named[0] === 'distributions reset' ? resetHelp : named[0] === 'connect tiktok' ? connectHelp : named[0] === 'hashpipe hash' ? hashHelp : segmentsHelp
        const known = help.includes(flag[0])
        t.ok(known, `${flag[0]} (${file.slice(root.length)}) is an option of the command it names`)
        checked++
      }
    }
  }
  t.ok(checked >= 6, `${checked} options named in messages`)
})
