// ESLint for the whole tree (npm run lint; make test runs it first). typescript-eslint with type information:
// the project service gives each file the TypeScript project that builds or type-checks it (the nearest
// tsconfig.json, or through the root tsconfig.json's references: tsconfig.test.json for tests and test
// helpers, tsconfig.page.json for the page; scripts/tsconfig.json for the scripts), so rules such as
// no-floating-promises see the real types. Run `npm run build` first: the workspaces' types come from their
// dist/*.d.ts, as for tsc.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import recstack from './scripts/lint/import-boundaries.js';

export default defineConfig(
  globalIgnores(['**/dist/', '**/node_modules/', '.run/', 'recordings/', 'test-results/', 'loadtest/results/', 'loadtest/.cache/', 'bench/results/']),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { recstack },
    rules: {
      'recstack/import-boundaries': 'error',
      // a promise nobody awaits hides its failure; `void` says it is meant
      // (node:test's test() and describe() return promises the runner itself awaits)
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      // an async function without an await is how an implementation of a promise-returning interface (a
      // handler, a fake backend) turns a throw into a rejection: dropping `async` would change that
      '@typescript-eslint/require-await': 'off',
      // a `let` read by a closure before its one assignment (a handle the closure needs later) cannot be const
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // plain Node scripts, not in any TypeScript project: the rules without type information
    files: ['**/*.mjs', 'scripts/lint/*.js', 'eslint.config.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  {
    // the page: browser modules, type-checked through JSDoc (tsconfig.page.json)
    files: ['services/signaling/public/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
);
