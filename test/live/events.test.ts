import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { createEventsHub, type EventsHub, type LiveEvent } from '../../api/live/events-hub.ts';
import { attachLiveEvents } from '../../api/live/ws.ts';
import { createLogger } from '../../lib/logger.ts';
import { publishGraph, send, startDialogueHarness, startSession, type DialogueHarness } from '../support/dialogue.ts';
import { eventually } from '../support/stack.ts';

// Two hubs with their own LISTEN connections stand for two API replicas: the worker's
// flush notifies PostgreSQL, and each replica pushes to its own WebSocket clients.
let h: DialogueHarness;
let hubA: EventsHub;
let hubB: EventsHub;
let server: Server;
let live: { close(): Promise<void> };
let ids: { chainId: string; versionId: string };
const TOKEN = 'test-access-token';

beforeAll(async () => {
  h = await startDialogueHarness('live');
  const logger = createLogger('silent', 'test');
  hubA = await createEventsHub({ databaseUrl: h.db.url, orm: h.db.orm, logger });
  hubB = await createEventsHub({ databaseUrl: h.db.url, orm: h.db.orm, logger });
  server = createServer();
  live = attachLiveEvents(server, {
    hub: hubB,
    logger,
    // The API passes its JWT verifier and policy here; this test checks the transport.
    authenticate: async (token) => (token === TOKEN ? { ok: true, principal: { id: 'user-1' }, expiresAt: null } : { ok: false, code: 'token_invalid', message: 'Unknown token.' }),
    authorize: async (_principal, topic) => !('runId' in topic) || !topic.runId.includes('forbidden'),
    authTimeoutMs: 1000,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ids = await publishGraph(h.db, createChain({
    slug: 'live',
    nodes: [createNode('start', 'start', { trigger: { kind: 'any' } }), createNode('q', 'ask', { prompt: 'Name?', variable: 'session.name' }), createNode('m', 'message', { text: 'Hi {{ session.name }}' })],
    edges: [createEdge('start', 'q'), createEdge('q', 'm')],
  }));
});
afterAll(async () => {
  await live?.close();
  await new Promise((resolve) => server?.close(resolve));
  await hubA?.close();
  await hubB?.close();
  await h?.close();
});

function connect(token = TOKEN): Promise<{ ws: WebSocket; received: LiveEvent[]; messages: Array<Record<string, unknown>> }> {
  const port = (server.address() as AddressInfo).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
  const received: LiveEvent[] = [];
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw)) as Record<string, unknown>;
    messages.push(msg);
    if (msg.type === 'events') received.push(...(msg.events as LiveEvent[]));
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, received, messages }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('live run events over the WebSocket', () => {
  it('pushes a run’s events as the worker flushes them, through another replica, and resumes after a reconnect', async () => {
    const handle = await startSession(h.client, h.taskQueue, ids);
    await send(handle, 'hello');
    const client = await connect();
    client.ws.send(JSON.stringify({ type: 'subscribe', runId: handle.workflowId }));
    await eventually(async () => (client.received.some((e) => e.type === 'message.out') ? true : undefined), 'the backlog');
    expect(client.received.map((e) => e.type)).toEqual(expect.arrayContaining(['session.start', 'message.in', 'message.out']));

    await send(handle, 'Kim');
    await eventually(async () => (client.received.some((e) => e.type === 'message.out' && (e.payload as { text?: string }).text === 'Hi Kim') ? true : undefined), 'the new reply');
    const ids1 = client.received.map((e) => e.id);
    expect(ids1).toEqual([...ids1].sort((a, b) => a - b));
    expect(new Set(ids1).size).toBe(ids1.length);
    const lastId = ids1[ids1.length - 1] ?? 0;
    client.ws.close();

    // Reconnect with afterId: nothing old again.
    const again = await connect();
    again.ws.send(JSON.stringify({ type: 'subscribe', runId: handle.workflowId, afterId: lastId }));
    await eventually(async () => (again.messages.some((m) => m.type === 'subscribed') ? true : undefined), 'the subscription');
    const other = await startSession(h.client, h.taskQueue, ids);
    await send(other, 'x');
    expect(again.received).toEqual([]);
    again.ws.close();
  });

  it('delivers a whole chain’s sessions to a chain subscriber', async () => {
    const seen = new Set<string>();
    const off = await hubA.subscribe({ chainId: ids.chainId }, 0, (events) => events.forEach((e) => seen.add(e.runId)));
    const s1 = await startSession(h.client, h.taskQueue, ids);
    const s2 = await startSession(h.client, h.taskQueue, ids);
    await send(s1, 'a');
    await send(s2, 'b');
    await eventually(async () => (seen.has(s1.workflowId) && seen.has(s2.workflowId) ? true : undefined), 'both sessions');
    off();
  });

  it('refuses a connection without a valid token and a subscription the policy denies', async () => {
    await expect(connect('wrong')).rejects.toThrow('HTTP 401');
    const client = await connect();
    client.ws.send(JSON.stringify({ type: 'subscribe', runId: 'web:forbidden' }));
    await eventually(async () => client.messages.find((m) => m.type === 'error'), 'the refusal');
    client.ws.send('not json');
    await eventually(async () => (client.messages.filter((m) => m.type === 'error').length === 2 ? true : undefined), 'the parse error');
    client.ws.close();
  });

  it('closes a socket that sends no access token in time', async () => {
    const port = (server.address() as AddressInfo).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`);
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (raw) => messages.push(JSON.parse(String(raw)) as Record<string, unknown>));
    const closed = await new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    expect(closed).toBe(4401);
    expect(messages).toEqual([expect.objectContaining({ type: 'error', code: 'auth_timeout' })]);
  });
});
