// Lint: typescript-eslint (type-aware for promise rules) plus the determinism rules of
// DESIGN.md: workflows/ and chain/ import no I/O, no Node built-ins and no activity code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nodeBuiltins = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises',
  'http', 'http2', 'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'timers',
  'timers/promises', 'tls', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', '.tools/', 'dist/', 'web/dist/', 'coverage/', 'db/migrations/0*.ts'] },
  js.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts', 'chain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.flatMap((m) => [
            { name: m, message: 'workflows/ and chain/ are deterministic: no Node built-ins.' },
            { name: `node:${m}`, message: 'workflows/ and chain/ are deterministic: no Node built-ins.' },
          ]),
          patterns: [
            { group: ['node:*'], message: 'workflows/ and chain/ are deterministic: no Node built-ins.' },
            { group: ['**/activities/*', '**/activities', '!**/activities/types*'], message: 'Workflows import activity types only (import type).', allowTypeImports: true },
            { group: ['**/db/*', '**/api/*', '**/temporal/*', '**/cli/*', '**/lib/*', '@mikro-orm/*', 'pg', 'pino', 'express'], message: 'No I/O in workflows/ or chain/.' },
            { group: ['**/chain/index.ts', 'zod'], message: 'Workflows import chain/runtime.ts (zod-free): module state is copied per cached workflow.', allowTypeImports: true },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'No process in deterministic code.' }, { name: 'Buffer', message: 'No Buffer in deterministic code.' }],
    },
  },
  {
    files: ['chain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', '@temporalio/*'], message: 'chain/ is pure: it runs in workflows, the API and the browser.' },
            { group: ['../*', '!../*.ts'], message: 'chain/ imports nothing of ours outside chain/.' },
          ],
        },
      ],
    },
  },
);
