// Exactly one gateway per bot across API processes, and changes without a restart:
// two sets of gateways on one database share a bot through its lease (one polls), the
// other takes over when the holder is released; real `chainflow api` processes hand a
// bot over within seconds when the holder is killed with SIGKILL; disabling, enabling,
// re-pointing to another Bot API server and deleting take effect at once.

import { mkdirSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greetingGraph } from '../../chain/examples.ts';
import { BotSchema } from '../../db/bots.ts';
import { freePort } from '../../lib/processes.ts';
import { bearer } from '../api/support/api.ts';
import { eventually, testStack, uniqueTaskQueue } from '../support/stack.ts';
import { killGroup, startService, type Service } from '../production/support.ts';
import { TelegramTestServer } from '../support/telegram/index.ts';
import { startTelegramStack, type TelegramStack } from './support.ts';

let s: TelegramStack;
let chainId: string;

beforeAll(async () => {
  s = await startTelegramStack('tg-lease');
  chainId = (await s.publish(greetingGraph)).chainId;
});

afterAll(async () => {
  await s?.close();
});

const pollers = (server: TelegramTestServer, botId: number) => server.calls.filter((c) => c.botId === botId && c.method === 'getUpdates');

describe('gateway leases in one database', () => {
  it('two gateway sets, one poller; the other takes over when the holder is released', async () => {
    const a = await s.gateways();
    const b = await s.gateways();
    const bot = s.server.createBot({ username: 'shared_bot' });
    const botId = await s.addBot(bot, chainId);
    const holder = await eventually(async () => (a.held().includes(botId) ? a : b.held().includes(botId) ? b : undefined), 'a holder');
    const other = holder === a ? b : a;
    await other.reconcile();
    await holder.reconcile();
    expect([...a.held(), ...b.held()].filter((id) => id === botId)).toHaveLength(1);
    // Never two pollers: the test server answers 409 to a second concurrent getUpdates.
    expect(pollers(s.server, bot.id).some((c) => c.status === 409)).toBe(false);

    const hana = s.server.createUser({ first_name: 'Hana' });
    hana.sendCommand(bot, '/start');
    expect((await hana.nextMessage({ timeout: 15_000 })).text).toBe("Hi! I'm the greeting bot. What's your name?");
    expect(holder.handled(botId)).toBe(1);

    await holder.close();
    await eventually(async () => (other.held().includes(botId) ? true : undefined), 'the other gateway to take over', 10_000);
    hana.send(bot, 'Hana');
    expect((await hana.nextMessage({ timeout: 15_000 })).text).toBe('Nice to meet you, Hana!');
    expect(other.handled(botId)).toBe(1);
    await other.close();
  });

  it('a per-bot inbound limit slows a burst down without losing or reordering an update', async () => {
    const g = await s.gateways({ inbound: { perSecond: 4, burst: 1 } });
    try {
      const bot = s.server.createBot({ username: 'limited_in_bot' });
      const botId = await s.addBot(bot, chainId);
      await eventually(async () => (g.held().includes(botId) ? true : undefined), 'the gateway');
      const users = Array.from({ length: 5 }, (_, i) => s.server.createUser({ first_name: `U${i}` }));
      const sent = Date.now();
      for (const u of users) u.sendCommand(bot, '/start');
      for (const u of users) expect((await u.nextMessage({ timeout: 20_000 })).text).toBe("Hi! I'm the greeting bot. What's your name?");
      // One at once, then four at 4 a second: the last update waits about a second.
      expect(Date.now() - sent).toBeGreaterThanOrEqual(900);
      expect(g.handled(botId)).toBe(5);
    } finally {
      await g.close();
    }
  });

  it('disabling, enabling, re-pointing and deleting take effect without a restart', async () => {
    const g = await s.gateways();
    const bot = s.server.createBot({ username: 'switched_bot' });
    const botId = await s.addBot(bot, chainId);
    await eventually(async () => (g.held().includes(botId) ? true : undefined), 'the gateway to start');
    const row = async () => s.t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: botId });
    await eventually(async () => ((await row()).status === 'running' ? true : undefined), 'status running');

    await s.t.api.patch(`/api/v1/bots/${botId}`).set(bearer(s.admin.token)).send({ enabled: false }).expect(200);
    await eventually(async () => (!g.held().includes(botId) && (await row()).status === 'stopped' ? true : undefined), 'the gateway to stop on disable');
    await s.t.api.patch(`/api/v1/bots/${botId}`).set(bearer(s.admin.token)).send({ enabled: true }).expect(200);
    await eventually(async () => (g.held().includes(botId) ? true : undefined), 'the gateway to start on enable');

    // Re-point to another Bot API server that knows the same token.
    const other = await TelegramTestServer.start();
    try {
      const twin = other.createBot({ username: 'switched_bot', token: bot.token });
      const res = await s.t.api.patch(`/api/v1/bots/${botId}`).set(bearer(s.admin.token)).send({ apiRoot: other.apiRoot });
      expect(res.status).toBe(200);
      expect(res.body.apiRoot).toBe(other.apiRoot);
      await other.waitFor(() => pollers(other, twin.id).length > 0 || undefined, { what: 'polling on the new server', timeout: 10_000 });
      const ivan = other.createUser({ first_name: 'Ivan' });
      ivan.sendCommand(twin, '/start');
      expect((await ivan.nextMessage({ timeout: 15_000 })).text).toBe("Hi! I'm the greeting bot. What's your name?");

      const deleted = await s.t.api.delete(`/api/v1/bots/${botId}?force=true`).set(bearer(s.admin.token));
      expect(deleted.status).toBe(204);
      await eventually(async () => (!g.held().includes(botId) ? true : undefined), 'the gateway to stop on delete');
      const polls = pollers(other, twin.id).length;
      // Once stopped, nothing polls any more: a new poll would be a new call.
      // (Polled: the test server does not announce a poll its client gave up.)
      await eventually(async () => (other.bot(twin).poller === undefined ? true : undefined), 'no pending poll', 10_000);
      expect(pollers(other, twin.id).length).toBe(polls);
    } finally {
      await other.close();
      await g.close();
    }
  });
});

