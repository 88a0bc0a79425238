// hashpipe's version, read from package.json at run time so a release bumps one file only.
// From dist/engine/version.js the package root is two levels up; package.json ships with the
// package, so a missing or unreadable one is a broken install and fails loudly.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const pkg = require('../../package.json') as { version?: unknown }
if (typeof pkg.version !== 'string') throw new Error("hashpipe's package.json has no version")

export const VERSION: string = pkg.version
