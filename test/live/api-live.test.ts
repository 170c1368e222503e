import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import WebSocket from 'ws';
import { createApp } from '../../api/app.ts';
import { issueSetupToken } from '../../api/auth/setup.ts';
import { startLiveEvents } from '../../api/live/index.ts';
import { importChain, parseChainFile } from '../../api/services/chain-service.ts';
import { createLogger } from '../../lib/logger.ts';
import { startDialogueHarness, type DialogueHarness } from '../support/dialogue.ts';
import { eventually } from '../support/stack.ts';

// The WebSocket as `chainflow api` serves it: the REST API's access tokens, the chain
// view permission, events from the worker's flushes.
const JWT_SECRET = 'live-events-test-secret-0123456789abcdef';
let h: DialogueHarness;
let server: Server;
let live: { close(): Promise<void> };
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  h = await startDialogueHarness('apilive');
  app = createApp({ orm: h.db.orm, temporal: h.client, logger: createLogger('silent', 'test'), taskQueue: h.taskQueue, auth: { jwtSecret: JWT_SECRET, registration: 'open' } });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  live = await startLiveEvents(server, { orm: h.db.orm, databaseUrl: h.db.url, jwtSecret: JWT_SECRET, logger: createLogger('silent', 'test') });
  const graph = parseChainFile(readFileSync(new URL('../../examples/greeting.yaml', import.meta.url), 'utf8'));
  await importChain(h.db.orm.em.fork(), graph);
});
afterAll(async () => {
  await live?.close();
  await new Promise((resolve) => server?.close(resolve));
  await h?.close();
});

function watch(token: string, runId: string): Promise<{ ws: WebSocket; types: string[]; errors: string[] }> {
  const port = (server.address() as AddressInfo).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
  const types: string[] = [];
  const errors: string[] = [];
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw)) as { type: string; events?: Array<{ type: string }>; message?: string };
    if (msg.type === 'events') types.push(...(msg.events ?? []).map((e) => e.type));
    if (msg.type === 'error') errors.push(msg.message ?? '');
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'subscribe', runId }));
      resolve({ ws, types, errors });
    });
    ws.once('error', reject);
  });
}

describe('the live events endpoint of the API', () => {
  it('streams a web-chat session to its chain’s owner and refuses another user', async () => {
    const admin = await request(app).post('/api/v1/auth/register').send({ email: 'owner@example.com', password: 'correct horse battery 1', name: 'Owner', setupToken: await issueSetupToken(h.db.orm.em) });
    expect(admin.status).toBe(201);
    const chat = await request(app).post('/api/v1/chat/greeting/live-1/messages').send({ text: 'hi' });
    expect(chat.status).toBe(200);
    const runId = String(chat.body.runId);

    const owner = await watch(String(admin.body.accessToken), runId);
    await eventually(async () => (owner.types.includes('message.out') ? true : undefined), 'the owner’s events');
    await request(app).post('/api/v1/chat/greeting/live-1/messages').set('X-Visitor-Token', String(chat.body.visitorToken)).send({ text: 'Ann' });
    await eventually(async () => (owner.types.includes('session.end') ? true : undefined), 'the end of the session');
    owner.ws.close();

    const other = await request(app).post('/api/v1/auth/register').send({ email: 'other@example.com', password: 'correct horse battery 2', name: 'Other' });
    const stranger = await watch(String(other.body.accessToken), runId);
    await eventually(async () => stranger.errors[0], 'the refusal');
    expect(stranger.errors[0]).toBe('You may not watch this run or chain.');
    expect(stranger.types).toEqual([]);
    stranger.ws.close();
  });
});
