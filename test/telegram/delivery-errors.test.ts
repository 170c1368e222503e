// Telegram's errors on the way out and Bot API servers that differ from Telegram's on
// the way in, through the real gateway, worker and Temporal: 429 waits retry_after as a
// Temporal retry (no sleep in the activity, no second message), 400 is not retried and
// shows Telegram's description in the run log, 403 ends the session as `blocked` and
// later sends fail fast until the user writes again; a getUpdates that ignores `timeout`
// is backed off, and error bodies that are not the Bot API's only give warnings.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelegramDelivery } from '../../activities/telegram.ts';
import type { TelegramGateways } from '../../api/telegram/gateway.ts';
import { telegramOwners } from '../../db/telegram.ts';
import { captureLogs } from '../api/support/api.ts';
import { runEvents } from '../support/dialogue.ts';
import { eventually } from '../support/stack.ts';
import { TelegramTestServer, type TestBot } from '../support/telegram/index.ts';
import { startTelegramStack, type TelegramStack } from './support.ts';

const logs = captureLogs();
let s: TelegramStack;
let gateways: TelegramGateways;

beforeAll(async () => {
  s = await startTelegramStack('tg-errors', { logger: logs.logger });
  gateways = await s.gateways();
});

afterAll(async () => {
  await s?.close();
});

const graph = (slug: string, nodes: Array<{ id: string; type: string; data: Record<string, unknown> }>) => ({
  slug,
  name: slug,
  nodes: [{ id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'any' } } }, ...nodes.map((n, i) => ({ position: { x: 200 * (i + 1), y: 0 }, ...n }))],
  edges: [{ id: 'e0', source: 'start', target: String(nodes[0]?.id) }, ...nodes.slice(1).map((n, i) => ({ id: `e${i + 1}`, source: String(nodes[i]?.id), sourcePort: 'next', target: String(n.id) }))],
});

let botNumber = 0;
async function botFor(username: string, nodes: Array<{ id: string; type: string; data: Record<string, unknown> }>, extra: Record<string, unknown> = {}, server: TelegramTestServer = s.server): Promise<{ bot: TestBot; botId: string }> {
  const chain = await s.publish(graph(username.replace(/_/g, '-'), nodes));
  // Ids of their own: two test servers number their bots alike.
  const bot = server.createBot({ username, token: `${8_100_000_000 + ++botNumber}:AA${'t'.repeat(20)}${String(botNumber).padStart(13, '0')}` });
  const botId = await s.addBot(bot, chain.chainId, extra);
  await eventually(async () => (gateways.held().includes(botId) ? true : undefined), `the gateway of ${username}`);
  return { bot, botId };
}

const sendMessages = (bot: TestBot, server = s.server) => server.calls.filter((c) => c.botId === bot.id && c.method === 'sendMessage');

