// `hashpipe validate --config FILE`: schema and semantic checks (docs/cli-contract.md). Exit 0 with a
// one-line summary, or 78 with every problem by key path. The environment check (inputs exist,
// connections made) follows Vector's `validate`; --no-environment skips it, e.g. in CI before
// the data arrives. Nothing printed here can carry the secret: counts, names and problems only.
import { parseArgs } from 'node:util'
import { access, stat } from 'node:fs/promises'
import { constants } from 'node:fs'
import { checkConfig, formatProblem, readConfigText, type ConfigProblem, type ResolvedConfig } from '../config.js'
import { TokenStore } from '../state/token-store.js'
import { ExitCode, HashpipeError, UsageError } from '../../pipeline/errors.js'
import type { CommandIo } from '../command.js'
import { audienceTypeProblems } from '../distribute/audience-type.js'
import { expandInputs } from '../../adapters/input-paths.js'

const kHelp = `usage: hashpipe validate --config FILE [--json] [--no-environment]

Checks a hashpipe config file (YAML or JSON): every key against the schema, \${VAR}
interpolation, and TikTok's rules (unique names, 19-digit advertiser ids as strings, one
segment to one ad account, Data Marketplace agreements, Record Sync in the US only).
Then, unless --no-environment, that every segment's input files exist and are readable, and
that no destination's audience_type differs from the type of an audience it already has.

  --config FILE       the config file (required)
  --json              print {"ok", "problems": [{"path", "message"}], ...} on stdout
  --no-environment    skip the checks of input files and connections
  -h, --help

Prints "config OK: N destinations, M segments" and exits 0, or lists every problem by key
path and exits 78. Connections not made yet are noted, not errors.
`

const kOptions = {
  config: { type: 'string' },
  json: { type: 'boolean', default: false },
  'no-environment': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} as const

export default async function validate (argv: string[], io: CommandIo): Promise<number> {
  let values
  try {
    values = parseArgs({ args: argv, options: kOptions, allowPositionals: false, strict: true }).values
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe validate --help)`)
  }
  if (values.help) { io.stdout.write(kHelp); return ExitCode.OK }
  if (values.config === undefined) throw new UsageError('--config FILE is required (see hashpipe validate --help)')
  const file = values.config

  let problems: ConfigProblem[]
  let config: ResolvedConfig | undefined
  const notes: string[] = []
  try {
    const text = await readConfigText(file)
    ;({ config, problems } = checkConfig(text, { path: file, env: io.env }))
  } catch (err) {
    if ((err as HashpipeError).code !== 'HP_ERR_CONFIG_INVALID') throw err
    problems = [{ path: '', message: (err as { issues: string[] }).issues.join('; ') }]
  }
  if (config !== undefined && !values['no-environment']) {
    problems = await checkEnvironment(config)
    try {
      problems.push(...audienceTypeProblems(config.stateDir, config.destinations))
    } catch (err) {
      notes.push(`cannot check recorded audience types in state_dir '${config.stateDir}': ${(err as Error).message}`)
    }
    notes.push(...connectionNotes(config, file))
  }

  const ok = config !== undefined && problems.length === 0
  if (values.json) {
    io.stdout.write(JSON.stringify({
      ok,
      file,
      destinations: config?.destinations.length ?? null,
      segments: config?.segments.length ?? null,
      conversions: config?.conversions.length ?? null,
      problems,
      notes
    }) + '\n')
  } else if (ok) {
    io.stdout.write(`config OK: ${count(config!.destinations.length, 'destination')}, ${count(config!.segments.length, 'segment')}${config!.conversions.length === 0 ? '' : `, ${config!.conversions.length} conversions ${config!.conversions.length === 1 ? 'entry' : 'entries'}`}\n`)
    for (const n of notes) io.stderr.write(`note: ${n}\n`)
  } else {
    io.stderr.write(`hashpipe: config '${file}' is invalid (${count(problems.length, 'problem')}):\n${problems.map(p => `  ${formatProblem(p)}\n`).join('')}`)
  }
  return ok ? ExitCode.OK : ExitCode.CONFIG
}

/** Input files that don't exist or can't be read, by key path. */
async function checkEnvironment (config: ResolvedConfig): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = []
  const inputs = [
    ...config.segments.flatMap((s, i) => s.inputs.map((input, j) => ({ input, path: `segments[${i}].inputs[${j}]` }))),
    ...config.conversions.flatMap((c, i) => c.inputs.map((input, j) => ({ input, path: `conversions[${i}].inputs[${j}]` })).filter(x => x.input !== '-'))
  ]
  for (const { input: given, path } of inputs) {
    // A directory or glob is checked as the files it names now.
    let files: string[]
    try {
      files = await expandInputs([given], path)
    } catch (err) {
      problems.push({ path, message: (err as Error).message })
      continue
    }
    for (const input of files) problems.push(...await checkFile(input, path))
  }
  return problems
}

/** One input file's problem, if any. */
async function checkFile (input: string, path: string): Promise<ConfigProblem[]> {
  try {
    const st = await stat(input)
    if (!st.isFile() && !st.isFIFO()) return [{ path, message: `'${input}' is not a file` }]
    await access(input, constants.R_OK)
    return []
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return [{ path, message: code === 'ENOENT' ? `input file '${input}' does not exist (paths are relative to the config file's directory)` : `input file '${input}' can't be read: ${code ?? (err as Error).message}` }]
  }
}

function connectionNotes (config: ResolvedConfig, file: string): string[] {
  const tokens = new TokenStore(config.stateDir)
  const names = [...new Set([...config.destinations.map(d => d.connection), ...config.conversions.map(c => c.connection)])]
  try {
    return names.filter(name => !tokens.has(name)).map(name => `connection '${name}' is not made yet; run: hashpipe connect tiktok --config ${file} --name ${name}`)
  } catch (err) {
    return [`cannot check connections in state_dir '${config.stateDir}': ${(err as Error).message}`]
  }
}

function count (n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}
