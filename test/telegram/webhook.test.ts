// Webhook mode end to end: the lease holder sets the webhook (with a secret token it
// keeps encrypted) on the Bot API test server, which posts updates to the API's
// /api/v1/telegram/{botId}/webhook; a wrong secret token is refused with 401 and starts
// nothing; switching to polling while running removes the webhook and polls; webhook
// mode with an http PUBLIC_URL and a Bot API server elsewhere is refused with a 400.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greetingGraph } from '../../chain/examples.ts';
import { BotSchema } from '../../db/bots.ts';
import type { TelegramGateways } from '../../api/telegram/gateway.ts';
import { bearer } from '../api/support/api.ts';
import { eventually } from '../support/stack.ts';
import { startTelegramStack, type TelegramStack } from './support.ts';

let s: TelegramStack;
let http: Server;
let publicUrl: string;
let gateways: TelegramGateways;
let chainId: string;

beforeAll(async () => {
  s = await startTelegramStack('tg-webhook');
  http = s.t.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => http.once('listening', () => resolve()));
  publicUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  gateways = await s.gateways({ publicUrl });
  chainId = (await s.publish(greetingGraph)).chainId;
});

afterAll(async () => {
  await s?.close();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
});

describe('webhook mode', () => {
  it('sets the webhook with a secret token, answers through it, refuses a wrong token, and switches to polling live', async () => {
    const bot = s.server.createBot({ username: 'hooked_bot' });
    const botId = await s.addBot(bot, chainId, { mode: 'webhook' });
    const hook = await s.server.waitFor(() => s.server.bot(bot).webhook, { what: 'the webhook', timeout: 15_000 });
    expect(hook.url).toBe(`${publicUrl}/api/v1/telegram/${botId}/webhook`);
    expect(hook.secretToken).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    const row = await s.t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: botId });
    expect(row.encryptedWebhookSecret).not.toContain(hook.secretToken ?? '');
    expect(s.t.h.secretBox.decrypt(row.encryptedWebhookSecret ?? '', `bot-webhook:${botId}`)).toBe(hook.secretToken);
    await eventually(async () => ((await s.t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: botId })).status === 'running' ? true : undefined), 'status running');

    const lena = s.server.createUser({ first_name: 'Lena' });
    lena.sendCommand(bot, '/start');
    expect((await lena.nextMessage({ timeout: 15_000 })).text).toBe("Hi! I'm the greeting bot. What's your name?");

    const forged = await s.t.api.post(`/api/v1/telegram/${botId}/webhook`).set('x-telegram-bot-api-secret-token', 'guessed').set('content-type', 'application/json').send(JSON.stringify({ update_id: 1, message: { message_id: 1, date: 1, chat: { id: 99, type: 'private' }, from: { id: 99, is_bot: false, first_name: 'Eve' }, text: '/start' } }));
    expect(forged.status).toBe(401);
    expect(forged.body.error).toBe('bad_secret_token');
    await expect(s.t.h.client.workflow.getHandle(`chat:${botId}:99`).describe()).rejects.toThrow();

    // Switch to polling while the session waits: the webhook goes, polling answers.
    await s.t.api.patch(`/api/v1/bots/${botId}`).set(bearer(s.admin.token)).send({ mode: 'polling' }).expect(200);
    await s.server.waitFor(() => (s.server.bot(bot).webhook === undefined && s.server.bot(bot).poller !== undefined) || undefined, { what: 'polling instead of the webhook', timeout: 15_000 });
    lena.send(bot, 'Lena');
    expect((await lena.nextMessage({ timeout: 15_000 })).text).toBe('Nice to meet you, Lena!');
    expect(gateways.held()).toContain(botId);

    // Disabled in webhook mode: the webhook is deleted.
    await s.t.api.patch(`/api/v1/bots/${botId}`).set(bearer(s.admin.token)).send({ mode: 'webhook' }).expect(200);
    await s.server.waitFor(() => s.server.bot(bot).webhook, { what: 'the webhook again', timeout: 15_000 });
    await s.t.api.patch(`/api/v1/bots/${botId}`).set(bearer(s.admin.token)).send({ enabled: false }).expect(200);
    await s.server.waitFor(() => s.server.bot(bot).webhook === undefined || undefined, { what: 'the webhook deleted', timeout: 15_000 });
  });

  it('refuses webhook mode when PUBLIC_URL is http and the Bot API server is not on loopback', async () => {
    const { app, api } = s.t.appWith({}, undefined, { telegram: { apiRoot: 'https://api.telegram.org', publicUrl: 'http://chainflow.example.com' } });
    void app;
    const res = await api.post('/api/v1/bots').set(bearer(s.admin.token)).send({ name: 'Hooked', kind: 'telegram_bot', token: `555000:AA${'q'.repeat(33)}`, mode: 'webhook' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('webhook_needs_https');
    expect(res.body.message).toMatch(/^body\.mode: .*PUBLIC_URL/);
    expect(await s.t.h.db.orm.em.fork().count(BotSchema, { telegramId: '555000' })).toBe(0);
  });
  it('counts the inbound limit in PostgreSQL, shared by every API process', async () => {
    const bot = s.server.createBot({ username: 'limited_hook_bot' });
    const botId = await s.addBot(bot, chainId, { mode: 'webhook' });
    const hook = await s.server.waitFor(() => s.server.bot(bot).webhook, { what: 'the webhook', timeout: 15_000 });
    const post = (updateId: number) =>
      s.t.api
        .post(`/api/v1/telegram/${botId}/webhook`)
        .set('x-telegram-bot-api-secret-token', hook.secretToken ?? '')
        .set('content-type', 'application/json')
        .send(JSON.stringify({ update_id: updateId, edited_message: { message_id: 1, date: 1, edit_date: 2, chat: { id: 5, type: 'private' }, from: { id: 5, is_bot: false, first_name: 'Ed' }, text: 'x' } }));
    expect((await post(9001)).status).toBe(200);
    // Another API process used up the bot's inbound allowance: the row is all this one sees.
    await s.t.h.db.orm.em.getConnection().execute("update rate_limit set tat = now() + interval '1 hour' where key = ?", [`tg:in:${botId}`]);
    const limited = await post(9002);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe('rate_limited');
    await s.t.h.db.orm.em.getConnection().execute('delete from rate_limit where key = ?', [`tg:in:${botId}`]);
    expect((await post(9003)).status).toBe(200);
  });
});
