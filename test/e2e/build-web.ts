import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    webDist: string;
  }
}

/** Once per e2e run: the production build of web/ into a temp dir (web/dist is left alone). */
export default async function setup(project: TestProject) {
  const outDir = mkdtempSync(join(tmpdir(), 'chainflow-web-'));
  const root = join(import.meta.dirname, '..', '..', 'web');
  await build({ root, configFile: join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  project.provide('webDist', outDir);
  return () => rmSync(outDir, { recursive: true, force: true });
}
