// Bot commands bound to another chain (`bot_command`, /api/v1/bots/{id}/commands): the API
// validates and stores them, the gateway merges them with the chain's command triggers
// into the bot's menus (setMyCommands, one per language) without a restart, and a bound
// command stops the chat's session (outcome `switched`) and starts the bound chain under
// the same chat:{botId}:{chatId} id.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelegramGateways } from '../../api/telegram/gateway.ts';
import { bearer, SESSION_TABLES, snapshotDatabase } from '../api/support/api.ts';
import { runEvents } from '../support/dialogue.ts';
import { eventually } from '../support/stack.ts';
import { startTelegramStack, type TelegramStack } from './support.ts';
import { TelegramTestServer } from '../support/telegram/index.ts';

let s: TelegramStack;
let gateways: TelegramGateways;

beforeAll(async () => {
  s = await startTelegramStack('tg-bound');
  gateways = await s.gateways();
});

afterAll(async () => {
  await s?.close();
});

const mainGraph = {
  slug: 'main-chain',
  name: 'Main',
  defaultLanguage: 'en',
  languages: ['en', 'ru'],
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'command', command: '/start', description: 'Begin' } } },
    { id: 'name', type: 'ask', position: { x: 200, y: 0 }, data: { prompt: 'Your name?', variable: 'session.name' } },
    { id: 'bye', type: 'message', position: { x: 400, y: 0 }, data: { text: 'Bye {{ session.name }}' } },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'name' },
    { id: 'e2', source: 'name', sourcePort: 'next', target: 'bye' },
  ],
};

const helpGraph = {
  slug: 'help-chain',
  name: 'Help',
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'command', command: '/help' } } },
    { id: 'topic', type: 'ask', position: { x: 200, y: 0 }, data: { prompt: 'Help with what?', variable: 'session.topic' } },
    { id: 'done', type: 'message', position: { x: 400, y: 0 }, data: { text: 'Help on {{ session.topic }} is coming' } },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'topic' },
    { id: 'e2', source: 'topic', sourcePort: 'next', target: 'done' },
  ],
};

