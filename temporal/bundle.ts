import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ROOT } from '../lib/paths.ts';

/** Entry point of the workflow code (everything the workflow sandbox runs). */
export const WORKFLOWS_PATH = join(ROOT, 'workflows', 'index.ts');

/** Folders whose sources end up in the workflow bundle. */
const BUNDLED_DIRS = ['workflows', 'chain'];

/**
 * Modules evaluated once per worker thread and shared by every cached session, instead
 * of once per session (the SDK's reusable V8 context keeps a module cache per workflow
 * otherwise). chain/runtime.ts and what it imports (re2js among them) are pure functions
 * with no per-workflow state; the one module-level value, chain/regex.ts's cache of
 * compiled patterns, maps a pattern to its compiled form, so sharing it across sessions
 * changes no result. The SDK freezes their exports. Issue 19: ~0.45 MB per session was
 * re2js alone.
 */
export const SHARED_WORKFLOW_MODULES = [join(ROOT, 'chain', 'runtime.ts')];

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** A content hash of the bundled sources and the SDK version: the cache key. */
export function workflowSourceHash(): string {
  const hash = createHash('sha256');
  const sdk = JSON.parse(readFileSync(join(ROOT, 'node_modules/@temporalio/worker/package.json'), 'utf8')) as { version: string };
  hash.update(sdk.version);
  hash.update(JSON.stringify(SHARED_WORKFLOW_MODULES.map((path) => relative(ROOT, path))));
  for (const file of BUNDLED_DIRS.flatMap((d) => sourceFiles(join(ROOT, d))).sort()) {
    hash.update(relative(ROOT, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Bundles the workflow code (webpack, as the SDK does) and returns the code. */
export async function bundleWorkflows(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    preloadModules: SHARED_WORKFLOW_MODULES,
    logger: { log: () => {}, trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: console.error },
  });
  return code;
}

/**
 * Returns the path of a bundle for the current sources: a pre-built one when its hash
 * matches, else a fresh bundle written to `cacheDir/workflow-bundle-<hash>.js`. The
 * bundling (webpack) runs in a child process so the worker's heap never holds it.
 */
export async function cachedWorkflowBundle(cacheDir: string): Promise<string> {
  const path = join(cacheDir, `workflow-bundle-${workflowSourceHash()}.js`);
  if (existsSync(path)) return path;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, join(ROOT, 'cli', 'main.ts'), 'bundle', tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`Bundling the workflow code failed (exit ${code}).`))));
  });
  renameSync(tmp, path);
  return path;
}
