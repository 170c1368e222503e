import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../db/embedded-postgres.ts';
import { createOrm, migrate } from '../db/orm.ts';
import { startDevServer } from '../temporal/dev-server.ts';
import { bundleWorkflows } from '../temporal/bundle.ts';
import { onFreePort } from '../lib/processes.ts';
import type { TestStack } from './support/stack.ts';

/**
 * Once per `npm test`: a real PostgreSQL (migrated template database) and a real
 * Temporal dev server on random free ports in temp dirs, and the workflow bundle.
 * Everything is torn down afterwards.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'chainflow-test-'));
  chmodSync(dir, 0o755);
  // A port picked free may be taken before the server binds it (busy machine): then the
  // server is started again on another one.
  const [pg, temporal, bundle] = await Promise.all([
    onFreePort((port) => startEmbeddedPostgres({ dir: join(dir, 'postgres'), port, database: 'chainflow_template' })),
    onFreePort((port) => startDevServer({ dir: join(dir, 'temporal'), namespace: 'chainflow', port, uiPort: false, persist: false })),
    bundleWorkflows(),
  ]);
  const orm = await createOrm({ url: pg.url, poolMax: 1 });
  await migrate(orm);
  await orm.close();
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle);

  const stack: TestStack = {
    tmpDir: dir,
    pgAdminUrl: pg.adminUrl,
    pgTemplateDatabase: 'chainflow_template',
    temporalAddress: temporal.address,
    temporalNamespace: temporal.namespace,
    workflowBundlePath: bundlePath,
  };
  project.provide('stack', stack);

  return async () => {
    await Promise.allSettled([temporal.stop(), pg.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
}
