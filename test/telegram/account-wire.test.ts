// Telegram user accounts over the wire: the product's GramJS client (telegram@2.26.22,
// lib/telegram-account-gramjs.ts) speaks real MTProto — key exchange with the test
// server's RSA key, encrypted session, TL layer 198 — to the loopback MTProto test server
// (test/support/mtproto, gotd/td tgtest). The login through the API (wrong code, expired
// code, flood wait, 2FA checked by SRP, wrong password), the account gateway (lease,
// worker on account:{botId}), a private message in → the greeting chain's reply out,
// chosen groups, deliverMessage (entities, replies, edits, typing, media, flood waits) and
// logout revoking the auth key at the server.

import type { ApplicationFailure } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { createAccountDelivery } from '../../activities/telegram-account.ts';
import { TELEGRAM_FAILURES } from '../../activities/telegram.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greetingGraph } from '../../chain/examples.ts';
import { accountInbound, startAccountGateways, type AccountGateways } from '../../api/telegram/accounts.ts';
import { BotSchema, botSecret } from '../../db/bots.ts';
import { TelegramAccountPeerSchema } from '../../db/telegram.ts';
import { createLogger } from '../../lib/logger.ts';
import { gramAccountClientsFor } from '../../lib/telegram-account-gramjs.ts';
import type { AccountClientFactory } from '../../lib/telegram-account.ts';
import { bearer, registerAdmin, startApi, type Account, type ApiHarness } from '../api/support/api.ts';
import { publishGraph } from '../support/dialogue.ts';
import { messageSignal } from '../../temporal/contracts.ts';
import { startMtprotoServer, type MtprotoTestServer } from '../support/mtproto-server.ts';
import { eventually, quietTemporalRuntime, testStack } from '../support/stack.ts';

let mt: MtprotoTestServer;
let accounts: AccountClientFactory;
let t: ApiHarness;
let admin: Account;
let connection: NativeConnection;
const gateways: AccountGateways[] = [];
const app = { apiId: 123456, apiHash: '0123456789abcdef0123456789abcdef' };
const phone = '+4915100000002';
const me = { id: 777000222, firstName: 'Grace', username: 'grace_test' };

beforeAll(async () => {
  quietTemporalRuntime();
  mt = await startMtprotoServer();
  accounts = gramAccountClientsFor(mt.server);
  t = await startApi('tg-account-wire', { deps: { accounts } });
  admin = await registerAdmin(t.api);
  connection = await NativeConnection.connect({ address: testStack().temporalAddress });
});

afterAll(async () => {
  for (const g of gateways) await g.close();
  await connection?.close();
  await t?.close();
  await mt?.close();
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
    logger: createLogger('silent', 'account-wire-test'),
    accounts,
    reconcileMs: 300,
  });
  gateways.push(g);
  return g;
};

const createAccount = async (name: string) => {
  const { chainId } = await publishGraph(t.h.db, greetingGraph);
  const created = await t.api.post('/api/v1/bots').set(bearer(admin.token)).send({ name, kind: 'telegram_user', chainId });
  expect(created.status).toBe(201);
  expect(created.body.hasSecret).toBe(false);
  return created.body.id as string;
};
const login = (botId: string, step = '', body: object = {}) => t.api.post(`/api/v1/bots/${botId}/account/login${step}`).set(bearer(admin.token)).send(body);

