// An operator approval waited for five days across a worker restart, on the
// time-skipping server: the tool runs once, after the approval, and the session ends.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { createActivities } from '../../activities/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { approvalSignal, stateQuery } from '../../temporal/contracts.ts';
import { json, startOpenAiServer, startTestServer, type OpenAiServer, type TestServer } from '../effects/support/servers.ts';
import { publishGraph, startSession } from '../support/dialogue.ts';
import { eventually } from '../support/poll.ts';
import { createTestDatabase, testSecretBox, testStack, uniqueTaskQueue, type TestDatabase } from '../support/stack.ts';
import { createTimeSkippingEnv } from '../support/time-skipping.ts';
import { providerCredential } from './support.ts';

const DAY = 24 * 60 * 60 * 1000;
let env: TestWorkflowEnvironment;
let db: TestDatabase;
let provider: OpenAiServer;
let tools: TestServer;
const secretBox = testSecretBox();
const taskQueue = uniqueTaskQueue('agent-wait');

async function startWorker() {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    activities: createActivities({ orm: db.orm, logger: createLogger('silent', 'test'), secretBox, ssrf: { allow: ['127.0.0.1', '::1'] } }),
    workflowBundle: { codePath: testStack().workflowBundlePath },
    // No sticky cache: every workflow task replays the history on whichever worker takes
    // it (the time-skipping server would hold tasks for the stopped worker's sticky queue).
    maxCachedWorkflows: 0,
  });
  const running = worker.run();
  return async () => {
    worker.shutdown();
    await running;
  };
}

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  db = await createTestDatabase();
  provider = await startOpenAiServer();
  tools = await startTestServer();
});
afterAll(async () => {
  await provider?.close();
  await tools?.close();
  await env?.teardown();
  await db?.drop();
});

describe('agent approvals on the time-skipping server', () => {
  it('waits five days for the operator across a worker restart, then runs the tool once', async () => {
    tools.route('/refund', (_req, res) => json(res, 200, { refunded: true }));
    const credentialId = await providerCredential({ db, secretBox }, provider.baseUrl);
    provider.script(
      { kind: 'tools', calls: [{ id: 'refund-1', name: 'refund', arguments: { order: 5 } }] },
      { kind: 'reply', content: 'Refunded order 5.' },
    );
    const ids = await publishGraph(db, createChain({
      slug: 'agent-wait',
      nodes: [
        createNode('start', 'start', { trigger: { kind: 'api' } }),
        createNode('ai', 'agent', {
          credentialId,
          model: 'test-model',
          prompt: '{{ run.task }}',
          variable: 'session.answer',
          tools: [{ kind: 'http', name: 'refund', needsApproval: 'operator', parameters: { type: 'object', properties: { order: { type: 'integer' } }, required: ['order'] }, request: { method: 'POST', url: `${tools.origin}/refund`, body: { kind: 'json', json: '{"order": {{ args.order }}}' } } }],
        }),
        createNode('e', 'end', { outcome: 'refunded' }),
      ],
      edges: [createEdge('start', 'ai'), createEdge('ai', 'e', 'ok')],
    }));
    let stop = await startWorker();
    const handle = await startSession(env.client, taskQueue, ids, { entry: 'api', channel: 'api', input: { task: 'Refund order 5' } });
    const waiting = await eventually(async () => { const view = await handle.query(stateQuery); return view.wait?.kind === 'agent' ? view.wait : undefined; }, 'the agent to wait for the operator');
    expect(waiting).toMatchObject({ kind: 'agent', callId: 'refund-1', from: 'operator' });
    await stop();
    await env.sleep(5 * DAY);
    stop = await startWorker();
    try {
      // The wait as the session last flushed it, and as the new worker replays it.
      expect((await handle.query(stateQuery)).wait).toMatchObject({ kind: 'agent', callId: 'refund-1', from: 'operator' });
      const [run] = await db.orm.em.getConnection().execute<{ status: string; current_node: string }[]>(`select status, current_node from run where id = ?`, [handle.workflowId]);
      expect(run).toMatchObject({ status: 'waiting', current_node: 'ai' });
      expect(tools.requests).toHaveLength(0);
      await handle.signal(approvalSignal, { callId: 'refund-1', approved: true, by: 'ops' });
      expect(await handle.result()).toMatchObject({ outcome: 'refunded' });
    } finally {
      await stop();
    }
    expect(tools.requests.map((r) => [r.method, r.url, r.body.toString('utf8')])).toEqual([['POST', '/refund', '{"order": 5}']]);
    const [row] = await db.orm.em.getConnection().execute<{ span: number }[]>(
      `select extract(epoch from (max(at) filter (where type = 'agent.approval') - max(at) filter (where type = 'agent.approval_requested'))) * 1000 as span from run_event where run_id = ?`,
      [handle.workflowId],
    );
    expect(Number(row?.span)).toBeGreaterThanOrEqual(5 * DAY);
  });
});
