// A worker killed with `kill -9` in the middle of an agent's tool call: the session still
// finishes, and each planned tool call is made once. The worker is a real `chainflow
// worker` child process (its own process group). The model plans two calls in one step:
// `lookup` (a GET that completes before the kill) and `refund` (a POST the tool server
// performs, then holds its answer until the connection dies). The refund activity
// heartbeats, so Temporal retries it on the new worker once its heartbeat timeout (10 s)
// passes — not after the 150 s start-to-close timeout — with the same Idempotency-Key;
// the tool server dedups by that key as a real payments API does, so the refund happens
// once and the retry gets the stored answer. The lookup is not run again (its result is
// in the history).

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { createCredential } from '../../db/credential-store.ts';
import { createSecretBox } from '../../lib/secret-box.ts';
import { json, startOpenAiServer, startTestServer, type OpenAiServer, type TestServer } from '../effects/support/servers.ts';
import { publishGraph, startSession } from '../support/dialogue.ts';
import { eventually } from '../support/poll.ts';
import { createTestDatabase, testClient, testStack, uniqueTaskQueue, type TestDatabase } from '../support/stack.ts';
import { killGroup, startWorkerService, type Service } from '../production/support.ts';
import { toolMessages } from './support.ts';

const KEY = `k1:${randomBytes(32).toString('base64')}`;
const box = createSecretBox(KEY);
const { EventType, TimeoutType } = temporal.api.enums.v1;

let dir: string;
let db: TestDatabase;
let client: Client;
let provider: OpenAiServer;
let tools: TestServer;
let env: Record<string, string>;
const services: Service[] = [];
const taskQueue = uniqueTaskQueue('agent-kill');

const startWorker = (name: string): Promise<Service> => startWorkerService(name, env, dir, services);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chainflow-agent-kill-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'data'));
  db = await createTestDatabase();
  client = await testClient();
  provider = await startOpenAiServer();
  tools = await startTestServer();
  const stack = testStack();
  env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    TEMPORAL_NAMESPACE: stack.temporalNamespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    DATA_DIR: join(dir, 'data'),
    WORKFLOW_BUNDLE: stack.workflowBundlePath,
    WORKER_STICKY_TIMEOUT: '2s',
    CHAINFLOW_SECRET_KEY: KEY,
    HTTP_ALLOW_PRIVATE: '127.0.0.1,::1',
    LOG_LEVEL: 'info',
  };
}, 180_000);

afterAll(async () => {
  await Promise.allSettled(services.map((s) => s.stop()));
  await provider?.close();
  await tools?.close();
  await client?.connection.close().catch(() => {});
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('an agent whose worker is killed with kill -9 in the middle of a tool call', () => {
  it('finishes the session with each planned tool call made once', { timeout: 150_000 }, async () => {
    // The tool server: refunds are deduplicated by Idempotency-Key (the stored answer is
    // replayed); the first refund is performed, then its answer is held until the
    // connection closes (the worker dies).
    const refunds = new Map<string, { refunded: number; ref: string }>();
    let hold = true;
    tools.route('/lookup', (_req, res) => json(res, 200, { order: 7, paid: 30 }));
    tools.route('/refund', async (req, res) => {
      const key = String(req.headers['idempotency-key'] ?? '');
      const stored = refunds.get(key);
      if (stored) return json(res, 200, stored);
      const answer = { refunded: 30, ref: `R-${refunds.size + 1}` };
      refunds.set(key, answer);
      if (hold) {
        hold = false;
        await new Promise((resolve) => res.once('close', resolve));
        return;
      }
      json(res, 200, answer);
    });
    provider.script(
      { kind: 'tools', calls: [{ id: 'k1', name: 'lookup', arguments: { order: 7 } }, { id: 'k2', name: 'refund', arguments: { order: 7 } }] },
      { kind: 'reply', content: 'Order 7 is refunded.' },
    );
    const credential = await createCredential(db.orm.em.fork(), box, { name: 'agent_kill', kind: 'openai', value: 'sk-agent-kill-key-123', meta: { baseUrl: provider.baseUrl } });
    const order = { type: 'object', properties: { order: { type: 'integer' } }, required: ['order'], additionalProperties: false };
    const ids = await publishGraph(db, createChain({
      slug: 'agent-kill',
      nodes: [
        createNode('start', 'start', { trigger: { kind: 'api' } }),
        createNode('ai', 'agent', {
          credentialId: credential.id,
          model: 'test-model',
          prompt: '{{ run.task }}',
          variable: 'session.answer',
          tools: [
            { kind: 'http', name: 'lookup', parameters: order, request: { method: 'GET', url: `${tools.origin}/lookup?order={{ args.order }}` } },
            // The target honours the Idempotency-Key, so a retry after a lost answer may send again.
            { kind: 'http', name: 'refund', parameters: order, request: { method: 'POST', url: `${tools.origin}/refund`, body: { kind: 'json', json: '{"order": {{ args.order }}}' }, retryUnsafe: true, timeoutMs: 60_000 } },
          ],
        }),
        createNode('done', 'end', { outcome: 'refunded' }),
      ],
      edges: [createEdge('start', 'ai'), createEdge('ai', 'done', 'ok')],
    }));

    const worker = await startWorker('worker-1');
    const handle = await startSession(client, taskQueue, ids, { entry: 'api', channel: 'api', input: { task: 'Refund order 7' } });
    const history = async () => (await handle.fetchHistory()).events ?? [];
    // The kill point: the refund performed and its answer held, the only activity in
    // flight (the model call's and the lookup's completions are recorded).
    await eventually(async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      return refunds.size === 1 && pending.length === 1 && pending[0]?.activityType?.name === 'agentHttpTool' ? true : undefined;
    }, 'the refund to be the one call in flight', { timeoutMs: 60_000 });
    killGroup(worker.child, 'SIGKILL');
    await eventually(() => (worker.gone() ? true : undefined), 'the worker to die', { timeoutMs: 10_000, intervalMs: 100 });
    await startWorker('worker-2');

    expect(await handle.result()).toMatchObject({ outcome: 'refunded' });
    const calls = (path: string) => tools.requests.filter((r) => r.url.split('?')[0] === path);
    expect(calls('/lookup')).toHaveLength(1);
    // The refund was sent twice (the retry after the kill) with one key, and made once.
    const keys = calls('/refund').map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(1);
    expect(refunds.size).toBe(1);
    // The model got both results, the refund's being the stored answer.
    const results = toolMessages(provider.requests.at(-1)?.body ?? {});
    expect(results.map((m) => m.tool_call_id)).toEqual(['k1', 'k2']);
    expect(results[1]?.content).toContain('R-1');
    expect(provider.requests).toHaveLength(2);
    // Retried because its heartbeats stopped, not because start-to-close ran out.
    const started = (await history()).filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED).map((e) => e.activityTaskStartedEventAttributes);
    const retried = started.find((a) => (a?.attempt ?? 1) > 1);
    expect(retried?.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
    const events = await db.orm.em.getConnection().execute<{ type: string; payload: { tool: string; ok: boolean } }[]>(`select type, payload from run_event where run_id = ? and type = 'agent.tool' order by seq`, [handle.workflowId]);
    expect(events.map((e) => [e.payload.tool, e.payload.ok])).toEqual([['lookup', true], ['refund', true]]);
  });
});
