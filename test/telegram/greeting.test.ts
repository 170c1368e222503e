// A Bot API bot end to end through our Bot API test server: the token checked with
// getMe when it is added, the gateway's long polling picking it up without a restart,
// updates becoming sessions on chat:{botId}:{chatId}, and the replies delivered by the
// worker's deliverMessage — the greeting chain with /start and a name, a deep link with
// the user's language, and inline buttons.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greetingGraph } from '../../chain/examples.ts';
import { createLogger } from '../../lib/logger.ts';
import { BotSchema } from '../../db/bots.ts';
import type { TelegramGateways } from '../../api/telegram/gateway.ts';
import { bearer, snapshotDatabase } from '../api/support/api.ts';
import { eventually } from '../support/stack.ts';
import { runEvents } from '../support/dialogue.ts';
import { startTelegramStack, type TelegramStack } from './support.ts';

let s: TelegramStack;
let gateways: TelegramGateways;
let greeting: { chainId: string };

beforeAll(async () => {
  s = await startTelegramStack('tg-greeting', process.env.TG_DEBUG ? { logger: createLogger(process.env.TG_DEBUG, 'tg') } : {});
  gateways = await s.gateways();
  greeting = await s.publish(greetingGraph);
});

afterAll(async () => {
  await s?.close();
});

const choiceGraph = {
  slug: 'choice',
  name: 'Choice',
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'command', command: '/start' } } },
    {
      id: 'pick',
      type: 'ask',
      position: { x: 200, y: 0 },
      data: { prompt: 'Coffee or tea?', variable: 'session.choice', buttons: { kind: 'inline', rows: [[{ id: 'coffee', text: 'Coffee ☕' }, { id: 'tea', text: 'Tea' }]] } },
    },
    { id: 'said', type: 'message', position: { x: 400, y: 0 }, data: { text: 'One <b>{{ session.choice }}</b> for {{ user.first_name }}, payload "{{ message.args }}"', format: 'html' } },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'pick' },
    { id: 'e2', source: 'pick', sourcePort: 'next', target: 'said' },
  ],
};

const deepLinkGraph = {
  slug: 'deep-link',
  name: 'Deep link',
  defaultLanguage: 'en',
  languages: ['en', 'ru'],
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'command', command: '/start' } } },
    { id: 'hello', type: 'message', position: { x: 200, y: 0 }, data: { text: 'Hello! ref={{ message.args }}', variants: { ru: { text: 'Привет! ref={{ message.args }}' } } } },
  ],
  edges: [{ id: 'e1', source: 'start', target: 'hello' }],
};

