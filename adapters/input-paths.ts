// Input lists as written (files, directories, globs) to the files they name, in a deterministic
// order: hashpipe expands them itself, not the shell, so a config can hold `data/*.csv.gz`, and
// the list a run read (and a resume's fingerprint) is the same on every machine.
//
// - a directory stands for its files (not its subdirectories), sorted, hidden ones skipped;
// - a pattern (`*`, `?`, `[...]`, `{a,b}`, `**`) that is not an existing path stands for the
//   files it matches, sorted, hidden ones skipped; no match is an error naming the pattern;
// - anything else (a file, '-', a path that does not exist) is kept as given: opening it later
//   says what is wrong with it.
// Sorting is by code unit (not locale), so `B.csv` comes before `a.csv` everywhere.
import { readdir, stat } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { glob, isDynamicPattern } from 'tinyglobby'
import { InputError } from '../pipeline/errors.js'

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** `where` names the list in errors: a config key (`segments[0].inputs`) or the command line. */
export async function expandInputs (inputs: readonly string[], where = 'the inputs'): Promise<string[]> {
  const out: string[] = []
  for (const input of inputs) {
    if (input === '-') { out.push(input); continue }
    const st = await stat(input).catch(() => undefined)
    if (st?.isDirectory() === true) {
      out.push(...await directoryFiles(input, where))
      continue
    }
    if (st === undefined && isDynamicPattern(input)) {
      const matches = await glob([input], { absolute: isAbsolute(input), onlyFiles: true, dot: false, expandDirectories: false })
      if (matches.length === 0) {
        throw new InputError('HP_ERR_INPUT_UNREADABLE',
          `no file matches the pattern '${input}' (${where}); check the pattern (hashpipe expands it, relative to ${isAbsolute(input) ? 'its own root' : 'the current directory'}; hidden files are skipped) or list the files`,
          { file: input })
      }
      out.push(...matches.sort(byCodeUnit))
      continue
    }
    out.push(input)
  }
  return out
}

async function directoryFiles (dir: string, where: string): Promise<string[]> {
  const files: string[] = []
  for (const name of (await readdir(dir)).sort(byCodeUnit)) {
    if (name.startsWith('.')) continue
    const path = join(dir, name)
    // Through symlinks: a link to a file is a file of the directory.
    if ((await stat(path).catch(() => undefined))?.isFile() === true) files.push(path)
  }
  if (files.length === 0) {
    throw new InputError('HP_ERR_INPUT_UNREADABLE', `input directory '${dir}' (${where}) holds no files (hidden files and subdirectories are skipped); put the input files in it, or name them`, { file: dir })
  }
  return files
}
