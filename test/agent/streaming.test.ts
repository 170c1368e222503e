// Issue 17 item 5, web: an agent's answer streams to /api/v1/ws subscribers as
// `reply.partial` messages (the text in reply_partial, NOTIFY with ids only) before the
// reply itself arrives as the `message.out` event. The loopback model releases each chunk
// only once the subscriber has seen the previous one, so the test needs no sleeps.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import WebSocket from 'ws';
import { createApp } from '../../api/app.ts';
import { issueSetupToken } from '../../api/auth/setup.ts';
import { startLiveEvents } from '../../api/live/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { startOpenAiServer, type OpenAiServer } from '../effects/support/servers.ts';
import { publishGraph, send, startDialogueHarness, startSession, texts, type DialogueHarness } from '../support/dialogue.ts';
import { eventually } from '../support/stack.ts';
import { agentChain, providerCredential } from './support.ts';

const JWT_SECRET = 'agent-stream-test-secret-0123456789abcdef';
let h: DialogueHarness;
let server: Server;
let live: { close(): Promise<void> };
let provider: OpenAiServer;
let credentialId: string;
let token: string;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  h = await startDialogueHarness('agentstream', { httpAllow: ['127.0.0.1', '::1'] });
  app = createApp({ orm: h.db.orm, temporal: h.client, logger: createLogger('silent', 'test'), taskQueue: h.taskQueue, auth: { jwtSecret: JWT_SECRET, registration: 'open' } });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  live = await startLiveEvents(server, { orm: h.db.orm, databaseUrl: h.db.url, jwtSecret: JWT_SECRET, logger: createLogger('silent', 'test') });
  const admin = await request(app).post('/api/v1/auth/register').send({ email: 'streamer@example.com', password: 'correct horse battery 9', name: 'Streamer', setupToken: await issueSetupToken(h.db.orm.em) });
  token = String(admin.body.accessToken);
  provider = await startOpenAiServer();
  // A credential without `stream`: the web channel asks for streaming by itself.
  credentialId = await providerCredential(h, provider.baseUrl, false);
});
afterAll(async () => {
  await live?.close();
  await new Promise((resolve) => server?.close(resolve));
  await provider?.close();
  await h?.close();
});

type Message = { type: string; text?: string; replyId?: string; seq?: number; events?: Array<{ type: string; payload: { text?: string } }> };