describe('Telegram delivery errors', () => {
  it('a 429 becomes a Temporal retry after retry_after, and the reply is sent once', async () => {
    const { bot, botId } = await botFor('limited_bot', [{ id: 'hello', type: 'message', data: { text: 'Hello after the limit' } }]);
    const fault = s.server.inject({ fault: { type: 'rate_limit', retryAfter: 2 }, method: 'sendMessage', token: bot.token, times: 1 });
    const dana = s.server.createUser({ first_name: 'Dana' });
    dana.send(bot, 'hi');
    await s.server.waitFor(() => sendMessages(bot).some((c) => c.status === 429), { what: 'the 429', timeout: 15_000 });
    const limitedAt = Date.now();
    const reply = await dana.nextMessage({ timeout: 15_000 });
    expect(reply.text).toBe('Hello after the limit');
    expect(Date.now() - limitedAt).toBeGreaterThanOrEqual(1500);
    expect(fault.hits).toBe(1);
    expect(sendMessages(bot).map((c) => c.status)).toEqual([429, 200]);
    expect(s.server.transcript(bot, dana.chat).filter((e) => e.from === 'bot')).toHaveLength(1);
    // The wait was Temporal's retry (attempt 2 of the activity), not a sleep inside it.
    await s.t.h.client.workflow.getHandle(`chat:${botId}:${dana.id}`).result();
    const history = await s.t.h.client.workflow.getHandle(`chat:${botId}:${dana.id}`).fetchHistory();
    const started = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes] : []));
    expect(started.map((a) => a.attempt)).toContain(2);
  });

  it('a 400 is not retried and Telegram’s description reaches the run log', async () => {
    const { bot, botId } = await botFor('broken_html_bot', [
      { id: 'bad', type: 'message', data: { text: '<b>never closed', format: 'html' } },
      { id: 'after', type: 'message', data: { text: 'The session goes on' } },
    ]);
    const erin = s.server.createUser({ first_name: 'Erin' });
    erin.send(bot, 'hi');
    const failed = await eventually(async () => (await runEvents(s.t.h.db, `chat:${botId}:${erin.id}`)).find((e) => e.type === 'delivery.failed'), 'delivery.failed in the run log');
    expect(String(failed.payload.message)).toMatch(/Telegram answered 400: Bad Request: can't parse entities/);
    const result = await s.t.h.client.workflow.getHandle(`chat:${botId}:${erin.id}`).result();
    expect(result.outcome).toBe('completed');
    // One batch, one call: the 400 ended the delivery without a retry.
    expect(sendMessages(bot).map((c) => c.status)).toEqual([400]);
  });

  it('a 403 ends the session as blocked; later sends fail fast until the user writes again', async () => {
    const { bot, botId } = await botFor('blocked_bot', [
      { id: 'hello', type: 'message', data: { text: 'Hello' } },
      { id: 'wait', type: 'delay', data: { mode: 'duration', duration: '1s' } },
      { id: 'again', type: 'message', data: { text: 'Still there?' } },
      { id: 'never', type: 'message', data: { text: 'Never sent' } },
    ]);
    const finn = s.server.createUser({ first_name: 'Finn' });
    finn.send(bot, 'hi');
    expect((await finn.nextMessage({ timeout: 15_000 })).text).toBe('Hello');
    finn.block(bot);
    const result = await s.t.h.client.workflow.getHandle(`chat:${botId}:${finn.id}`).result();
    expect(result.outcome).toBe('blocked');
    expect(sendMessages(bot).map((c) => c.status)).toEqual([200, 403]);
    const [row] = await s.t.h.db.orm.em.getConnection().execute<{ blocked_at: string | null }[]>('select blocked_at from telegram_chat where bot_id = ? and chat_id = ?', [botId, String(finn.id)]);
    expect(row?.blocked_at).toBeTruthy();
    const events = await runEvents(s.t.h.db, `chat:${botId}:${finn.id}`);
    expect(events.map((e) => e.type)).toContain('session.blocked');

    // Another send to the chat fails at once, without calling Telegram.
    const deliver = createTelegramDelivery({ orm: s.t.h.db.orm, logger: logs.logger, secretBox: s.t.h.secretBox });
    const calls = s.server.calls.length;
    await expect(deliver({ botId, chatKey: telegramOwners(botId, String(finn.id), String(finn.id)).chat, messages: [{ id: 'x1', nodeId: 'n', text: 'Hi?', format: 'plain' }] })).rejects.toMatchObject({ type: 'telegram_blocked', nonRetryable: true });
    expect(s.server.calls.length).toBe(calls);

    // Writing again lifts the block.
    finn.unblock(bot);
    finn.send(bot, 'I am back');
    expect((await finn.nextMessage({ timeout: 15_000 })).text).toBe('Hello');
    const [after] = await s.t.h.db.orm.em.getConnection().execute<{ blocked_at: string | null }[]>('select blocked_at from telegram_chat where bot_id = ? and chat_id = ?', [botId, String(finn.id)]);
    expect(after?.blocked_at).toBeNull();
  });
});

