// A worker killed with `kill -9` while a send is in flight gives exactly one reply. The
// worker is a real `chainflow worker` child process (its own process group); the gateway
// runs here. The reply is a text of two parts: the first is sent and recorded in
// telegram_send, then the second's sendMessage is held open by the test server (the
// `held` fault) and the worker is killed. After its restart Temporal retries the delivery
// (once the dead attempt's start-to-close timeout of 30 s has passed): the recorded first
// part is not sent again, the second is sent once. The kill points: after a part's record
// (part 1) and with a send in flight that Telegram had not processed yet (part 2). The one
// window that can still duplicate — Telegram processed the send, the worker died before the
// record — is described in docs/telegram.md.

import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { startTelegramGateways, type TelegramGateways } from '../../api/telegram/gateway.ts';
import { BotSchema, botSecretContext } from '../../db/bots.ts';
import { createLogger } from '../../lib/logger.ts';
import { createSecretBox } from '../../lib/secret-box.ts';
import { publishGraph } from '../support/dialogue.ts';
import { eventually } from '../support/poll.ts';
import { createTestDatabase, testClient, testStack, uniqueTaskQueue, type TestDatabase } from '../support/stack.ts';
import { TelegramTestServer } from '../support/telegram/index.ts';
import { killGroup, startWorkerService, type Service } from '../production/support.ts';

const KEY = `k1:${randomBytes(32).toString('base64')}`;
const box = createSecretBox(KEY);
const PART_A = `A ${'alpha '.repeat(600)}`.trim();
const PART_B = `B ${'bravo '.repeat(600)}`.trim();

let dir: string;
let db: TestDatabase;
let client: Client;
let server: TelegramTestServer;
let gateways: TelegramGateways;
let env: Record<string, string>;
const services: Service[] = [];
const taskQueue = uniqueTaskQueue('tg-kill');

const startWorker = (name: string): Promise<Service> => startWorkerService(name, env, dir, services);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chainflow-tg-kill-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'data'));
  db = await createTestDatabase();
  client = await testClient();
  server = await TelegramTestServer.start();
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
    LOG_LEVEL: 'info',
  };
  gateways = await startTelegramGateways({
    orm: db.orm,
    temporal: client,
    taskQueue,
    logger: createLogger('silent', 'tg-kill'),
    databaseUrl: db.url,
    secretBox: box,
    reconcileMs: 500,
    pollTimeoutSeconds: 10,
  });
}, 180_000);

afterAll(async () => {
  await Promise.allSettled(services.map((s) => s.stop()));
  await gateways?.close();
  await server?.close();
  await client?.connection.close().catch(() => {});
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a worker killed with kill -9 while a send is in flight', () => {
  it('gives exactly one reply after its restart', { timeout: 150_000 }, async () => {
    const chain = await publishGraph(db, {
      slug: 'two-parts',
      name: 'Two parts',
      nodes: [
        { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'command', command: '/start' } } },
        { id: 'long', type: 'message', position: { x: 200, y: 0 }, data: { text: `${PART_A}\n\n${PART_B}` } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'long' }],
    });
    const bot = server.createBot({ username: 'kill_bot' });
    const user = server.createUser({ first_name: 'Kim' });
    const id = randomUUID();
    const em = db.orm.em.fork();
    em.create(BotSchema, {
      id, name: 'kill_bot', kind: 'telegram_bot', encryptedSecret: box.encrypt(bot.token, botSecretContext(id)), telegramId: String(bot.id),
      chainId: chain.chainId, enabled: true, mode: 'polling', apiRoot: server.apiRoot, encryptedWebhookSecret: null, status: 'stopped', lastError: null, ownerId: null,
    });
    await em.flush();
    await gateways.reconcile();
    await eventually(async () => (gateways.held().includes(id) ? true : undefined), 'the gateway to take the bot');

    const worker = await startWorker('worker-1');
    const botTexts = () => server.transcript(bot, user.chat).filter((e) => e.from === 'bot').map((e) => e.message.text);
    user.sendCommand(bot, '/start');
    // Part 1 sent (and recorded); hold part 2 (the chat's pace delays it 1.2 s, so the fault is in place first).
    await server.waitFor(() => (botTexts().length === 1 ? true : undefined), { what: 'the first part', timeout: 30_000 });
    const held = server.inject({ fault: { type: 'held', delayMs: 15_000 }, method: 'sendMessage', token: bot.token, times: 1 });
    await server.waitFor(() => (held.hits === 1 ? true : undefined), { what: 'the second part to be in flight', timeout: 30_000 });

    killGroup(worker.child, 'SIGKILL');
    await eventually(() => (worker.gone() ? true : undefined), 'the worker to die', { timeoutMs: 10_000, intervalMs: 100 });
    await startWorker('worker-2');

    const result = await client.workflow.getHandle(`chat:${id}:${user.id}`).result();
    expect(result.outcome).toBe('completed');
    expect(botTexts()).toEqual([PART_A, PART_B]);
    // The in-flight call was dropped unprocessed when the worker's connection died.
    await server.waitFor(() => (server.calls.some((c) => c.botId === bot.id && c.status === 499) ? true : undefined), { what: 'the held call to end', timeout: 30_000 });
    expect(server.calls.filter((c) => c.botId === bot.id && c.method === 'sendMessage' && c.status === 200)).toHaveLength(2);
  });
});