describe('bot commands bound to another chain', () => {
  it('validates, stores and lists them; the menus follow without a restart; the command switches the session', async () => {
    const main = await s.publish(mainGraph);
    const help = await s.publish(helpGraph);
    const bot = s.server.createBot({ username: 'bound_bot' });
    const dana = s.server.createUser({ first_name: 'Dana', language_code: 'ru' });
    const botId = await s.addBot(bot, main.chainId);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the bot');
    const auth = bearer(s.admin.token);
    const path = `/api/v1/bots/${botId}/commands`;

    // Bad input: a 4xx naming the field, nothing stored.
    const before = await snapshotDatabase(s.t.h);
    const badName = await s.t.api.post(path).set(auth).send({ command: 'no spaces!', chainId: help.chainId, description: 'Help' });
    expect(badName.status).toBe(400);
    expect(badName.body.message).toContain('body.command');
    const badLang = await s.t.api.post(path).set(auth).send({ command: 'help', chainId: help.chainId, description: 'Help', descriptions: { russian: 'Помощь' } });
    expect(badLang.status).toBe(400);
    expect(badLang.body.message).toContain('body.descriptions');
    const noChain = await s.t.api.post(path).set(auth).send({ command: 'help', chainId: 'no-such-chain', description: 'Help' });
    expect(noChain.status).toBe(404);
    expect(noChain.body.message).toContain('body.chainId');
    expect((await s.t.api.get(path)).status).toBe(401);
    expect(await snapshotDatabase(s.t.h)).toEqual(before);

    const created = await s.t.api.post(path).set(auth).send({ command: '/Help', chainId: help.slug, description: 'Get help', descriptions: { ru: 'Помощь' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ botId, command: 'help', chainId: help.chainId, description: 'Get help', descriptions: { ru: 'Помощь' } });
    expect((await s.t.api.post(path).set(auth).send({ command: 'help', chainId: help.chainId, description: 'Again' })).status).toBe(409);
    expect((await s.t.api.get(path).set(auth)).body.items.map((c: { command: string }) => c.command)).toEqual(['help']);

    // The menus: the chain's /start merged with the bound /help, per language, without a restart.
    await s.server.waitFor(() => (s.server.commands(bot).length === 2 ? true : undefined), { what: 'the merged default menu', timeout: 10_000 });
    expect(s.server.commands(bot)).toEqual([{ command: 'help', description: 'Get help' }, { command: 'start', description: 'Begin' }]);
    await s.server.waitFor(() => (s.server.commands(bot, { type: 'default' }, 'ru').length === 2 ? true : undefined), { what: 'the Russian menu', timeout: 10_000 });
    expect(s.server.commands(bot, { type: 'default' }, 'ru')).toEqual([{ command: 'help', description: 'Помощь' }, { command: 'start', description: 'Begin' }]);
    const patched = await s.t.api.patch(`${path}/help`).set(auth).send({ description: 'Ask for help' });
    expect(patched.status).toBe(200);
    await s.server.waitFor(() => (s.server.commands(bot)[0]?.description === 'Ask for help' ? true : undefined), { what: 'the changed menu text', timeout: 10_000 });

    // /start runs the main chain; the bound /help stops it (switched) and starts the help chain.
    dana.sendCommand(bot, '/start');
    expect((await dana.nextMessage({ timeout: 15_000 })).text).toBe('Your name?');
    dana.sendCommand(bot, '/help');
    expect((await dana.nextMessage({ timeout: 15_000 })).text).toBe('Help with what?');
    dana.send(bot, 'billing');
    expect((await dana.nextMessage({ timeout: 15_000 })).text).toBe('Help on billing is coming');
    const workflowId = `chat:${botId}:${dana.id}`;
    const ends = (await runEvents(s.t.h.db, workflowId)).filter((e) => e.type === 'session.end').map((e) => e.payload.outcome);
    expect(ends).toContain('switched');
    // The user saw exactly the three answers, nothing from the stopped session after the switch.
    expect(dana.messagesFrom(bot).map((m) => m.text)).toEqual(['Your name?', 'Help with what?', 'Help on billing is coming']);

    // Unbound: both menus lose /help.
    expect((await s.t.api.delete(`${path}/help`).set(auth)).status).toBe(204);
    expect((await s.t.api.get(`${path}/help`).set(auth)).status).toBe(404);
    await s.server.waitFor(() => (s.server.commands(bot).length === 1 ? true : undefined), { what: 'the menu without /help', timeout: 10_000 });
    expect(s.server.commands(bot)).toEqual([{ command: 'start', description: 'Begin' }]);
    await s.server.waitFor(() => (s.server.commands(bot, { type: 'default' }, 'ru').length === 1 ? true : undefined), { what: 'the Russian menu without /help', timeout: 10_000 });
    expect(s.server.commands(bot, { type: 'default' }, 'ru')).toEqual([{ command: 'start', description: 'Begin' }]);
  });

  it('refuses a user-set apiRoot on a private or link-local host unless HTTP_ALLOW_PRIVATE lists it', async () => {
    const bot = s.server.createBot({ username: 'ssrf_bot' });
    // The previous test's session may still be ending (a switch): its rows are not this request's.
    const before = await snapshotDatabase(s.t.h, { except: SESSION_TABLES });
    for (const apiRoot of ['http://169.254.169.254', 'http://10.1.2.3:8081']) {
      const res = await s.t.api.post('/api/v1/bots').set(bearer(s.admin.token)).send({ name: 'ssrf', kind: 'telegram_bot', token: bot.token, apiRoot });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_api_root');
      expect(res.body.message).toMatch(/^body\.apiRoot: its host .*HTTP_ALLOW_PRIVATE/);
    }
    expect(await snapshotDatabase(s.t.h, { except: SESSION_TABLES })).toEqual(before);
    // The test app allow-lists 127.0.0.1 (its Bot API test server): a second loopback server is accepted.
    const other = await TelegramTestServer.start();
    try {
      const otherBot = other.createBot({ username: 'other_bot', token: `${9_000_000_000 + Math.floor(Math.random() * 1_000_000)}:${'Q'.repeat(35)}` });
      const res = await s.t.api.post('/api/v1/bots').set(bearer(s.admin.token)).send({ name: 'other', kind: 'telegram_bot', token: otherBot.token, apiRoot: other.apiRoot });
      expect(res.status).toBe(201);
    } finally {
      await other.close();
    }
  });
});
