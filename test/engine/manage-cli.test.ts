// The management commands are wired into the CLI: listed in its usage, each with --help, and a
// usage error is exit 2 with the `hashpipe: CODE: message` line.
import t from 'tap'
import { runCli } from '../helpers/cli.js'

t.test('usage lists them; each has --help; a wrong subcommand is exit 2', async t => {
  const usage = await runCli(['--help'])
  for (const c of ['audiences', 'connections', 'distributions']) t.match(usage.stdout, new RegExp(`^ {2}${c} +\\S`, 'm'))
  const [a, c, d, bad] = await Promise.all([
    runCli(['audiences', '--help']),
    runCli(['connections', '--help']),
    runCli(['distributions', '--help']),
    runCli(['distributions', 'undo', 'x:y'])
  ])
  t.equal(a.code, 0)
  t.match(a.stdout, /hashpipe audiences delete --config FILE --audience-id ID \[--with-distribution\] \[--yes\]/)
  t.equal(c.code, 0)
  t.match(c.stdout, /hashpipe connections remove NAME --config FILE \[--yes\] \[--force\]/)
  t.equal(d.code, 0)
  t.match(d.stdout, /The next 'hashpipe distribute' for it then plans from nothing/)
  t.equal(bad.code, 2)
  t.match(bad.stderr, /^hashpipe: HP_ERR_USAGE: usage: hashpipe distributions reset SEGMENT:DESTINATION/m)
})
