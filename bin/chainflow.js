#!/usr/bin/env node
// The `chainflow` command. A tiny plain-JS launcher: it makes sure a Node >= 22.17 runs
// the TypeScript entry point (cli/main.ts, executed with Node's built-in type stripping)
// and that the pinned Temporal binaries are there for `start` and `test`.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import { ROOT, ensureNode, ensureWheels } from './toolchain.mjs';

const args = process.argv.slice(2);
let node;
try {
  node = ensureNode();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
if (['start', 'test', 'bench', 'bench:editor', 'record-histories'].includes(args[0] ?? '')) ensureWheels();

const nodeFlags = ['--disable-warning=ExperimentalWarning'];
const [major, minor] = process.versions.node.split('.').map(Number);
const target = node === process.execPath ? { major, minor } : { major: 24, minor: 0 };
if (target.major < 23 || (target.major === 23 && target.minor < 6)) nodeFlags.push('--experimental-strip-types');

const entry =
  args[0] === 'test'
    ? [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...args.slice(1)]
    : args[0] === 'record-histories'
      ? [join(ROOT, 'test', 'histories', 'record.ts'), ...args.slice(1)]
      : args[0] === 'bench'
        ? [join(ROOT, 'bench', 'run.ts'), ...args.slice(1)]
        : args[0] === 'bench:editor'
          ? [join(ROOT, 'bench', 'editor.ts'), ...args.slice(1)]
        : [join(ROOT, 'cli', 'main.ts'), ...args];

// glibc's allocator, unless the environment already says otherwise: at most 2 arenas and
// freed memory at the top of a heap given back past 128 KB. Without them every worker
// thread (a plugin version's host, Temporal's workflow thread) keeps arenas that glibc
// rarely returns, and RSS climbs ~28 MB over 100 plugin reloads before it levels off;
// with them +15 MB (docs/plugins.md, `npm run bench -- --plugin-reloads 100`).
const malloc = {
  MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
  MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ ?? '131072',
};

// The child gets the terminal's signals too (same process group); it handles them itself.
const child = spawn(node, [...nodeFlags, ...entry], {
  stdio: 'inherit',
  env: { ...process.env, ...malloc, PATH: `${join(node, '..')}:${process.env.PATH ?? ''}` },
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    // Forward only what the terminal did not already deliver to the whole group.
    if (sig !== 'SIGINT') child.kill(sig);
  });
}
child.on('exit', (code, signal) => {
  process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
});
