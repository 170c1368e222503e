import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { ChainSchema, VariableSchema } from '../../db/entities.ts';
import { createTestDatabase, createTestWorker, testClient, uniqueTaskQueue, type TestDatabase } from '../support/stack.ts';
import { createTimeSkippingEnv } from '../support/time-skipping.ts';
import type { HarnessActivities } from '../fixtures/harness-workflows.ts';

const fixturePath = fileURLToPath(new URL('../fixtures/harness-workflows.ts', import.meta.url));
let bundleCode: string;
let db: TestDatabase;
let client: Client;

beforeAll(async () => {
  const bundle = await bundleWorkflowCode({ workflowsPath: fixturePath, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
  bundleCode = bundle.code;
  db = await createTestDatabase();
  client = await testClient();
});

afterAll(async () => {
  await client?.connection.close();
  await db?.drop();
});

describe('the test stack', () => {
  it('runs a workflow whose activity writes to PostgreSQL on the real Temporal server', async () => {
    const taskQueue = uniqueTaskQueue('harness');
    const activities: HarnessActivities = {
      async recordVisit(name) {
        const em = db.orm.em.fork();
        const existing = await em.findOne(VariableSchema, { scope: 'user', ownerKey: `harness:${name}`, name: 'visits' });
        const visits = (typeof existing?.value === 'number' ? existing.value : 0) + 1;
        if (existing) existing.value = visits;
        else em.create(VariableSchema, { id: randomUUID(), scope: 'user', ownerKey: `harness:${name}`, name: 'visits', value: visits });
        await em.flush();
        return { greeting: `Hello, ${name}`, visits };
      },
    };
    const bundlePath = join(mkdtempSync(join(tmpdir(), 'harness-')), 'bundle.js');
    writeFileSync(bundlePath, bundleCode);
    const { worker, connection } = await createTestWorker({ taskQueue, activities, workflowBundlePath: bundlePath });
    try {
      const results = await worker.runUntil(async () => {
        const first = await client.workflow.execute('visit', { taskQueue, workflowId: `harness-${randomUUID()}`, args: ['Ann'] });
        const second = await client.workflow.execute('visit', { taskQueue, workflowId: `harness-${randomUUID()}`, args: ['Ann'] });
        return [first, second];
      });
      expect(results).toEqual([
        { greeting: 'Hello, Ann', visits: 1 },
        { greeting: 'Hello, Ann', visits: 2 },
      ]);
      const row = await db.orm.em.fork().findOneOrFail(VariableSchema, { ownerKey: 'harness:Ann', name: 'visits' });
      expect(row.value).toBe(2);
    } finally {
      await connection.close();
    }
  });

  it('round-trips a Chain entity through MikroORM and PostgreSQL', async () => {
    const id = randomUUID();
    const graph = { nodes: [{ id: 'start', type: 'start', position: { x: 0, y: 0 }, data: {} }], edges: [] };
    const em = db.orm.em.fork();
    em.create(ChainSchema, { id, slug: `harness-${id.slice(0, 8)}`, name: 'Harness chain', draftGraph: graph, webChatEnabled: true });
    await em.flush();

    const loaded = await db.orm.em.fork().findOneOrFail(ChainSchema, { id });
    expect(loaded.name).toBe('Harness chain');
    expect(loaded.draftGraph).toEqual(graph);
    expect(loaded.draftRevision).toBe(1);
    expect(loaded.webChatEnabled).toBe(true);
    expect(loaded.createdAt).toBeInstanceOf(Date);
  });

  it('gives each test file its own database copied from the migrated template', async () => {
    const other = await createTestDatabase();
    try {
      expect(other.name).not.toBe(db.name);
      const count = await other.orm.em.fork().count(ChainSchema, {});
      expect(count).toBe(0);
      const tables = await other.orm.em.getConnection().execute<{ tablename: string }[]>(
        "select tablename from pg_tables where schemaname = 'public' order by tablename",
      );
      expect(tables.map((t) => t.tablename)).toEqual(
        expect.arrayContaining(['chain', 'chain_version', 'chainflow_migrations', 'run', 'run_event', 'variable']),
      );
    } finally {
      await other.drop();
    }
  });

  it('skips 30 days of workflow time on the time-skipping server', async () => {
    const env = await createTimeSkippingEnv();
    try {
      const taskQueue = uniqueTaskQueue('sleep');
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: { code: bundleCode },
      });
      const before = Date.now();
      const result = await worker.runUntil(
        env.client.workflow.execute('longSleep', { taskQueue, workflowId: `sleep-${randomUUID()}`, args: [30] }),
      );
      expect(result).toBe(30);
      // Real time stays far below the 30 days the workflow slept.
      expect(Date.now() - before).toBeLessThan(60_000);
    } finally {
      await env.teardown();
    }
  });
});
