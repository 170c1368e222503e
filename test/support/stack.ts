import { randomBytes, randomUUID } from 'node:crypto';
import { createSecretBox, type SecretBox } from '../../lib/secret-box.ts';
import { inject } from 'vitest';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, Runtime, DefaultLogger } from '@temporalio/worker';
import type { LogLevel, LogMetadata } from '@temporalio/common';
import { isExpectedSdkWarning } from '../../temporal/runtime.ts';
import { createOrm } from '../../db/orm.ts';
import { ensureDatabase } from '../../db/embedded-postgres.ts';

/** What test/global-setup.ts starts once per run. */
export interface TestStack {
  tmpDir: string;
  pgAdminUrl: string;
  pgTemplateDatabase: string;
  temporalAddress: string;
  temporalNamespace: string;
  workflowBundlePath: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: TestStack;
  }
}

export function testStack(): TestStack {
  return inject('stack');
}

let runtimeInstalled = false;
/** Keeps the SDK's INFO lines out of the test output. */
export function quietTemporalRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const base = new DefaultLogger('WARN');
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    if (level === 'WARN' && isExpectedSdkWarning(message, meta)) return;
    base.log(level, message, meta);
  };
  Runtime.install({
    logger: {
      log,
      trace: (m, meta) => log('TRACE', m, meta),
      debug: (m, meta) => log('DEBUG', m, meta),
      info: (m, meta) => log('INFO', m, meta),
      warn: (m, meta) => log('WARN', m, meta),
      error: (m, meta) => log('ERROR', m, meta),
    },
  });
}

export interface TestDatabase {
  url: string;
  name: string;
  orm: MikroORM;
  /** Closes the ORM and drops the database. */
  drop(): Promise<void>;
}

/**
 * A fresh database for one test file, copied from the migrated template (fast: a file
 * copy on the server). Isolation is per database rather than per schema, which also
 * keeps MikroORM's default schema and the migrations table untouched.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const stack = testStack();
  const name = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await ensureDatabase(stack.pgAdminUrl, name, stack.pgTemplateDatabase);
  const url = stack.pgAdminUrl.replace(/\/postgres$/, `/${name}`);
  const orm = await createOrm({ url, poolMax: 4 });
  return {
    url,
    name,
    orm,
    drop: async () => {
      await orm.close();
      const client = new pg.Client({ connectionString: stack.pgAdminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A task queue no other test file uses. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A client on the shared dev server. */
export async function testClient(): Promise<Client> {
  const stack = testStack();
  const connection = await Connection.connect({ address: stack.temporalAddress });
  return new Client({ connection, namespace: stack.temporalNamespace });
}

/** A worker on the shared dev server with the run's workflow bundle. */
export async function createTestWorker(opts: {
  taskQueue: string;
  activities?: object;
  workflowBundlePath?: string;
}): Promise<{ worker: Worker; connection: NativeConnection }> {
  quietTemporalRuntime();
  const stack = testStack();
  const connection = await NativeConnection.connect({ address: stack.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: stack.temporalNamespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities ?? {},
    workflowBundle: { codePath: opts.workflowBundlePath ?? stack.workflowBundlePath },
  });
  return { worker, connection };
}

/** Polling lives in ./poll.ts; re-exported for the many tests that import it from here. */
export { eventually } from './poll.ts';

/** A secret box with a fresh random key (credentials created in a test file use it). */
export function testSecretBox(): SecretBox {
  return createSecretBox(`test:${randomBytes(32).toString('base64')}`);
}