async function watch(topic: { chainId: string } | { runId: string }, bearer = token): Promise<{ ws: WebSocket; log: Message[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/ws`, { headers: { authorization: `Bearer ${bearer}` } });
  const log: Message[] = [];
  ws.on('message', (raw) => log.push(JSON.parse(String(raw)) as Message));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'subscribe', ...topic }));
  await eventually(() => (log.some((m) => m.type === 'subscribed' || m.type === 'error') ? true : undefined), 'the answer to subscribe');
  return { ws, log };
}
const watchChain = (chainId: string) => watch({ chainId });

/** A model that streams `pieces`, each once the watcher has seen the text up to it. */
function heldReply(pieces: string[], partials: () => string[]) {
  provider.script({
    kind: 'held',
    pieces,
    release: async (i) => {
      if (i === 0) return;
      const before = pieces.slice(0, i).join('');
      await eventually(() => (partials().includes(before) ? true : undefined), `the partial '${before}'`);
    },
  });
}

/** The partials seen before the first `message.out` event: at least two, each longer than the one before. */
async function growingBeforeFinal(log: Message[], from = 0): Promise<Message[]> {
  const finalAt = await eventually(() => {
    const at = log.findIndex((m, i) => i >= from && m.type === 'events' && (m.events ?? []).some((e) => e.type === 'message.out'));
    return at >= 0 ? at : undefined;
  }, 'the final message');
  const seen = log.slice(from, finalAt).filter((m) => m.type === 'reply.partial');
  expect(seen.length).toBeGreaterThanOrEqual(2);
  for (const [i, m] of seen.entries()) {
    if (i === 0) continue;
    const previous = seen[i - 1]?.text ?? '';
    expect(m.text?.startsWith(previous) && (m.text?.length ?? 0) > previous.length).toBe(true);
    expect(m.replyId).toBe(seen[0]?.replyId);
    expect(m.seq).toBeGreaterThan(seen[i - 1]?.seq ?? 0);
  }
  return seen;
}

describe('agent streaming on the web channel', () => {
  it('pushes growing partial answers to the live subscriber before the final message', async () => {
    const ids = await publishGraph(h.db, agentChain({ credentialId }));
    const watcher = await watchChain(ids.chainId);
    const partials = () => watcher.log.filter((m) => m.type === 'reply.partial').map((m) => m.text ?? '');
    heldReply(['The answer ', 'grows ', 'while ', 'you watch.'], partials);
    const handle = await startSession(h.client, h.taskQueue, ids);
    const result = await send(handle, 'Tell me');
    expect(texts(result)).toEqual(['AI: The answer grows while you watch.']);
    expect(provider.requests.at(-1)?.body.stream).toBe(true);

    const seen = await growingBeforeFinal(watcher.log);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen[0]?.text).toBe('The answer ');
    // The partial row is gone once the call ended.
    const rows = await h.db.orm.em.getConnection().execute(`select 1 from reply_partial where run_id = ?`, [handle.workflowId]);
    expect(rows).toHaveLength(0);
    watcher.ws.close();
  });

  it('does not stream an answer the chain does not show next', async () => {
    const graph = agentChain({ credentialId });
    // ok → a message that does not show the answer
    const ok = graph.nodes.find((n) => n.id === 'ok');
    if (ok) ok.data = { text: 'Noted.' };
    const ids = await publishGraph(h.db, graph);
    const watcher = await watchChain(ids.chainId);
    provider.script({ kind: 'reply', content: 'Kept to myself.' });
    const handle = await startSession(h.client, h.taskQueue, ids);
    expect(texts(await send(handle, 'hi'))).toEqual(['Noted.']);
    expect(provider.requests.at(-1)?.body.stream).not.toBe(true);
    await eventually(() => (watcher.log.some((m) => m.type === 'events' && (m.events ?? []).some((e) => e.type === 'message.out')) ? true : undefined), 'the message');
    expect(watcher.log.filter((m) => m.type === 'reply.partial')).toEqual([]);
    watcher.ws.close();
  });

  it('streams to a web-chat visitor watching its own session with its visitor token, and nothing else', async () => {
    const ids = await publishGraph(h.db, agentChain({ credentialId }));
    await h.db.orm.em.getConnection().execute(`update chain set web_chat_enabled = true where id = ?`, [ids.chainId]);
    provider.script({ kind: 'reply', content: 'Hello, visitor.' });
    const first = await request(app).post(`/api/v1/chat/${ids.slug}/visitor-1/messages`).send({ text: 'hi' });
    expect(first.status).toBe(200);
    const visitorToken = String(first.body.visitorToken);
    const runId = String(first.body.runId);
    expect(visitorToken).toMatch(/^cfv_/);

    const other = await watch({ runId: `web:${ids.chainId}:visitor-2` }, visitorToken);
    expect(other.log.map((m) => m.type)).toEqual(['error']);
    other.ws.close();
    const visitor = await watch({ runId }, visitorToken);
    expect(visitor.log.map((m) => m.type)).toContain('subscribed');
    // The first exchange (sent before the socket opened) arrives from the run's events.
    await eventually(() => (visitor.log.some((m) => m.type === 'events' && (m.events ?? []).some((e) => e.type === 'message.out')) ? true : undefined), 'the earlier reply');
    const from = visitor.log.length;
    const partials = () => visitor.log.filter((m) => m.type === 'reply.partial').map((m) => m.text ?? '');
    heldReply(['Streaming ', 'to the ', 'visitor.'], partials);
    const second = await request(app).post(`/api/v1/chat/${ids.slug}/visitor-1/messages`).set('X-Visitor-Token', visitorToken).send({ text: 'again' });
    expect(second.status).toBe(200);
    expect(second.body.replies.map((r: { text: string }) => r.text)).toEqual(['AI: Streaming to the visitor.']);
    await growingBeforeFinal(visitor.log, from);
    const types = visitor.log.flatMap((m) => (m.type === 'events' ? (m.events ?? []).map((e) => e.type) : []));
    expect(types.length).toBeGreaterThan(0);
    expect(types.every((type) => type === 'message.in' || type === 'message.out')).toBe(true);
    visitor.ws.close();
  });
});
