import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { createActivities } from '../../activities/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { createTestDatabase, testSecretBox, testStack, uniqueTaskQueue, type TestDatabase } from '../support/stack.ts';
import { createTimeSkippingEnv } from '../support/time-skipping.ts';
import { publishGraph, runEvents, startSession } from '../support/dialogue.ts';

const DAY = 24 * 60 * 60 * 1000;
let env: TestWorkflowEnvironment;
let db: TestDatabase;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  db = await createTestDatabase();
  taskQueue = uniqueTaskQueue('long');
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    activities: createActivities({ orm: db.orm, logger: createLogger('silent', 'test'), secretBox: testSecretBox() }),
    workflowBundle: { codePath: testStack().workflowBundlePath },
  });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await db?.drop();
});

const api = () => createNode('start', 'start', { trigger: { kind: 'api' } });

describe('long waits on the time-skipping server', () => {
  it('sleeps through a 30-day delay and then continues', async () => {
    const ids = await publishGraph(db, createChain({
      slug: 'month',
      nodes: [api(), createNode('wait', 'delay', { mode: 'duration', duration: '30d' }), createNode('m', 'message', { text: 'a month later' }), createNode('e', 'end', { outcome: 'reminded' })],
      edges: [createEdge('start', 'wait'), createEdge('wait', 'm'), createEdge('m', 'e')],
    }));
    const handle = await startSession(env.client, taskQueue, ids, { entry: 'api', channel: 'api' });
    expect(await handle.result()).toMatchObject({ outcome: 'reminded' });
    const events = await runEvents(db, handle.workflowId);
    const started = events.find((e) => e.type === 'delay.start');
    const out = events.find((e) => e.type === 'message.out');
    expect(started?.payload.ms).toBe(30 * DAY);
    expect(out?.payload.text).toBe('a month later');
    const [row] = await db.orm.em.getConnection().execute<{ span: number }[]>(
      `select extract(epoch from (max(at) filter (where type = 'message.out') - max(at) filter (where type = 'delay.start'))) * 1000 as span from run_event where run_id = ?`,
      [handle.workflowId],
    );
    expect(Number(row?.span)).toBeGreaterThanOrEqual(30 * DAY);
  });

  it("leaves an ask through 'timeout' after three days without a reply", async () => {
    const ids = await publishGraph(db, createChain({
      slug: 'ask-timeout',
      nodes: [api(), createNode('q', 'ask', { prompt: 'Still there?', variable: 'session.a', timeout: '3d' }), createNode('gone', 'message', { text: 'Bye for now' }), createNode('e', 'end', { outcome: 'timed_out' })],
      edges: [createEdge('start', 'q'), createEdge('q', 'gone', 'timeout'), createEdge('gone', 'e')],
    }));
    const handle = await startSession(env.client, taskQueue, ids, { entry: 'api', channel: 'api' });
    expect(await handle.result()).toMatchObject({ outcome: 'timed_out' });
    const types = (await runEvents(db, handle.workflowId)).map((e) => e.type);
    expect(types).toContain('ask.timeout');
    expect(types.indexOf('ask.timeout')).toBeLessThan(types.lastIndexOf('message.out'));
  });

  it("ends with outcome 'timeout' when the ask's timeout port has no edge", async () => {
    const ids = await publishGraph(db, createChain({
      slug: 'ask-timeout-open',
      nodes: [api(), createNode('q', 'ask', { prompt: 'Still there?', variable: 'session.a', timeout: '2d' })],
      edges: [createEdge('start', 'q')],
    }));
    const handle = await startSession(env.client, taskQueue, ids, { entry: 'api', channel: 'api' });
    expect(await handle.result()).toMatchObject({ outcome: 'timeout' });
  });
});