describe('a Telegram bot through the gateway', () => {
  it('refuses a token the Bot API server does not know with a 400 naming body.token, storing nothing', async () => {
    const before = await snapshotDatabase(s.t.h);
    const res = await s.t.api.post('/api/v1/bots').set(bearer(s.admin.token)).send({ name: 'Unknown', kind: 'telegram_bot', token: `123456:AA${'x'.repeat(33)}`, chainId: greeting.chainId });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_token');
    expect(res.body.message).toMatch(/^body\.token: .*401/);
    expect(res.body.message).not.toContain('x'.repeat(33));
    expect(s.server.calls.filter((c) => c.method === 'getMe').at(-1)?.status).toBe(401);
    expect(await snapshotDatabase(s.t.h)).toEqual(before);
  });

  it('answers /start with the greeting and the name with the reply, without a restart', async () => {
    const bot = s.server.createBot({ username: 'greeting_bot' });
    const alice = s.server.createUser({ first_name: 'Alice', language_code: 'en' });
    const botId = await s.addBot(bot, greeting.chainId);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the new bot');
    expect(s.server.calls.some((c) => c.method === 'getMe' && c.botId === bot.id && c.status === 200)).toBe(true);
    // The chain's command triggers are the bot's command menu.
    expect(await s.server.waitFor(() => (s.server.commands(bot).length ? s.server.commands(bot) : undefined), { what: 'the commands', timeout: 10_000 })).toEqual([{ command: 'start', description: 'Say hello' }]);

    const sent = Date.now();
    alice.sendCommand(bot, '/start');
    const hello = await alice.nextMessage({ timeout: 15_000 });
    const firstLatency = Date.now() - sent;
    expect(hello.text).toBe("Hi! I'm the greeting bot. What's your name?");

    const latencies: number[] = [];
    const t0 = Date.now();
    alice.send(bot, 'Ann');
    expect((await alice.nextMessage({ timeout: 15_000 })).text).toBe('Nice to meet you, Ann! I’ll call you that instead of Alice.');
    latencies.push(Date.now() - t0);
    // The session ended (outcome greeted); /start again welcomes back (user.name persisted), each a new session.
    for (let i = 0; i < 3; i++) {
      const t1 = Date.now();
      alice.sendCommand(bot, '/start');
      expect((await alice.nextMessage({ timeout: 15_000 })).text).toBe('Welcome back, Ann!');
      latencies.push(Date.now() - t1);
    }
    // The /start sent right after a goodbye reaches the ending session and starts the next
    // one by continue-as-new, whose first task Temporal holds back about 1 s.
    console.info(`telegram reply latency through the gateway: first /start ${firstLatency} ms (new session), name ${latencies[0]} ms, /start right after the end ${latencies.slice(1).join(', ')} ms`);

    const workflowId = `chat:${botId}:${alice.id}`;
    const result = await s.t.h.client.workflow.getHandle(workflowId).result();
    expect(result.outcome).toBe('greeted');
    const row = await s.t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: botId });
    expect(row.status).toBe('running');
    const view = await s.t.api.get(`/api/v1/bots/${botId}`).set(bearer(s.admin.token));
    expect(view.body).toMatchObject({ mode: 'polling', apiRoot: s.server.apiRoot, status: 'running', lastError: null });
    // Each reply was sent once: the transcript has one bot message per answer.
    expect(s.server.transcript(bot, alice.chat).map((e) => e.from)).toEqual(['user', 'bot', 'user', 'bot', 'user', 'bot', 'user', 'bot', 'user', 'bot']);
  });

  it('takes a deep-link payload and the user’s language to the chain', async () => {
    const chain = await s.publish(deepLinkGraph);
    const bot = s.server.createBot({ username: 'deep_bot' });
    const boris = s.server.createUser({ first_name: 'Борис', language_code: 'ru' });
    const botId = await s.addBot(bot, chain.chainId);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the bot');
    boris.sendCommand(bot, '/start campaign-42');
    expect((await boris.nextMessage({ timeout: 15_000 })).text).toBe('Привет! ref=campaign-42');
  });

  it('turns an inline button press into the button id, answers the callback query, and sends HTML', async () => {
    const chain = await s.publish(choiceGraph);
    const bot = s.server.createBot({ username: 'choice_bot' });
    const carol = s.server.createUser({ first_name: 'Carol' });
    const botId = await s.addBot(bot, chain.chainId);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the bot');
    carol.sendCommand(bot, '/start');
    const question = await carol.nextMessage({ timeout: 15_000 });
    expect(question.text).toBe('Coffee or tea?');
    expect(question.reply_markup?.inline_keyboard[0]?.map((b) => [b.text, b.callback_data])).toEqual([['Coffee ☕', 'coffee'], ['Tea', 'tea']]);
    const press = carol.press(question, 'Tea');
    expect(await press.answered({ timeout: 15_000 })).toMatchObject({ show_alert: false });
    const answer = await carol.nextMessage({ timeout: 15_000 });
    // Inserted values are HTML-escaped by the message step? The user's name is sent as given; Telegram parsed the <b>.
    expect(answer.text).toContain('One tea for Carol');
    expect(answer.entities?.some((e) => e.type === 'bold')).toBe(true);
    const pressed = await eventually(async () => (await runEvents(s.t.h.db, `chat:${botId}:${carol.id}`)).find((e) => e.type === 'message.in' && e.payload.kind === 'button'), 'the press in the run events');
    expect(pressed.payload).toMatchObject({ buttonId: 'tea', value: 'tea' });
  });

  it('shows a reply keyboard, removes it with the next reply, and takes a photo in and sends it back by file id', async () => {
    const chain = await s.publish({
      slug: 'sizes',
      name: 'Sizes',
      nodes: [
        { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'command', command: '/size' } } },
        { id: 'photo_in', type: 'start', position: { x: 0, y: 100 }, data: { trigger: { kind: 'any' } } },
        { id: 'pick', type: 'ask', position: { x: 200, y: 0 }, data: { prompt: 'Which size?', variable: 'session.size', buttons: { kind: 'reply', rows: [[{ id: 's', text: 'S' }, { id: 'm', text: 'M' }]] } } },
        { id: 'got', type: 'message', position: { x: 400, y: 0 }, data: { text: 'Size {{ session.size }}' } },
        { id: 'seen', type: 'message', position: { x: 200, y: 100 }, data: { text: 'A {{ message.media.kind }}: {{ message.media.file_id }} ({{ message.text }})', media: [{ kind: 'photo', url: '{{ message.media.file_id }}', caption: 'Right back at you' }] } },
      ],
      edges: [
        { id: 'e1', source: 'start', target: 'pick' },
        { id: 'e2', source: 'pick', sourcePort: 'next', target: 'got' },
        { id: 'e3', source: 'photo_in', target: 'seen' },
      ],
    });
    const bot = s.server.createBot({ username: 'sizes_bot' });
    const mia = s.server.createUser({ first_name: 'Mia' });
    const botId = await s.addBot(bot, chain.chainId);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the bot');
    mia.sendCommand(bot, '/size');
    expect((await mia.nextMessage({ timeout: 15_000 })).text).toBe('Which size?');
    mia.send(bot, 'M');
    expect((await mia.nextMessage({ timeout: 15_000 })).text).toBe('Size M');
    const markups = s.server.transcript(bot, mia.chat).filter((e) => e.from === 'bot').map((e) => e.markup);
    expect(markups).toEqual([{ keyboard: [[{ text: 'S' }, { text: 'M' }]], resize_keyboard: true }, { remove_keyboard: true }]);

    await s.t.h.client.workflow.getHandle(`chat:${botId}:${mia.id}`).result();
    const sent = mia.sendPhoto(bot, { caption: 'my cat' });
    const fileId = sent.photo?.at(-1)?.file_id;
    expect(fileId).toBeTruthy();
    expect((await mia.nextMessage({ timeout: 15_000 })).text).toBe(`A photo: ${fileId} (my cat)`);
    // The media goes out by file id, after the text.
    const back = await mia.nextMessage({ timeout: 15_000 });
    expect(back.caption).toBe('Right back at you');
    expect(back.photo?.at(-1)?.file_id).toBe(fileId);
  });

  it('shows “typing” while a node’s activity runs, and a failing sendChatAction changes nothing', async () => {
    const chain = await s.publish({
      slug: 'typing',
      name: 'Typing',
      nodes: [
        { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'any' } } },
        { id: 'count', type: 'code', position: { x: 200, y: 0 }, data: { source: 'function main(message) {\n  return { length: message.text.length };\n}\n', variable: 'session.result' } },
        { id: 'said', type: 'message', position: { x: 400, y: 0 }, data: { text: 'Your message has {{ session.result.length }} characters' } },
      ],
      edges: [
        { id: 'e1', source: 'start', target: 'count' },
        { id: 'e2', source: 'count', sourcePort: 'ok', target: 'said' },
      ],
    });
    const bot = s.server.createBot({ username: 'typing_bot' });
    const botId = await s.addBot(bot, chain.chainId);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the typing bot');
    const ivy = s.server.createUser({ first_name: 'Ivy' });
    ivy.send(bot, 'hello');
    expect((await ivy.nextMessage({ timeout: 15_000 })).text).toBe('Your message has 5 characters');
    expect(s.server.chatActions(bot, ivy.chat)).toEqual(['typing']);
    const calls = s.server.calls.filter((c) => c.botId === bot.id && (c.method === 'sendChatAction' || c.method === 'sendMessage')).map((c) => c.method);
    expect(calls).toEqual(['sendChatAction', 'sendMessage']);

    // A Bot API server that refuses the action: the reply comes all the same, once.
    const refused = s.server.inject({ fault: { type: 'server_error', status: 500 }, method: 'sendChatAction', token: bot.token, times: 1 });
    ivy.send(bot, 'hi again');
    expect((await ivy.nextMessage({ timeout: 15_000 })).text).toBe('Your message has 8 characters');
    expect(refused.hits).toBe(1);
    expect(ivy.messagesFrom(bot)).toHaveLength(2);
  });

  it('shows an answering chain without a published version as the bot’s error', async () => {
    const draft = await s.t.api.post('/api/v1/chains').set(bearer(s.admin.token)).send({ graph: { ...deepLinkGraph, slug: 'draft-only' } });
    expect(draft.status).toBe(201);
    expect(draft.body.activeVersionId ?? null).toBeNull();
    const bot = s.server.createBot({ username: 'draft_bot' });
    const nora = s.server.createUser({ first_name: 'Nora' });
    const botId = await s.addBot(bot, draft.body.id);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the bot');
    nora.sendCommand(bot, '/start');
    const row = await eventually(async () => {
      const b = await s.t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: botId });
      return b.status === 'error' ? b : undefined;
    }, 'status error');
    expect(row.lastError).toMatch(/no published version/);
    expect(s.server.transcript(bot, nora.chat).filter((e) => e.from === 'bot')).toEqual([]);
  });
});
