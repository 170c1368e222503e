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
import { createUser } from '../../api/auth/service.ts';
import type { GlobalRole } from '../../db/accounts.ts';
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
// A second API replica on the same database: access changes reach its sockets through NOTIFY.
let server2: Server;
let live2: { close(): Promise<void> };
let chainId: string;

beforeAll(async () => {
  h = await startDialogueHarness('apilive');
  app = createApp({ orm: h.db.orm, temporal: h.client, logger: createLogger('silent', 'test'), taskQueue: h.taskQueue, auth: { jwtSecret: JWT_SECRET, registration: 'open' } });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  live = await startLiveEvents(server, { orm: h.db.orm, databaseUrl: h.db.url, jwtSecret: JWT_SECRET, logger: createLogger('silent', 'test') });
  server2 = createApp({ orm: h.db.orm, temporal: h.client, logger: createLogger('silent', 'test'), taskQueue: h.taskQueue, auth: { jwtSecret: JWT_SECRET } }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server2.once('listening', resolve));
  live2 = await startLiveEvents(server2, { orm: h.db.orm, databaseUrl: h.db.url, jwtSecret: JWT_SECRET, logger: createLogger('silent', 'test') });
  const graph = parseChainFile(readFileSync(new URL('../../examples/greeting.yaml', import.meta.url), 'utf8'));
  chainId = (await importChain(h.db.orm.em.fork(), graph)).chain.id;
});
afterAll(async () => {
  await live?.close();
  await live2?.close();
  await new Promise((resolve) => server?.close(resolve));
  await new Promise((resolve) => server2?.close(resolve));
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

// Issue 10, row 5: a socket's permissions follow the database, on every replica.
interface Socket {
  ws: WebSocket;
  messages: Array<{ type: string; code?: string; message?: string; topic?: unknown }>;
  closed: { code: number; reason: string } | undefined;
}

function open(on: Server, headers: Record<string, string> = {}, query = ''): Promise<Socket> {
  const port = (on.address() as AddressInfo).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws${query}`, { headers });
  const socket: Socket = { ws, messages: [], closed: undefined };
  ws.on('message', (raw) => socket.messages.push(JSON.parse(String(raw)) as Socket['messages'][number]));
  ws.on('close', (code, reason) => (socket.closed = { code, reason: String(reason) }));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
  });
}
const message = (s: Socket, type: string) => eventually(async () => s.messages.find((m) => m.type === type), `a ${type} message`);
const closedWithin = (s: Socket, ms: number) => eventually(async () => s.closed, 'the socket to close', ms);

let userCounter = 0;
async function signedIn(role: GlobalRole): Promise<{ id: string; email: string; password: string; token: string }> {
  const em = h.db.orm.em.fork();
  const email = `live-${role}-${++userCounter}@example.com`;
  const password = `correct horse battery ${userCounter}`;
  const user = await createUser(em, { email, password, role });
  await em.flush();
  const login = await request(app).post('/api/v1/auth/login').send({ email, password });
  expect(login.status).toBe(200);
  return { id: user.id, email, password, token: String(login.body.accessToken) };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('live permissions (issue 10, row 5)', () => {
  it('refuses a token in the URL', async () => {
    const viewer = await signedIn('viewer');
    const refused = await open(server, {}, `?token=${viewer.token}`).then(
      () => undefined,
      (err: { status?: number; body?: string }) => err,
    );
    expect(refused?.status).toBe(400);
    expect(JSON.parse(refused?.body ?? '{}')).toMatchObject({ error: 'token_in_url' });
    await expect(open(server, bearer('not-a-token'))).rejects.toThrow('HTTP 401');
  });

  it('authenticates with the Authorization header or a first auth message, and refuses a subscribe before it', async () => {
    const admin = await signedIn('admin');
    const byHeader = await open(server, bearer(admin.token));
    byHeader.ws.send(JSON.stringify({ type: 'subscribe', chainId }));
    await message(byHeader, 'subscribed');
    byHeader.ws.close();

    const byMessage = await open(server2);
    byMessage.ws.send(JSON.stringify({ type: 'subscribe', chainId }));
    expect(await message(byMessage, 'error')).toMatchObject({ code: 'unauthenticated' });
    byMessage.ws.send(JSON.stringify({ type: 'auth', accessToken: admin.token }));
    expect(await message(byMessage, 'authenticated')).toMatchObject({ userId: admin.id });
    byMessage.ws.send(JSON.stringify({ type: 'subscribe', chainId }));
    await message(byMessage, 'subscribed');
    expect(byMessage.closed).toBeUndefined();
    byMessage.ws.close();

    const wrong = await open(server);
    wrong.ws.send(JSON.stringify({ type: 'auth', accessToken: 'not-a-token' }));
    expect((await closedWithin(wrong, 5000)).code).toBe(4401);
    expect(wrong.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'token_invalid' });
  });

  it('trims a subscription within 5 s on another replica when its grant is revoked, and when the role is lowered', async () => {
    const admin = await signedIn('admin');
    const editor = await signedIn('editor');
    const share = await request(app).post(`/api/v1/chains/${chainId}/grants`).set(bearer(admin.token)).send({ userId: editor.id, role: 'viewer' });
    expect(share.status).toBe(200);
    const watcher = await open(server2, bearer(editor.token));
    watcher.ws.send(JSON.stringify({ type: 'subscribe', chainId }));
    await message(watcher, 'subscribed');

    const revoked = await request(app).delete(`/api/v1/chains/${chainId}/grants/${editor.id}`).set(bearer(admin.token));
    expect(revoked.status).toBe(204);
    const since = Date.now();
    expect(await eventually(async () => watcher.messages.find((m) => m.type === 'unsubscribed'), 'the trimmed subscription', 5000)).toMatchObject({ topic: { chainId }, reason: 'forbidden' });
    expect(Date.now() - since).toBeLessThan(5000);
    expect(watcher.closed).toBeUndefined();
    // Rebuilt on the next subscribe too: the grant is gone.
    watcher.ws.send(JSON.stringify({ type: 'subscribe', chainId }));
    expect(await message(watcher, 'error')).toMatchObject({ message: 'You may not watch this run or chain.' });
    watcher.ws.close();

    const second = await signedIn('admin');
    const adminWatcher = await open(server2, bearer(second.token));
    adminWatcher.ws.send(JSON.stringify({ type: 'subscribe', chainId }));
    await message(adminWatcher, 'subscribed');
    const demoted = await request(app).patch(`/api/v1/users/${second.id}`).set(bearer(admin.token)).send({ role: 'viewer' });
    expect(demoted.status).toBe(200);
    expect(await eventually(async () => adminWatcher.messages.find((m) => m.type === 'unsubscribed'), 'the subscription of the demoted admin', 5000)).toMatchObject({ topic: { chainId } });
    adminWatcher.ws.close();
  });

  it('closes the sockets of a disabled user and of one who signed out everywhere within 5 s', async () => {
    const admin = await signedIn('admin');
    const disabled = await signedIn('admin');
    const socket = await open(server2);
    socket.ws.send(JSON.stringify({ type: 'auth', accessToken: disabled.token }));
    await message(socket, 'authenticated');
    socket.ws.send(JSON.stringify({ type: 'subscribe', chainId }));
    await message(socket, 'subscribed');
    const res = await request(app).patch(`/api/v1/users/${disabled.id}`).set(bearer(admin.token)).send({ status: 'disabled' });
    expect(res.status).toBe(200);
    expect((await closedWithin(socket, 5000)).code).toBe(4401);

    const mover = await signedIn('admin');
    const other = await open(server, bearer(mover.token));
    other.ws.send(JSON.stringify({ type: 'subscribe', chainId }));
    await message(other, 'subscribed');
    const changed = await request(app).post('/api/v1/auth/password').set(bearer(mover.token)).send({ currentPassword: mover.password, newPassword: 'an entirely new passphrase 9' });
    expect(changed.status).toBe(200);
    expect((await closedWithin(other, 5000)).code).toBe(4401);
    expect(other.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'token_revoked' });
  });
});