describe('long texts and retries', () => {
  it('splits a long text on word boundaries, and a retry after a 5xx sends only the parts still missing', async () => {
    const words = Array.from({ length: 1500 }, (_, i) => `w${i}`).join(' ');
    const { bot } = await botFor('long_bot', [{ id: 'long', type: 'message', data: { text: words } }]);
    const kim = s.server.createUser({ first_name: 'Kim' });
    // The first part is held back a moment, so the fault below hits the second one.
    const slow = s.server.inject({ fault: { type: 'slow', delayMs: 1000 }, method: 'sendMessage', token: bot.token, times: 1 });
    kim.send(bot, 'hi');
    await s.server.waitFor(() => sendMessages(bot).length >= 1 || undefined, { what: 'the first part in flight', timeout: 15_000 });
    const broken = s.server.inject({ fault: { type: 'server_error', status: 502, description: 'Bad Gateway' }, method: 'sendMessage', token: bot.token, times: 1 });
    await s.server.waitFor(() => s.server.transcript(bot, kim.chat).filter((e) => e.from === 'bot').length >= 2 || undefined, { what: 'two parts', timeout: 20_000 });
    expect(slow.hits).toBe(1);
    expect(broken.hits).toBe(1);
    expect(sendMessages(bot).map((c) => c.status)).toEqual([200, 502, 200]);
    const parts = s.server.transcript(bot, kim.chat).filter((e) => e.from === 'bot').map((e) => e.message.text ?? '');
    expect(parts).toHaveLength(2);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(4096);
    expect(parts.join(' ')).toBe(words);
  });

  it('a burst of 5xx answers during the sends of two steps is retried, and each step’s reply is sent exactly once', async () => {
    const { bot, botId } = await botFor('burst_bot', [
      { id: 'ask', type: 'ask', data: { prompt: 'Your name?', variable: 'session.name' } },
      { id: 'hi', type: 'message', data: { text: 'Hi {{ session.name }}' } },
    ]);
    const lee = s.server.createUser({ first_name: 'Lee' });
    const unavailable = s.server.inject({ fault: { type: 'server_error', status: 503, description: 'Service Unavailable' }, method: 'sendMessage', token: bot.token, times: 2 });
    lee.send(bot, 'hi');
    expect((await lee.nextMessage({ timeout: 20_000 })).text).toBe('Your name?');
    expect(unavailable.hits).toBe(2);
    // The second step meets a Telegram-shaped 502, then an HTML 504 from a proxy in front of the Bot API.
    const badGateway = s.server.inject({ fault: { type: 'server_error', status: 502, description: 'Bad Gateway' }, method: 'sendMessage', token: bot.token, times: 1 });
    const proxy = s.server.inject({ fault: { type: 'raw', status: 504, body: '<html><body>504 Gateway Time-out</body></html>', contentType: 'text/html' }, method: 'sendMessage', token: bot.token, times: 1 });
    lee.send(bot, 'Lee');
    expect((await lee.nextMessage({ timeout: 20_000 })).text).toBe('Hi Lee');
    expect([badGateway.hits, proxy.hits]).toEqual([1, 1]);
    const result = await s.t.h.client.workflow.getHandle(`chat:${botId}:${lee.id}`).result();
    expect(result.outcome).toBeDefined();
    expect(sendMessages(bot).map((c) => c.status)).toEqual([503, 503, 200, 502, 504, 200]);
    expect(s.server.transcript(bot, lee.chat).map((e) => [e.from, e.message.text])).toEqual([
      ['user', 'hi'],
      ['bot', 'Your name?'],
      ['user', 'Lee'],
      ['bot', 'Hi Lee'],
    ]);
  });
});

describe('Bot API servers that differ from Telegram’s', () => {
  it('backs off when getUpdates returns at once, survives error bodies that are not the Bot API’s and missing methods', async () => {
    const quirky = await TelegramTestServer.start({ quirks: { ignoreTimeout: true, missingMethods: ['setMyCommands', 'deleteMyCommands'] } });
    try {
      const { bot } = await botFor('quirky_bot', [{ id: 'hello', type: 'message', data: { text: 'Hello from a quirky server' } }], { apiRoot: quirky.apiRoot }, quirky);
      const polls = () => quirky.calls.filter((c) => c.botId === bot.id && c.method === 'getUpdates').length;
      const first = await quirky.waitFor(() => (polls() >= 1 ? Date.now() : undefined), { timeout: 10_000 });
      await quirky.waitFor(() => polls() >= 6, { what: 'six polls', timeout: 20_000 });
      // Six empty answers at once would take a few ms in a busy loop; the backoff spaces them 100, 200, 400, 800, 1600 ms.
      expect(Date.now() - first).toBeGreaterThanOrEqual(1400);

      const raw = quirky.inject({ fault: { type: 'raw', status: 502, body: '<html><body>502 Bad Gateway</body></html>', contentType: 'text/html' }, method: 'getUpdates', times: 2 });
      await quirky.waitFor(() => raw.hits >= 2, { what: 'two raw 502s', timeout: 20_000 });
      const gina = quirky.createUser({ first_name: 'Gina' });
      gina.send(bot, 'hi');
      expect((await gina.nextMessage({ timeout: 20_000 })).text).toBe('Hello from a quirky server');
      expect(logs.text()).toMatch(/getUpdates failed/);
      expect(logs.text()).toMatch(/command menu could not be set/);
      expect(logs.text()).not.toContain(bot.token.split(':')[1]);
    } finally {
      await quirky.close();
    }
  });
});
