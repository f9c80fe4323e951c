// ESLint for hls-gate (`npm run lint`, part of `npm test`): the recommended rules of eslint and typescript-eslint,
// type-aware for TypeScript, plus the project's standards from issue 24 ("One fact, one place").
// Flat config: https://eslint.org/docs/latest/use/configure/configuration-files
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// A later config object's options for a rule replace an earlier one's (they are not merged), so every
// `no-restricted-imports` below repeats the restrictions of the folders that contain it.
const noCliInServer = {
  // The server is a library; the `hls-gate` command depends on it, never the reverse.
  regex: '^\\.{1,2}/(?:.*/)?cli(?:/|$)',
  message:
    'server/ must not import from cli/: move what both need into server/ (the command imports the server, not the reverse).',
};
const noNodeBuiltins = {
  // server/core and server/app run unchanged on Node and Cloudflare Workers: web-standard APIs only
  // (tsconfig.core.json checks the same thing with no Node types).
  group: ['node:*', ...builtinModules.filter((name) => !name.startsWith('_'))],
  message: 'server/core and server/app use web-standard APIs only: Node-only code belongs in server/node.',
};

export default defineConfig(
  {
    ignores: [
      'dist/',
      'player/dist/',
      'media/',
      'node_modules/',
      'test-artifacts/',
      'bench/.tmp/',
      '.wrangler/',
      '.dev-keys/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // One TypeScript program per tsconfig.json (server/worker has its own), built once for all files.
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // A leading underscore marks a binding kept on purpose: `const { secret: _secret, ...rest } = o` omits a key.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // Off: `async` without `await` is how this code implements a Promise-returning interface (storage, session
      // stores, fetch handlers), and it turns a throw into a rejection; dropping it would change behaviour.
      '@typescript-eslint/require-await': 'off',
      // Off: every control-character class in this code is there to refuse control characters in hostile input
      // (media paths, policy resources, playlist attributes, subjects), which is the case the rule cannot tell apart.
      'no-control-regex': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSAsExpression > TSNeverKeyword, TSTypeAssertion > TSNeverKeyword',
          message: '`as never` silences the type checker: give the value its real type.',
        },
      ],
    },
  },
  {
    // Plain JavaScript (scripts/, bench/, bin/): Node globals, no type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
  {
    // Tests read JSON bodies (`await res.json()`, `JSON.parse`) as `any` and let `expect` be the check; typing
    // each body first would add nothing. Explicit `any` and `as never` stay errors here too.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['server/**'],
    rules: {
      // Issue 24: no function under server/ longer than 80 lines (a parser may be, with a comment saying why
      // and an eslint-disable-next-line naming this rule).
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      'no-restricted-imports': ['error', { patterns: [noCliInServer] }],
    },
  },
  {
    files: ['server/core/**', 'server/app/**', 'client/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [noCliInServer, noNodeBuiltins] }],
    },
  },
);
