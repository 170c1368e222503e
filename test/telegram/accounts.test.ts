// Telegram user accounts end to end, offline: the login operations through the real API,
// two account gateways on one database (one lease holder, a worker on account:{botId}),
// a private message in → the greeting chain's reply out through the holder's connection,
// and a take-over when the holder goes. Telegram's side is a test-only implementation of
// our AccountClient port (test/support/telegram-account.ts); GramJS over the wire is in
// account-wire.test.ts (docs/telegram.md, "Tests").

import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greetingGraph } from '../../chain/examples.ts';
import { startAccountGateways, type AccountGateways } from '../../api/telegram/accounts.ts';
import { BotSchema, botSecret } from '../../db/bots.ts';
import { createLogger } from '../../lib/logger.ts';
import { bearer, registerAdmin, startApi, type Account, type ApiHarness } from '../api/support/api.ts';
import { publishGraph } from '../support/dialogue.ts';
import { eventually, quietTemporalRuntime, testStack } from '../support/stack.ts';
import { LoopbackTelegram } from '../support/telegram-account.ts';

const tg = new LoopbackTelegram();
let t: ApiHarness;
let admin: Account;
let connection: NativeConnection;
const gateways: AccountGateways[] = [];
const app = { apiId: 123456, apiHash: '0123456789abcdef0123456789abcdef' };

beforeAll(async () => {
  quietTemporalRuntime();
  t = await startApi('tg-account', { deps: { accounts: tg.factory } });
  admin = await registerAdmin(t.api);
  connection = await NativeConnection.connect({ address: testStack().temporalAddress });
});

afterAll(async () => {
  for (const g of gateways) await g.close();
  await connection?.close();
  await t?.close();
});

const start = async () => {
  const g = await startAccountGateways({
    orm: t.h.db.orm,
    databaseUrl: t.h.db.url,
    secretBox: t.h.secretBox,
    temporal: t.h.client,
    workerConnection: connection,
    namespace: testStack().temporalNamespace,
    taskQueue: t.h.taskQueue,
    logger: createLogger('silent', 'account-test'),
    accounts: tg.factory,
    reconcileMs: 300,
  });
  gateways.push(g);
  return g;
};

describe('telegram user accounts', () => {
  it('login through the API, one holder, private message in → chain reply out, take-over', async () => {
    const { chainId } = await publishGraph(t.h.db, greetingGraph);
    const created = await t.api.post('/api/v1/bots').set(bearer(admin.token)).send({ name: 'Sales account', kind: 'telegram_user', chainId });
    expect(created.status).toBe(201);
    const botId = created.body.id as string;

    const bad = await t.api.post(`/api/v1/bots/${botId}/account/login`).set(bearer(admin.token)).send({ ...app, apiHash: 'nope', phone: tg.phone });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^body\.apiHash: /);
    const sent = await t.api.post(`/api/v1/bots/${botId}/account/login`).set(bearer(admin.token)).send({ ...app, phone: tg.phone });
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({ state: 'code', codeType: 'app', timeoutSeconds: 120 });
    const wrong = await t.api.post(`/api/v1/bots/${botId}/account/login/code`).set(bearer(admin.token)).send({ code: '0000' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('wrong_code');
    const code = [...tg.codes.values()].at(-1)!.code;
    const done = await t.api.post(`/api/v1/bots/${botId}/account/login/code`).set(bearer(admin.token)).send({ code });
    expect(done.body).toEqual({ state: 'done', user: tg.user });
    const row = await t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: botId });
    const session = botSecret(t.h.secretBox, row);
    expect(tg.sessions.has(session)).toBe(true);
    expect(JSON.stringify(done.body)).not.toContain(session);

    const a = await start();
    const b = await start();
    const holder = await eventually(() => (a.held().includes(botId) ? a : b.held().includes(botId) ? b : undefined), 'an account holder');
    const other = holder === a ? b : a;
    await other.reconcile();
    expect([...a.held(), ...b.held()].filter((id) => id === botId)).toHaveLength(1);
    await eventually(async () => ((await t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: botId })).status === 'running' ? true : undefined), 'status running');

    const from = { id: '555', firstName: 'Hana', langCode: 'en' };
    tg.deliver(session, { id: 1, peerId: '555', text: '/start', date: 1_700_000_000, from, private: true });
    await eventually(() => (tg.sent.some((s) => s.peerId === '555') ? true : undefined), 'the greeting', 20_000);
    expect(tg.sent.find((s) => s.peerId === '555')?.message.text).toBe("Hi! I'm the greeting bot. What's your name?");
    const description = await t.h.client.workflow.getHandle(`chat:${botId}:555`).describe();
    expect(description.status.name).toBe('RUNNING');

    await holder.close();
    await eventually(() => (other.held().includes(botId) ? true : undefined), 'the other process to take the account over', 10_000);
    tg.deliver(session, { id: 2, peerId: '555', text: 'Hana', date: 1_700_000_010, from, private: true });
    await eventually(() => (tg.sent.some((s) => s.message.text === 'Nice to meet you, Hana!') ? true : undefined), 'the reply after the take-over', 20_000);

    const out = await t.api.post(`/api/v1/bots/${botId}/account/logout`).set(bearer(admin.token)).send();
    expect(out.body).toEqual({ revoked: true });
    expect(tg.revoked).toContain(session);
    await eventually(() => (!other.held().includes(botId) ? true : undefined), 'the connection to close after logout', 10_000);
  });
});