describe('telegram user accounts over MTProto (GramJS ↔ loopback test server)', () => {
  it('login: flood wait, wrong code, expired code, 2FA by SRP with a wrong then the right password', async () => {
    await mt.account({ phone, code: '24680', password: 'correct horse', me });
    const botId = await createAccount('Wire 2FA');

    await mt.flood('auth.sendCode', 37);
    const flood = await login(botId, '', { ...app, phone });
    expect(flood.status).toBe(429);
    expect(flood.body).toMatchObject({ error: 'flood_wait', details: { retryAfterSeconds: 37 } });

    const badPhone = await login(botId, '', { ...app, phone: '+4915199999999' });
    expect(badPhone.status).toBe(400);
    expect(badPhone.body.error).toBe('bad_phone');

    const first = await login(botId, '', { ...app, phone });
    expect(first.body).toEqual({ state: 'code', codeType: 'app', timeoutSeconds: 120 });
    const wrong = await login(botId, '/code', { code: '11111' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('wrong_code');

    // A second code request expires the first code's hash at Telegram; the pending login
    // of another account still holds the old hash.
    const otherId = await createAccount('Wire 2FA, older code');
    expect((await login(otherId, '', { ...app, phone })).status).toBe(200);
    expect((await login(botId, '', { ...app, phone })).status).toBe(200);
    const expired = await login(otherId, '/code', { code: '24680' });
    expect(expired.status).toBe(410);
    expect(expired.body.error).toBe('code_expired');

    const password = await login(botId, '/code', { code: '24680' });
    expect(password.body).toEqual({ state: 'password', hint: 'pet' });
    const wrongPassword = await login(botId, '/password', { password: 'Tr0ub4dor&3' });
    expect(wrongPassword.status).toBe(400);
    expect(wrongPassword.body.error).toBe('wrong_password');
    const done = await login(botId, '/password', { password: 'correct horse' });
    expect(done.body).toEqual({ state: 'done', user: { id: String(me.id), firstName: me.firstName, username: me.username } });
    expect((await mt.state()).authorized).toBe(1);
    const hasSecret = async () => (await t.api.get(`/api/v1/bots/${botId}`).set(bearer(admin.token))).body.hasSecret as boolean;
    expect(await hasSecret()).toBe(true);

    const out = await t.api.post(`/api/v1/bots/${botId}/account/logout`).set(bearer(admin.token)).send();
    expect(out.body).toEqual({ revoked: true });
    const state = await mt.state();
    expect(state.logOuts).toBe(1);
    expect(state.authorized).toBe(0);
    expect(await hasSecret()).toBe(false);
  });

  it('a private message in → the chain reply out through the one holder of the connection', async () => {
    await mt.account({ phone, code: '13579', me });
    const botId = await createAccount('Wire account');
    expect((await login(botId, '', { ...app, phone })).status).toBe(200);
    const done = await login(botId, '/code', { code: '13579' });
    expect(done.body.state).toBe('done');

    const a = await start();
    const b = await start();
    await eventually(() => (a.held().includes(botId) || b.held().includes(botId) ? true : undefined), 'an account holder', 20_000);
    await a.reconcile();
    await b.reconcile();
    expect([...a.held(), ...b.held()].filter((id) => id === botId)).toHaveLength(1);
    await eventually(async () => ((await t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: botId })).status === 'running' ? true : undefined), 'status running');

    const from = { id: 5550001, firstName: 'Hana', username: 'hana', langCode: 'de' };
    const pushed = await mt.incoming({ from, text: '/start' });
    expect(pushed.delivered).toBeGreaterThanOrEqual(1);
    const greeting = await eventually(async () => (await mt.state()).sent.find((s) => s.method === 'sendMessage' && s.peer === String(from.id)), 'the greeting over MTProto', 30_000);
    expect(greeting.text).toBe("Hi! I'm the greeting bot. What's your name?");

    const run = await t.h.client.workflow.getHandle(`chat:${botId}:${from.id}`).describe();
    expect(run.status.name).toBe('RUNNING');

    await mt.incoming({ from, text: 'Hana' });
    await eventually(async () => ((await mt.state()).sent.some((s) => s.text === 'Nice to meet you, Hana!') ? true : undefined), 'the reply over MTProto', 30_000);
    // A typing action went before each reply (delivery shows "… is typing" first).
    expect((await mt.state()).sent.filter((s) => s.method === 'setTyping' && s.peer === String(from.id)).length).toBeGreaterThanOrEqual(2);

    // Groups: only the chosen ones start sessions, chat:{botId}:-{groupId}, answered in the group.
    const badGroups = await t.api.patch(`/api/v1/bots/${botId}`).set(bearer(admin.token)).send({ groups: ['4012345678'] });
    expect(badGroups.status).toBe(400);
    expect(badGroups.body.message).toMatch(/^body\.groups\.0: /);
    const chosen = await t.api.patch(`/api/v1/bots/${botId}`).set(bearer(admin.token)).send({ groups: ['-4012345678'] });
    expect(chosen.status).toBe(200);
    expect(chosen.body.groups).toEqual(['-4012345678']);
    const member = { id: 5550002, firstName: 'Ines', langCode: 'pt' };
    await eventually(async () => ((await mt.incoming({ from: member, text: '/start', group: 4099999999, groupTitle: 'Not chosen' })).delivered > 0 ? true : undefined), 'a connected client');
    await eventually(async () => ((await mt.incoming({ from: member, text: '/start', group: 4012345678, groupTitle: 'Chosen' })).delivered > 0 ? true : undefined), 'a connected client');
    const inGroup = await eventually(async () => (await mt.state()).sent.find((s) => s.method === 'sendMessage' && s.peer === '-4012345678'), 'the greeting in the chosen group', 30_000);
    expect(inGroup.text).toBe("Hi! I'm the greeting bot. What's your name?");
    expect((await t.h.client.workflow.getHandle(`chat:${botId}:-4012345678`).describe()).status.name).toBe('RUNNING');
    expect((await mt.state()).sent.some((s) => s.peer === '-4099999999')).toBe(false);
    // The test server pushes to every signed-in connection: close these before the next test.
    for (const g of gateways.splice(0)) await g.close();
  });

  it('after a restart (a new GramJS client from the stored session) a reply reaches a person who has not written since', async () => {
    await mt.account({ phone, code: '86420', me });
    const botId = await createAccount('Wire restart');
    expect((await login(botId, '', { ...app, phone })).status).toBe(200);
    expect((await login(botId, '/code', { code: '86420' })).body.state).toBe('done');
    const first = await start();
    await eventually(() => (first.held().includes(botId) ? true : undefined), 'the account held', 20_000);

    const from = { id: 5550004, firstName: 'Kai' };
    await eventually(async () => ((await mt.incoming({ from, text: '/start' })).delivered > 0 ? true : undefined), 'a connected client');
    await eventually(async () => (await mt.state()).sent.find((s) => s.method === 'sendMessage' && s.peer === String(from.id)), 'the greeting over MTProto', 30_000);
    // The access hash Telegram gave with the message (the test server's: id·7+1) is stored.
    const peer = await t.h.db.orm.em.fork().findOneOrFail(TelegramAccountPeerSchema, { botId, peerId: String(from.id) });
    expect(peer.accessHash).toBe(String(from.id * 7 + 1));

    // A restart: this gateway goes, another takes the account with a new client made from the stored session.
    gateways.splice(gateways.indexOf(first), 1);
    await first.close();
    const second = await start();
    await eventually(() => (second.held().includes(botId) ? true : undefined), 'the account held again', 20_000);

    // The session answers without a new MTProto message (as a reminder days later would): the new
    // client has never seen Kai, only the stored hash can address him.
    const sentBefore = (await mt.state()).sent.length;
    await t.h.client.workflow
      .getHandle(`chat:${botId}:${from.id}`)
      .signal(messageSignal, accountInbound({ id: 1000, peerId: String(from.id), text: 'Kai', date: Math.floor(Date.now() / 1000), from: { id: String(from.id) }, private: true }));
    const reply = await eventually(
      async () => (await mt.state()).sent.slice(sentBefore).find((s) => s.method === 'sendMessage' && s.peer === String(from.id)),
      'the reply after the restart over MTProto',
      30_000,
    );
    expect(reply.text).toBe('Nice to meet you, Kai!');
    for (const g of gateways.splice(0)) await g.close();
    // The hash stays out of the session's run events; a logout forgets the account's peers (hashes are per account).
    const events = await eventually(async () => {
      const [row] = await t.h.db.orm.em.getConnection().execute<{ n: string; leaked: string }[]>(
        'select count(*) as n, count(*) filter (where payload::text like ?) as leaked from run_event where run_id = ?',
        [`%${peer.accessHash}%`, `chat:${botId}:${from.id}`],
      );
      return Number(row?.n) > 0 ? row : undefined;
    }, 'the run events of the session');
    expect(Number(events.leaked)).toBe(0);
    expect((await t.api.post(`/api/v1/bots/${botId}/account/logout`).set(bearer(admin.token)).send()).body).toEqual({ revoked: true });
    expect(await t.h.db.orm.em.fork().count(TelegramAccountPeerSchema, { botId })).toBe(0);
  }, 90_000);

  it('deliverMessage over MTProto: entities, a reply, buttons as text, an edit of the last message, a photo by URL, a flood wait as a retry delay', async () => {
    await mt.account({ phone, code: '97531', me });
    const botId = await createAccount('Wire delivery');
    // Disabled: the gateways of the test before must not take this account (its own client is made here).
    expect((await t.api.patch(`/api/v1/bots/${botId}`).set(bearer(admin.token)).send({ enabled: false })).status).toBe(200);
    expect((await login(botId, '', { ...app, phone })).status).toBe(200);
    expect((await login(botId, '/code', { code: '97531' })).body.state).toBe('done');
    const row = await t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: botId });
    const client = accounts(app, botSecret(t.h.secretBox, row));
    await client.connect();
    try {
      // The peer must be known to the client (Telegram gives its access hash with its message).
      const from = { id: 5550003, firstName: 'Jo' };
      client.onMessage(() => undefined);
      await mt.incoming({ from, text: 'hi' });
      const activity = createAccountDelivery({ orm: t.h.db.orm, logger: createLogger('silent', 'wire-delivery'), botId, accountName: 'Wire delivery', client });
      const chatKey = `telegram-chat:${botId}:${from.id}`;
      // The account's pace (one message per 3 s in a chat) answers a too-early send with a retry delay: try again then, as Temporal would.
      const deliver = (input: Parameters<typeof activity>[0]) =>
        eventually(
          () =>
            activity(input).catch((err: unknown) => {
              if ((err as ApplicationFailure).type === TELEGRAM_FAILURES.paced) return undefined;
              throw err;
            }),
          'a delivery within the pace',
          20_000,
        );
      const base = { nodeId: 'n1', format: 'html' as const };
      await deliver({ channel: 'telegram_user', botId, chatKey, messages: [{ ...base, id: 'm1', text: '<b>Menu</b> for <i>you</i>', replyTo: `${from.id}:41`, buttons: { kind: 'reply', rows: [[{ id: 'b1', text: 'Tea' }, { id: 'b2', text: 'Site', url: 'https://example.com/' }]] } }] });
      await deliver({ channel: 'telegram_user', botId, chatKey, messages: [{ ...base, id: 'm2', text: 'Menu <code>closed</code>', edit: true }] });
      await deliver({ channel: 'telegram_user', botId, chatKey, messages: [{ ...base, id: 'm3', text: '', media: [{ kind: 'photo', url: 'https://example.com/p.jpg', caption: 'P' }] }] });
      const sent = (await mt.state()).sent.filter((s) => s.peer === String(from.id));
      expect(sent.map((s) => s.method)).toEqual(['setTyping', 'sendMessage', 'editMessage', 'setTyping', 'sendMedia']);
      const [, first, edit, , photo] = sent;
      expect(first).toMatchObject({ text: 'Menu for you\n\n• Tea\n• Site: https://example.com/', replyTo: 41, entities: [{ type: 'bold', offset: 0, length: 4 }, { type: 'italic', offset: 9, length: 3 }] });
      expect(edit).toMatchObject({ id: first?.id, text: 'Menu closed', entities: [{ type: 'code', offset: 5, length: 6 }] });
      expect(photo).toMatchObject({ media: 'photo', url: 'https://example.com/p.jpg', text: 'P' });

      await mt.flood('messages.sendMessage', 42);
      const failure = await eventually(
        () =>
          activity({ channel: 'telegram_user', botId, chatKey, messages: [{ ...base, id: 'm4', text: 'later' }] }).then(
            () => new Error('delivered despite the flood wait') as unknown as ApplicationFailure,
            (err: unknown) => ((err as ApplicationFailure).type === TELEGRAM_FAILURES.paced ? undefined : (err as ApplicationFailure)),
          ),
        'the flood wait',
        20_000,
      );
      expect(failure?.type).toBe(TELEGRAM_FAILURES.rateLimited);
      expect(failure?.nextRetryDelay).toBe('42s');
    } finally {
      await client.disconnect();
    }
  }, 90_000);
});
