// The production shape without Docker: two `chainflow worker` and two `chainflow api`
// processes on one PostgreSQL and one Temporal server, web-chat sessions driven through
// both APIs, and a worker killed with SIGKILL twice: once while the sessions wait at an
// ask, once with messages in flight. No message may be lost or processed twice.

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { importChain, parseChainFile } from '../../api/services/chain-service.ts';
import { freePort } from '../../lib/processes.ts';
import { startDevServer, type DevServer } from '../../temporal/dev-server.ts';
import { createTestDatabase, testStack, type TestDatabase } from '../support/stack.ts';
import { killGroup, startService, type Service } from './support.ts';
import { eventually } from '../support/poll.ts';

const PROMPT = "Hi! I'm the greeting bot. What's your name?";
const RETRY = 'Please send just your name — letters only, up to 40 characters.';
const greeted = (name: string) => `Nice to meet you, ${name}! I’ll call you that instead of your Telegram name.`;
const STARTED = temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED;

/** Sessions per run: enough that both workers hold some. */
const VISITORS = Array.from({ length: 8 }, (_, i) => `visitor-${i}`);
const nameOf = (visitor: string) => `Ann${'abcdefgh'[Number(visitor.split('-')[1])] ?? 'x'}`;

let dir: string;
let db: TestDatabase;
let dev: DevServer;
let client: Client;
let env: Record<string, string>;
const services: Service[] = [];
let apis: string[] = [];

interface ChatReply {
  status: number;
  body: { runId?: string; replies?: { text: string }[]; waitingAt?: string | null; ended?: boolean; duplicate?: boolean; message?: string };
}

/** Visitor tokens by visitor id (issued with the first message, sent with every later request). */
const visitorTokens = new Map<string, string>();
const visitorHeaders = (visitor: string): Record<string, string> => {
  const token = visitorTokens.get(visitor);
  return token ? { 'x-visitor-token': token } : {};
};

/** POSTs one web-chat message through API number `api` (0 or 1). */
async function say(api: number, visitor: string, id: string, text: string): Promise<ChatReply> {
  const res = await fetch(`${apis[api]}/api/v1/chat/greeting/${visitor}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...visitorHeaders(visitor) },
    body: JSON.stringify({ id, text }),
    signal: AbortSignal.timeout(180_000),
  });
  const body = (await res.json()) as ChatReply['body'] & { visitorToken?: string };
  if (body.visitorToken) visitorTokens.set(visitor, body.visitorToken);
  return { status: res.status, body };
}

const texts = (reply: ChatReply) => (reply.body.replies ?? []).map((r) => r.text);

async function startWorker(name: string): Promise<Service> {
  const worker = startService('worker', name, env, dir);
  services.push(worker);
  const ready = await worker.logged('worker running');
  expect(ready.bundle, 'the worker uses the pre-built bundle (WORKFLOW_BUNDLE)').toBe(env.WORKFLOW_BUNDLE);
  return worker;
}

async function startApi(name: string, port: number): Promise<Service> {
  const api = startService('api', name, { ...env, PORT: String(port) }, dir);
  services.push(api);
  await api.logged('api listening');
  await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/ready`)).status === 200 ? true : undefined), `${name} to be ready`, { timeoutMs: 60_000, intervalMs: 100 });
  return api;
}

/** SIGKILL to the worker's process group; resolves when it is gone. */
async function kill9(worker: Service): Promise<void> {
  killGroup(worker.child, 'SIGKILL');
  await eventually(() => (worker.gone() ? true : undefined), `${worker.name} to die`, { timeoutMs: 10_000, intervalMs: 100 });
}

/** The identities of the workers that completed the workflow tasks of a session, in order. */
async function taskWorkers(workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => (e.workflowTaskCompletedEventAttributes?.identity ? [e.workflowTaskCompletedEventAttributes.identity] : []));
}

async function runEvents(workflowId: string): Promise<Array<{ type: string; payload: Record<string, unknown> }>> {
  return db.orm.em.fork().getConnection().execute(`select type, payload from run_event where run_id = ? order by id`, [workflowId]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chainflow-failover-'));
  chmodSync(dir, 0o755);
  db = await createTestDatabase();
  const graph = parseChainFile(readFileSync(new URL('../../examples/greeting.yaml', import.meta.url), 'utf8'));
  await importChain(db.orm.em.fork(), graph);
  dev = await startDevServer({ dir: join(dir, 'temporal'), namespace: 'chainflow', port: await freePort(), uiPort: false, persist: false });
  client = new Client({ connection: await Connection.connect({ address: dev.address }), namespace: 'chainflow' });
  mkdirSync(join(dir, 'data'));
  env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: dev.address,
    TEMPORAL_NAMESPACE: 'chainflow',
    TEMPORAL_TASK_QUEUE: 'chainflow',
    DATA_DIR: join(dir, 'data'),
    // Built once per test run by test/global-setup.ts: no worker bundles anything.
    WORKFLOW_BUNDLE: testStack().workflowBundlePath,
    // A dead worker's cached sessions move to another worker after this long.
    WORKER_STICKY_TIMEOUT: '2s',
    CHAINFLOW_SECRET_KEY: `k1:${randomBytes(32).toString('base64')}`,
    JWT_SECRET: randomBytes(48).toString('base64'),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  };
  const ports = [await freePort(), await freePort()];
  apis = ports.map((p) => `http://127.0.0.1:${p}`);
  await Promise.all([startWorker('worker-1'), startWorker('worker-2'), startApi('api-1', ports[0] ?? 0), startApi('api-2', ports[1] ?? 0)]);
}, 240_000);

