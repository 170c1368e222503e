// Lint: typescript-eslint (type-aware for promise rules) plus DESIGN.md's layout table as
// the `chainflow/layers` rule (eslint.layers.js): chain/ imports nothing of ours outside
// chain/ and no Node built-ins or I/O packages; workflows/ imports chain/ (the zod-free
// runtime entry), activity types and @temporalio/workflow; web/ imports only chain/ of our
// code; plugins/ only the plugin SDK. test/lint/layers.test.ts proves each rule bites.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import chainflow from './eslint.layers.js';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', '.tools/', 'dist/', 'web/dist/', 'coverage/', 'db/migrations/0*.ts'] },
  js.configs.recommended,
  { languageOptions: { globals: { ...globals.node } }, plugins: { chainflow } },
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
  // DESIGN.md's layout table, one policy per folder (see eslint.layers.js). Tests may import
  // anything. Each file gets exactly one `chainflow/layers` policy: flat config replaces a
  // rule's options, it does not merge them.
  {
    files: ['chain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'chainflow/layers': ['error', {
        layer: 'chain/',
        why: 'chain/ is pure and deterministic: it runs in workflows, the API and the browser, and imports nothing of ours outside chain/ (DESIGN.md, Layout).',
        packages: ['zod', 're2js'],
      }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'chainflow/layers': ['error', {
        layer: 'workflows/',
        why: 'workflows/ is deterministic Temporal code: chain/ through the zod-free chain/runtime.ts (module state is copied per cached workflow), activities as types for proxyActivities, and @temporalio/workflow (DESIGN.md, Layout).',
        ours: ['chain/runtime.ts'],
        oursTypeOnly: ['chain/', 'activities/'],
        packages: ['@temporalio/workflow', '@temporalio/common'],
        packagesTypeOnly: ['zod'],
      }],
    },
  },
  {
    files: ['workflows/**/*.ts', 'chain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'process', message: 'No process in deterministic code.' }, { name: 'Buffer', message: 'No Buffer in deterministic code.' }],
    },
  },
  {
    files: ['web/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'chainflow/layers': ['error', {
        layer: 'web/',
        why: 'The web app imports only chain/ of our code (schema, compiler); everything else through the REST API (DESIGN.md, Layout).',
        ours: ['chain/'],
        packages: '*',
      }],
    },
  },
  {
    files: ['web/*.ts'],
    rules: {
      'chainflow/layers': ['error', {
        layer: 'web/ (build config)',
        why: 'The web app imports only chain/ of our code (DESIGN.md, Layout).',
        ours: ['chain/'],
        packages: '*',
        builtins: true,
      }],
    },
  },
  {
    // A plugin is a folder plugins/<id>/ (or one under PLUGINS_DIR, outside this tree). Of
    // our code it imports the plugin SDK only, always as the package specifier
    // 'chainflow/plugin-sdk' (a self-reference through package.json "exports", added with
    // the SDK), which reads the same from plugins/ and from PLUGINS_DIR; relative imports
    // stay inside the plugin's own folder. npm packages are allowed (their dependencies go
    // in the root package.json); Node built-ins are not: the network, files and time come
    // through the SDK's ctx (ctx.fetch passes the SSRF guard and the declared hosts).
    files: ['plugins/**/*.{ts,js,mjs}'],
    ignores: ['**/*.test.ts'],
    rules: {
      'chainflow/layers': ['error', {
        layer: 'plugins/',
        why: "A plugin imports only the plugin SDK ('chainflow/plugin-sdk') of our code and reaches the network and files through ctx (DESIGN.md, Plugins).",
        within: 2,
        ours: ['chainflow/plugin-sdk'],
        packages: '*',
      }],
    },
  },
);