describe('gateway leases across API processes', () => {
  let dir: string;
  const services: Service[] = [];

  afterAll(async () => {
    await Promise.allSettled(services.map((x) => x.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a bot moves to the other API within seconds when its holder is killed with SIGKILL', async () => {
    dir = mkdtempSync(join(tmpdir(), 'chainflow-tg-lease-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'data'));
    const stack = testStack();
    const env = {
      DATABASE_URL: s.t.h.db.url,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_NAMESPACE: stack.temporalNamespace,
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('tg-procs'),
      DATA_DIR: join(dir, 'data'),
      WORKFLOW_BUNDLE: stack.workflowBundlePath,
      CHAINFLOW_SECRET_KEY: `k1:${randomBytes(32).toString('base64')}`,
      JWT_SECRET: randomBytes(48).toString('base64'),
      TELEGRAM_API_ROOT: s.server.apiRoot,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    const ports = [await freePort(), await freePort()];
    const worker = startService('worker', 'worker', env, dir);
    services.push(worker);
    const apis = ports.map((port, i) => {
      const api = startService('api', `api-${i + 1}`, { ...env, PORT: String(port) }, dir);
      services.push(api);
      return api;
    });
    await Promise.all([worker.logged('worker running'), ...apis.map((a) => a.logged('api listening'))]);

    // The bot is added through the first API (its getMe goes to the test server); the chain is the greeting.
    const base = `http://127.0.0.1:${ports[0]}`;
    const post = async (path: string, body: unknown, token?: string) => {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const login = await post('/api/v1/auth/login', { email: s.admin.email, password: s.admin.password });
    expect(login.status).toBe(200);
    const token = String(login.body.accessToken);
    const bot = s.server.createBot({ username: 'failover_bot' });
    const created = await post('/api/v1/bots', { name: 'Failover', kind: 'telegram_bot', token: bot.token, chainId }, token);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const botId = String(created.body.id);

    const started = (api: Service) => api.tail(400).split('\n').some((l) => l.includes('telegram: gateway started') && l.includes(botId));
    const holder = await eventually(async () => apis.find(started), 'one API to start the gateway', 20_000);
    const survivor = apis.find((a) => a !== holder);
    if (!survivor) throw new Error('two APIs expected');
    const jo = s.server.createUser({ first_name: 'Jo' });
    jo.sendCommand(bot, '/start');
    expect((await jo.nextMessage({ timeout: 20_000 })).text).toBe("Hi! I'm the greeting bot. What's your name?");
    expect(started(survivor)).toBe(false);

    const killedAt = Date.now();
    killGroup(holder.child, 'SIGKILL');
    await eventually(async () => (started(survivor) ? true : undefined), 'the other API to take the bot', 20_000);
    const takeoverMs = Date.now() - killedAt;
    console.info(`telegram gateway takeover after SIGKILL of its holder: ${takeoverMs} ms`);
    expect(takeoverMs).toBeLessThan(10_000);
    jo.send(bot, 'Jo');
    expect((await jo.nextMessage({ timeout: 20_000 })).text).toBe('Nice to meet you, Jo!');
  }, 120_000);
});
