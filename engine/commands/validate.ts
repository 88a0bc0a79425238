// `hashpipe validate --config FILE`: schema and semantic checks (docs/cli-contract.md). Exit 0 with a
// one-line summary, or 78 with every problem by key path. The environment check (inputs exist,
// connections made) follows Vector's `validate`; --no-environment skips it, e.g. in CI before
// the data arrives. Nothing printed here can carry the secret: counts, names and problems only.
import { parseArgs } from 'node:util'
import { access, stat } from 'node:fs/promises'
import { constants } from 'node:fs'
import { checkConfig, formatProblem, readConfigText, type ConfigProblem, type ResolvedConfig } from '../config.js'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { StateStore, DB_FILE } from '../state/state-store.js'
import type { SegmentConfig } from '../config-types.js'
import { planInputColumns } from '../hash-job.js'
import { kHashDefaults } from '../hash-options.js'
import { ExitCode, HashpipeError, UsageError } from '../../pipeline/errors.js'
import type { CommandIo } from '../command.js'
import { audienceTypeProblems } from '../distribute/audience-type.js'
import { expandInputs } from '../../adapters/input-paths.js'

const kHelp = `usage: hashpipe validate --config FILE [--json] [--no-environment]

Checks a hashpipe config file (YAML or JSON): every key against the schema, \${VAR}
interpolation, and TikTok's rules (unique names, 19-digit advertiser ids as strings, one
segment to one ad account, Data Marketplace agreements, Record Sync in the US only).
Then, unless --no-environment, what distribute would refuse: input files missing or unreadable,
columns their header rows lack (gzip included), connections not made, destinations not
activated, and a destination's audience_type that differs from its audience's.

  --config FILE       the config file (required)
  --json              print {"ok", "problems": [{"path", "message"}], ...} on stdout
  --no-environment    skip the checks of input files, state and connections
  -h, --help

Prints "config OK: N destinations, M segments" and exits 0, or lists every problem by key
path and exits 78. Before the first connect (no state database yet) connections are noted,
not errors.
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
    const connections = connectionChecks(config, file)
    problems.push(...connections.problems)
    notes.push(...connections.notes)
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
    io.stderr.write(`hashpipe: HP_ERR_CONFIG_INVALID: config '${file}' is invalid (${count(problems.length, 'problem')}):\n${problems.map(p => `  ${formatProblem(p)}\n`).join('')}`)
  }
  return ok ? ExitCode.OK : ExitCode.CONFIG
}

/** Input files that don't exist or can't be read, and columns their header rows lack, by key path. */
async function checkEnvironment (config: ResolvedConfig): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = []
  const inputs = [
    ...config.segments.flatMap((s, i) => s.inputs.map((input, j) => ({ input, path: `segments[${i}].inputs[${j}]`, segment: i }))),
    ...config.conversions.flatMap((c, i) => c.inputs.map((input, j) => ({ input, path: `conversions[${i}].inputs[${j}]`, segment: undefined })).filter(x => x.input !== '-'))
  ]
  for (const { input: given, path, segment } of inputs) {
    // A directory or glob is checked as the files it names now.
    let files: string[]
    try {
      files = await expandInputs([given], path)
    } catch (err) {
      problems.push({ path, message: (err as Error).message })
      continue
    }
    for (const input of files) {
      const found = await checkFile(input, path)
      problems.push(...found.problems)
      // The header row, as distribute would plan it; never a FIFO's, which reading would consume.
      if (segment !== undefined && found.regular) {
        const problem = await columnProblem(config.segments[segment]!, segment, input)
        if (problem !== undefined) problems.push({ path, message: problem })
      }
    }
  }
  return problems
}

/** One input file's problem, if any, and whether it is a regular file (a header to read). */
async function checkFile (input: string, path: string): Promise<{ problems: ConfigProblem[], regular: boolean }> {
  try {
    const st = await stat(input)
    if (!st.isFile() && !st.isFIFO()) return { problems: [{ path, message: `'${input}' is not a file` }], regular: false }
    await access(input, constants.R_OK)
    return { problems: [], regular: st.isFile() }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return { problems: [{ path, message: code === 'ENOENT' ? `input file '${input}' does not exist (paths are relative to the config file's directory)` : `input file '${input}' can't be read: ${code ?? (err as Error).message}` }], regular: false }
  }
}

async function columnProblem (s: SegmentConfig, i: number, input: string): Promise<string | undefined> {
  try {
    await planInputColumns(input, {
      ...(s.format !== undefined ? { format: s.format } : {}),
      ...(s.delimiter !== undefined ? { delimiter: s.delimiter } : {}),
      ...(s.type !== undefined ? { type: s.type } : {}),
      ...(s.columns !== undefined ? { columns: s.columns } : {}),
      optionNames: { columns: `segments[${i}].columns`, type: `segments[${i}].type` },
      maxRecordBytes: kHashDefaults.maxRecordBytes
    })
    return undefined
  } catch (err) {
    const e = err as HashpipeError
    if (typeof e.code !== 'string' || !e.code.startsWith('HP_ERR_INPUT_')) throw err
    return e.message
  }
}

/**
 * What distribute would refuse before sending: connections never made, destinations not
 * activated (the state catalog, read only). Before any connect at all there is no state
 * database: one note says so, with the command.
 */
function connectionChecks (config: ResolvedConfig, file: string): { problems: ConfigProblem[], notes: string[] } {
  const connect = (name: string): string => `hashpipe connect tiktok --config ${file} --name ${name}`
  const names = [...new Set([...config.destinations.map(d => d.connection), ...config.conversions.map(c => c.connection)])]
  if (names.length === 0) return { problems: [], notes: [] }
  if (!existsSync(join(config.stateDir, DB_FILE))) {
    return { problems: [], notes: names.map(name => `connection '${name}' is not connected yet; run: ${connect(name)}`) }
  }
  let state: StateStore
  try {
    state = StateStore.open(config.stateDir)
  } catch (err) {
    return { problems: [], notes: [`cannot check connections in state_dir '${config.stateDir}': ${(err as Error).message}`] }
  }
  try {
    const problems: ConfigProblem[] = []
    const missing = new Set(names.filter(name => state.catalog.connection(name) === undefined || !state.tokens.has(name)))
    config.destinations.forEach((d, i) => {
      if (missing.has(d.connection)) {
        problems.push({ path: `destinations[${i}].connection`, message: `connection '${d.connection}' is not made yet; run: ${connect(d.connection)}` })
        return
      }
      const connection = state.catalog.connection(d.connection)!
      const recorded = state.catalog.destination(d.name)
      if (!connection.advertiserIds.includes(d.advertiserId)) {
        problems.push({ path: `destinations[${i}].advertiser_id`, message: `connection '${d.connection}' does not reach advertiser ${d.advertiserId}; authorize that ad account for the app, then run: ${connect(d.connection)}` })
      } else if (recorded === undefined || recorded.activatedAt === null || recorded.advertiserId !== d.advertiserId || recorded.connection !== d.connection) {
        problems.push({ path: `destinations[${i}]`, message: `destination '${d.name}' is not activated${recorded?.role === 'ANALYST' ? ' (the authorizing user is an Analyst; an Ad Account Admin or Operator must connect)' : ''}; run: ${connect(d.connection)}` })
      }
    })
    config.conversions.forEach((c, i) => {
      if (missing.has(c.connection)) problems.push({ path: `conversions[${i}].connection`, message: `connection '${c.connection}' is not made yet; run: ${connect(c.connection)}` })
    })
    return { problems, notes: [] }
  } finally {
    state.close()
  }
}

function count (n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}