afterAll(async () => {
  // Every child goes, also when an assertion failed.
  await Promise.allSettled(services.map((s) => s.stop()));
  await client?.connection.close().catch(() => {});
  await dev?.stop();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('two workers and two APIs on one PostgreSQL and one Temporal', () => {
  it('loses no message when a worker is killed while sessions wait and while messages are in flight', async () => {
    const [worker1, worker2] = services.filter((s) => s.name.startsWith('worker'));
    if (!worker1 || !worker2) throw new Error('the workers did not start');
    const byIdentity = new Map([worker1, worker2].map((w) => [w.identity(), w]));

    // 1. Every visitor says hi, alternately through both APIs; each session waits at the ask.
    const first = await Promise.all(VISITORS.map((v, i) => say(i % 2, v, `${v}-1`, 'hi')));
    for (const reply of first) {
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(texts(reply)).toEqual([PROMPT]);
      expect(reply.body.waitingAt).toBe('ask_name');
    }
    const workflowIds = first.map((r) => String(r.body.runId));

    // The worker holding the most sessions in its cache dies: kill -9, no goodbye.
    const holders = await Promise.all(workflowIds.map(async (id) => (await taskWorkers(id)).at(-1)));
    const counts = [worker1, worker2].map((w) => holders.filter((h) => h === w.identity()).length);
    expect(counts[0]! + counts[1]!, 'every session ran on one of our two workers').toBe(VISITORS.length);
    const [victim, survivor] = (counts[0] ?? 0) >= (counts[1] ?? 0) ? [worker1, worker2] : [worker2, worker1];
    const stranded = workflowIds.filter((_, i) => holders[i] === victim.identity());
    expect(stranded.length).toBeGreaterThan(0);
    await kill9(victim);

    // 2. The next message of every session (an invalid name: the ask re-asks), through the other API.
    const killedAtAsk = Date.now();
    const second = await Promise.all(VISITORS.map((v, i) => say((i + 1) % 2, v, `${v}-2`, '12345')));
    const recoveryAtAsk = Date.now() - killedAtAsk;
    for (const reply of second) {
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(texts(reply)).toEqual([RETRY]);
    }
    for (const id of stranded) expect((await taskWorkers(id)).at(-1), `${id} moved to the surviving worker`).toBe(survivor.identity());

    // 3. A replacement worker joins; the survivor now holds every session. It is frozen
    // (SIGSTOP) so the next messages are taken by it and stay in flight, then killed.
    const worker3 = await startWorker('worker-3');
    byIdentity.set(worker3.identity(), worker3);
    killGroup(survivor.child, 'SIGSTOP');
    const pending = new Set(VISITORS);
    const third = VISITORS.map((v, i) =>
      say(i % 2, v, `${v}-3`, nameOf(v)).finally(() => {
        pending.delete(v);
      }),
    );
    // Wait until the frozen worker has taken at least one of these tasks (started, never to finish).
    const takenByFrozen = await eventually(async () => {
      const taken: string[] = [];
      for (const id of workflowIds) {
        const task = (await client.workflow.getHandle(id).describe()).raw.pendingWorkflowTask;
        if (task?.state === STARTED) taken.push(id);
      }
      return taken.length > 0 ? taken : undefined;
    }, 'the frozen worker to take a workflow task', { timeoutMs: 60_000, intervalMs: 100 });
    const inFlightAtKill = pending.size;
    const killedInFlight = Date.now();
    await kill9(survivor);
    const replies = await Promise.all(third);
    const recoveryInFlight = Date.now() - killedInFlight;
    for (const [i, reply] of replies.entries()) {
      const visitor = VISITORS[i] ?? '';
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(texts(reply)).toEqual([greeted(nameOf(visitor))]);
      expect(reply.body.ended).toBe(true);
    }
    expect(inFlightAtKill, "messages still unanswered when the worker died").toBeGreaterThan(0);
    for (const id of takenByFrozen) expect((await taskWorkers(id)).at(-1), `${id} finished on the replacement worker`).toBe(worker3.identity());

    // Every message is in the run log exactly once, with its replies; every session ended.
    for (const [i, id] of workflowIds.entries()) {
      const visitor = VISITORS[i] ?? '';
      const events = await runEvents(id);
      expect(events.filter((e) => e.type === 'message.in').map((e) => e.payload.id)).toEqual([`${visitor}-1`, `${visitor}-2`, `${visitor}-3`]);
      expect(events.filter((e) => e.type === 'message.out').map((e) => e.payload.text)).toEqual([PROMPT, RETRY, greeted(nameOf(visitor))]);
      expect(events.filter((e) => e.type === 'session.end')).toHaveLength(1);
      const ran = new Set(await taskWorkers(id));
      for (const identity of ran) expect(byIdentity.has(identity), `${identity} is one of our workers`).toBe(true);
    }
    // The transcript reads the same through either API.
    const transcripts = await Promise.all([0, 1].map(async (api) => (await (await fetch(`${apis[api]}/api/v1/chat/greeting/${VISITORS[0]}/messages`, { headers: visitorHeaders(VISITORS[0] ?? '') })).json()) as { items: unknown[] }));
    expect(transcripts[0]?.items).toHaveLength(6);
    expect(transcripts[1]).toEqual(transcripts[0]);

    console.info(
      `failover: ${VISITORS.length} sessions × 3 messages through 2 APIs; kill -9 at the ask stranded ${stranded.length} sessions, ` +
        `all answered ${(recoveryAtAsk / 1000).toFixed(1)} s after the kill; kill -9 with ${inFlightAtKill} messages in flight ` +
        `(${takenByFrozen.length} tasks taken by the dead worker), all answered ${(recoveryInFlight / 1000).toFixed(1)} s after the kill`,
    );
  }, 300_000);
});
