// `hashpipe segments clone NAME --name NEW --config FILE`: the integration's workaround for
// sending one segment to several TikTok ad accounts (docs/integration-rules.md). TikTok refuses the same segment in two ad accounts, so
// the segment is copied under a unique name (same inputs, columns, type), without a
// destination, right after the original. The file is edited through the yaml Document API so
// comments and the rest of the layout survive, and replaced atomically; values are copied as
// written, never interpolated (a ${VAR} stays a ${VAR}).
import { parseArgs } from 'node:util'
import { readFile, stat } from 'node:fs/promises'
import { extname } from 'node:path'
import { isMap, isSeq, parseDocument, type Document, type YAMLMap } from 'yaml'
import { checkConfig, configError, formatProblem, readConfigText, MAX_SEGMENT_NAME } from '../config.js'
import { readTree } from '../config-source.js'
import { shellQuote } from '../config-rules.js'
import { ExitCode, HashpipeError, UsageError } from '../../pipeline/errors.js'
import { AtomicFileWriter } from '../../adapters/atomic-file.js'
import type { CommandIo } from '../command.js'

const kHelp = `usage: hashpipe segments clone NAME --name NEW --config FILE

TikTok does not allow the same segment to be sent to multiple TikTok ad accounts. To send a
segment to another ad account, clone it under a unique name and give the clone that
account's destination.

clone writes a copy of segment NAME named NEW (same inputs, columns, type and format, no
destination) into the config file, right after NAME, keeping the file's comments and layout.

  --name NEW          the clone's name (unique, at most ${MAX_SEGMENT_NAME} characters)
  --config FILE       the config file to edit (required)
  -h, --help
`

const kOptions = {
  name: { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false }
} as const

export default async function segments (argv: string[], io: CommandIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: kOptions, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see hashpipe segments --help)`)
  }
  const { values, positionals } = parsed
  if (values.help) { io.stdout.write(kHelp); return ExitCode.OK }
  const [sub, source, ...extra] = positionals
  if (sub !== 'clone') throw new UsageError(`${sub === undefined ? 'a subcommand is required' : `unknown subcommand '${sub}'`}: hashpipe segments clone NAME --name NEW --config FILE`)
  if (source === undefined || extra.length > 0) throw new UsageError('name exactly one segment to clone: hashpipe segments clone NAME --name NEW --config FILE')
  if (values.name === undefined) throw new UsageError('--name NEW is required: the clone needs a unique name')
  if (values.config === undefined) throw new UsageError('--config FILE is required')
  const file = values.config
  const target = values.name.trim()
  if (target === '' || target.length > MAX_SEGMENT_NAME || /[\r\n\0]/.test(target)) {
    throw new UsageError(`--name must be 1 to ${MAX_SEGMENT_NAME} characters on one line`)
  }

  const original = await readConfigText(file)
  const json = extname(file).toLowerCase() === '.json'
  const syntax = readTree(original, json ? 'json' : 'yaml')
  if (syntax.problems.length > 0) throw configError(syntax.problems, file)
  const doc = parseDocument(original, { intAsBigInt: true, schema: json ? 'json' : 'core' })
  const list = doc.get('segments', true)
  if (!isSeq(list)) throw new UsageError(`config '${file}' has no segments list`)

  const items = list.items.filter(isMap)
  const nameOf = (m: YAMLMap): string => String(m.get('name') ?? '').trim()
  const index = list.items.findIndex(m => isMap(m) && nameOf(m) === source.trim())
  if (index === -1) {
    throw new UsageError(`no segment named '${source}' in '${file}'; segments: ${items.map(m => `'${nameOf(m)}'`).join(', ') || '(none)'}`)
  }
  if (items.some(m => nameOf(m).toLowerCase() === target.toLowerCase())) {
    throw new UsageError(`a segment named '${target}' already exists in '${file}'; choose another --name`)
  }

  const from = list.items[index] as YAMLMap
  const clone = from.clone() as YAMLMap
  clone.set('name', target)
  clone.delete('destination')
  clone.delete('destinations')
  clone.commentBefore = ` cloned from '${source}' (hashpipe segments clone): set its destination to another ad account`
  list.items.splice(index + 1, 0, clone)

  const text = json ? toJson(doc) : doc.toString()
  await replaceFile(file, original, text, io)

  const { problems } = checkConfig(text, { path: file, env: io.env })
  const fromDestinations = from.get('destination')
  const lines = [
    `cloned segment '${source}' as '${target}' in ${file} (same inputs and columns, no destination).`,
    'Next:',
    '  1. add a destination for the other TikTok ad account under destinations: (name, integration, advertiser_id, connection)',
    `  2. set destination: of segment '${target}' to it`,
    ...(isSeq(fromDestinations) && fromDestinations.items.length > 1 ? [`  -  and leave segment '${source}' with one destination only`] : []),
    `  3. hashpipe validate --config ${shellQuote(file)}`,
    `  4. hashpipe distribute --config ${shellQuote(file)} --segment ${shellQuote(target)}`
  ]
  io.stdout.write(lines.join('\n') + '\n')
  if (problems.length > 0) {
    io.stderr.write(`note: the config still has ${problems.length} problem${problems.length === 1 ? '' : 's'} to fix:\n${problems.map(p => `  ${formatProblem(p)}\n`).join('')}`)
  }
  return ExitCode.OK
}

/** JSON out, with integers written back exactly as read (BigInt, never through a float). */
function toJson (doc: Document): string {
  const marks: string[] = []
  const out = JSON.stringify(doc.toJS(), (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v
    marks.push(v.toString())
    return `\u0000bigint:${marks.length - 1}`
  }, 2)
  return out.replace(/"\\u0000bigint:(\d+)"/g, (_m, i: string) => marks[Number(i)]!) + '\n'
}

/** Atomic replace (temp + fsync + rename) with the file's mode, refused if the file changed meanwhile. */
async function replaceFile (file: string, original: string, text: string, io: CommandIo): Promise<void> {
  const { mode } = await stat(file)
  const writer = await AtomicFileWriter.create(file, io.stdout, mode & 0o777)
  try {
    await writer.write(text)
    if (await readFile(file, 'utf8') !== original) {
      throw new HashpipeError('HP_ERR_REFUSED', `'${file}' changed while it was being edited; nothing was written, run the command again`)
    }
    await writer.commit()
  } catch (err) {
    await writer.abort()
    throw err
  }
}
