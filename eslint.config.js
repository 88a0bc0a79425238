// neostandard (standard style, TypeScript-aware) plus the rules this codebase leans on: no
// floating promises (an unawaited write or send loses its error), node: imports, and
// process.exit only in the CLI entry, where exit codes are decided.
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'build/**', 'node_modules/**', 'bench/node_modules/**', 'bench/data/**', '.tap/**'] }),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      'n/prefer-node-protocol': 'error',
      'n/no-process-exit': 'error',
      // `void promise` is how a deliberate fire-and-forget is marked for no-floating-promises.
      'no-void': ['error', { allowAsStatement: true }],
      // Metric label names and TikTok's fields are snake_case on purpose.
      camelcase: ['error', { properties: 'never', ignoreDestructuring: true, ignoreImports: true }],
      // `_` names a value that must be bound but is not used (for-await drains, tuple holes).
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', caughtErrors: 'none' }]
    }
  },
  {
    // tap tracks every subtest it is given, awaited or not; config tests spell `${VAR}` literally.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off', 'no-template-curly-in-string': 'off' }
  },
  {
    files: ['engine/cli.ts', 'bench/**/*.ts', 'test/fixtures/**/*.ts'],
    rules: { 'n/no-process-exit': 'off' }
  }
]
