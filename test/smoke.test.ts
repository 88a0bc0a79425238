import t from 'tap'
import { HashpipeError, ExitCode } from '../pipeline/errors.js'

t.test('errors carry a stable code and an exit code', async t => {
  const err = new HashpipeError('HP_ERR_USAGE', 'bad', ExitCode.USAGE)
  t.equal(err.code, 'HP_ERR_USAGE')
  t.equal(err.exitCode, 2)
  t.equal(err.name, 'HashpipeError')
})
