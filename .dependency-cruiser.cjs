// The layer rule, checked by `npm test` (npm run check:layers). pipeline/ is the innermost layer
// and imports nothing of the project outside itself; adapters/ imports pipeline/ only; engine/
// imports both; nothing but tests and bench imports engine/. Import cycles are refused too: a
// cycle between modules is how a cycle between folders starts.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'pipeline-is-innermost',
      comment: 'pipeline/ imports nothing of the project outside itself; put I/O behind a port that adapters/ implements',
      severity: 'error',
      from: { path: '^pipeline/' },
      to: { path: '^(engine|adapters|bench|test|dashboards)/' }
    },
    {
      name: 'adapters-import-pipeline-only',
      comment: 'adapters/ may import pipeline/ and itself, never engine/, bench/ or test/',
      severity: 'error',
      from: { path: '^adapters/' },
      to: { path: '^(engine|bench|test)/' }
    },
    {
      name: 'engine-is-the-top',
      comment: 'engine/ is imported only by tests and bench',
      severity: 'error',
      from: { path: '^(pipeline|adapters)/' },
      to: { path: '^engine/' }
    },
    {
      name: 'product-does-not-import-tests-or-bench',
      severity: 'error',
      from: { path: '^(engine|pipeline|adapters)/' },
      to: { path: '^(test|bench)/' }
    },
    {
      name: 'no-cycles',
      comment: 'no import cycle between modules (and so none between folders)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|build)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    reporterOptions: { text: { highlightFocused: true } }
  }
}
