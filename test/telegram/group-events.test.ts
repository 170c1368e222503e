// Telegram group events end to end: `telegram_event` starts on the real stack (our Bot API
// test server, the API's gateway polling it, the worker). The bot added to a group says
// hello there; members joining and leaving are greeted and seen off by name. The service
// messages Telegram sends alongside (`new_chat_members`, `left_chat_member`) start nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.ts';
import type { TelegramGateways } from '../../api/telegram/gateway.ts';
import { eventually } from '../support/stack.ts';
import { startTelegramStack, type TelegramStack } from './support.ts';

let s: TelegramStack;
let gateways: TelegramGateways;

beforeAll(async () => {
  s = await startTelegramStack('tg-events', process.env.TG_DEBUG ? { logger: createLogger(process.env.TG_DEBUG, 'tg') } : {});
  gateways = await s.gateways();
});

afterAll(async () => {
  await s?.close();
});

const start = (id: string, trigger: Record<string, unknown>, y: number) => ({ id, type: 'start', position: { x: 0, y }, data: { trigger } });
const say = (id: string, text: string, y: number) => ({ id, type: 'message', position: { x: 200, y }, data: { text } });

const doormanGraph = {
  slug: 'doorman',
  name: 'Doorman',
  nodes: [
    start('added', { kind: 'telegram_event', events: ['bot_added'] }, 0),
    say('hello', 'Hello, {{ chat.title }}! I greet everyone who joins (added by {{ user.first_name }}).', 0),
    start('joined', { kind: 'telegram_event', events: ['member_joined'] }, 100),
    say('welcome', 'Welcome, {{ message.member.first_name }} (@{{ message.member.username }}, {{ message.member.id }})! Event {{ message.event }} in {{ chat.id }}.', 100),
    start('left', { kind: 'telegram_event', events: ['member_left'] }, 200),
    say('bye', 'Goodbye, {{ message.member.first_name }}!', 200),
    start('cmd', { kind: 'command', command: '/ping' }, 300),
    say('pong', 'pong', 300),
  ],
  edges: [
    { id: 'e1', source: 'added', target: 'hello' },
    { id: 'e2', source: 'joined', target: 'welcome' },
    { id: 'e3', source: 'left', target: 'bye' },
    { id: 'e4', source: 'cmd', target: 'pong' },
  ],
};

describe('telegram_event starts', () => {
  it('says hello when added to a group, greets members who join by name and says goodbye when they leave', async () => {
    const chain = await s.publish(doormanGraph);
    const bot = s.server.createBot({ username: 'doorman_bot' });
    const owner = s.server.createUser({ first_name: 'Olga', username: 'olga' });
    const botId = await s.addBot(bot, chain.chainId);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the new bot');
    // Member events come only as chat_member updates, which Telegram sends when asked for.
    await s.server.waitFor(() => s.server.calls.some((c) => c.method === 'getUpdates' && c.botId === bot.id && c.status === 200), { what: 'the first poll', timeout: 15_000 });
    const group = s.server.createGroup({ title: 'Chess club', type: 'supergroup', members: [owner] });

    group.addBot(bot, { by: owner, admin: true });
    const hello = await group.nextMessage({ bot, timeout: 20_000 });
    expect(hello.text).toBe('Hello, Chess club! I greet everyone who joins (added by Olga).');
    expect(hello.chat.id).toBe(group.id);

    const bob = s.server.createUser({ first_name: 'Bob', username: 'bobby' });
    group.join(bob);
    const welcome = await group.nextMessage({ bot, timeout: 20_000 });
    expect(welcome.text).toBe(`Welcome, Bob (@bobby, ${bob.id})! Event member_joined in ${group.id}.`);

    group.leave(bob);
    const bye = await group.nextMessage({ bot, timeout: 20_000 });
    expect(bye.text).toBe('Goodbye, Bob!');

    // The chat still answers messages (the events left no session in the way), and the
    // service messages that came with the events produced nothing: one message per event.
    owner.sendInGroup(group, '/ping');
    const pong = await group.nextMessage({ bot, timeout: 20_000 });
    expect(pong.text).toBe('pong');
    const said = s.server.transcript(bot, group.chat).filter((e) => e.from === 'bot').map((e) => e.message.text);
    expect(said).toEqual([hello.text, welcome.text, bye.text, 'pong']);
    // The poller asked for chat_member explicitly (without it Telegram sends no member events).
    const poll = s.server.calls.filter((c) => c.method === 'getUpdates' && c.botId === bot.id).at(-1);
    expect(JSON.stringify(poll?.params.allowed_updates)).toContain('"chat_member"');
  });

  it('restarts a session waiting at an ask on an event with a start, and leaves it alone on one without', async () => {
    const chain = await s.publish({
      slug: 'quiz',
      name: 'Quiz',
      nodes: [
        start('cmd', { kind: 'command', command: '/quiz' }, 0),
        { id: 'name', type: 'ask', position: { x: 200, y: 0 }, data: { prompt: 'Your name?', variable: 'session.name' } },
        say('thanks', 'Thanks, {{ session.name }}!', 0),
        start('joined', { kind: 'telegram_event', events: ['member_joined'] }, 100),
        say('welcome', 'Welcome, {{ message.member.first_name }}!', 100),
      ],
      edges: [
        { id: 'e1', source: 'cmd', target: 'name' },
        { id: 'e2', source: 'name', sourcePort: 'next', target: 'thanks' },
        { id: 'e3', source: 'joined', target: 'welcome' },
      ],
    });
    const bot = s.server.createBot({ username: 'quiz_bot' });
    const owner = s.server.createUser({ first_name: 'Olga' });
    const bob = s.server.createUser({ first_name: 'Bob' });
    const botId = await s.addBot(bot, chain.chainId);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the new bot');
    const group = s.server.createGroup({ title: 'Quiz night', type: 'supergroup', members: [owner, bob] });
    // bot_added has no start here: nothing is said.
    group.addBot(bot, { by: owner, admin: true });

    owner.sendInGroup(group, '/quiz');
    expect((await group.nextMessage({ bot, timeout: 20_000 })).text).toBe('Your name?');
    // member_left has no start: the ask still waits and takes the next text as its reply.
    group.leave(bob);
    owner.sendInGroup(group, 'Olga');
    expect((await group.nextMessage({ bot, timeout: 20_000 })).text).toBe('Thanks, Olga!');

    owner.sendInGroup(group, '/quiz');
    expect((await group.nextMessage({ bot, timeout: 20_000 })).text).toBe('Your name?');
    // member_joined has a start: the waiting dialogue restarts there (an event is never a reply).
    group.join(bob);
    expect((await group.nextMessage({ bot, timeout: 20_000 })).text).toBe('Welcome, Bob!');
    const said = s.server.transcript(bot, group.chat).filter((e) => e.from === 'bot').map((e) => e.message.text);
    expect(said).toEqual(['Your name?', 'Thanks, Olga!', 'Your name?', 'Welcome, Bob!']);
  });
});
