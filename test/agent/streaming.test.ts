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

beforeAll(async () => {
  h = await startDialogueHarness('agentstream', { httpAllow: ['127.0.0.1', '::1'] });
  const app = createApp({ orm: h.db.orm, temporal: h.client, logger: createLogger('silent', 'test'), taskQueue: h.taskQueue, auth: { jwtSecret: JWT_SECRET, registration: 'open' } });
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

async function watchChain(chainId: string): Promise<{ ws: WebSocket; log: Message[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
  const log: Message[] = [];
  ws.on('message', (raw) => log.push(JSON.parse(String(raw)) as Message));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'subscribe', chainId }));
  await eventually(() => (log.some((m) => m.type === 'subscribed') ? true : undefined), 'the subscription');
  return { ws, log };
}

describe('agent streaming on the web channel', () => {
  it('pushes growing partial answers to the live subscriber before the final message', async () => {
    const ids = await publishGraph(h.db, agentChain({ credentialId }));
    const watcher = await watchChain(ids.chainId);
    const partials = () => watcher.log.filter((m) => m.type === 'reply.partial').map((m) => m.text ?? '');
    const pieces = ['The answer ', 'grows ', 'while ', 'you watch.'];
    provider.script({
      kind: 'held',
      pieces,
      // Chunk i goes out once the subscriber shows the text up to chunk i-1.
      release: async (i) => {
        if (i === 0) return;
        const before = pieces.slice(0, i).join('');
        await eventually(() => (partials().includes(before) ? true : undefined), `the partial '${before}'`);
      },
    });
    const handle = await startSession(h.client, h.taskQueue, ids);
    const result = await send(handle, 'Tell me');
    expect(texts(result)).toEqual(['AI: The answer grows while you watch.']);
    expect(provider.requests.at(-1)?.body.stream).toBe(true);

    const finalAt = await eventually(() => {
      const at = watcher.log.findIndex((m) => m.type === 'events' && (m.events ?? []).some((e) => e.type === 'message.out'));
      return at >= 0 ? at : undefined;
    }, 'the final message');
    const seen = watcher.log.slice(0, finalAt).filter((m) => m.type === 'reply.partial');
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const [i, m] of seen.entries()) {
      if (i === 0) continue;
      const previous = seen[i - 1]?.text ?? '';
      expect(m.text?.startsWith(previous) && (m.text?.length ?? 0) > previous.length).toBe(true);
      expect(m.replyId).toBe(seen[0]?.replyId);
      expect(m.seq).toBeGreaterThan(seen[i - 1]?.seq ?? 0);
    }
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
});
