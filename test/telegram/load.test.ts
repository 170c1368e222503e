// Many chats at once through the real gateway, worker and Temporal: 50 test users each
// send a burst of messages without waiting, and every chat gets exactly one echo per
// message, in the order sent. Prints the reply latency at light load (one chat, one
// message at a time) and the messages per second for the 50 chats.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelegramGateways } from '../../api/telegram/gateway.ts';
import { eventually } from '../support/stack.ts';
import type { TestBot, TestUser } from '../support/telegram/index.ts';
import { startTelegramStack, type TelegramStack } from './support.ts';

let s: TelegramStack;
let gateways: TelegramGateways;
let bot: TestBot;

// Every message is echoed by the ask node's prompt, which then waits for the next one.
const echoGraph = {
  slug: 'echo-loop',
  name: 'Echo loop',
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'any' } } },
    { id: 'echo', type: 'ask', position: { x: 200, y: 0 }, data: { prompt: 'echo {{ message.text }}', variable: 'session.last' } },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'echo' },
    { id: 'e2', source: 'echo', sourcePort: 'next', target: 'echo' },
  ],
};

beforeAll(async () => {
  s = await startTelegramStack('tg-load');
  gateways = await s.gateways();
  const chain = await s.publish(echoGraph);
  bot = s.server.createBot({ username: 'echo_bot' });
  const botId = await s.addBot(bot, chain.chainId);
  await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the echo bot');
});

afterAll(async () => {
  await s?.close();
});

const echoes = (user: TestUser) => user.messagesFrom(bot).map((m) => m.text);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

describe('Telegram under load', () => {
  it('answers one chat at light load', async () => {
    const solo = s.server.createUser({ first_name: 'Solo' });
    const latencies: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = Date.now();
      solo.send(bot, `solo ${i}`);
      expect((await solo.nextMessage({ bot, timeout: 15_000 })).text).toBe(`echo solo ${i}`);
      latencies.push(Date.now() - t0);
    }
    // The first message starts the session; the others reach a waiting one.
    console.info(`telegram light load: first message (new session) ${latencies[0]} ms, then ${latencies.slice(1).join(', ')} ms (median ${median(latencies.slice(1))} ms)`);
  });

  it('keeps 50 chats at once each in order, one echo per message', async () => {
    const chats = 50;
    const perChat = 4;
    const users = Array.from({ length: chats }, (_, i) => s.server.createUser({ first_name: `User${i}` }));
    const t0 = Date.now();
    for (let k = 0; k < perChat; k++) for (const [i, u] of users.entries()) u.send(bot, `u${i} m${k}`);
    const total = chats * perChat;
    const answered = () => users.reduce((n, u) => n + u.messagesFrom(bot).length, 0);
    await s.server.waitFor(() => answered() >= total || undefined, { what: `${total} echoes`, timeout: 60_000 });
    const seconds = (Date.now() - t0) / 1000;
    console.info(`telegram 50 chats: ${total} messages (${perChat} per chat, sent at once) answered in ${seconds.toFixed(1)} s = ${(total / seconds).toFixed(1)} messages/s`);
    for (const [i, u] of users.entries()) {
      expect(echoes(u)).toEqual(Array.from({ length: perChat }, (_, k) => `echo u${i} m${k}`));
    }
    // Nothing more arrives: one sendMessage per message.
    expect(s.server.calls.filter((c) => c.botId === bot.id && c.method === 'sendMessage' && c.status === 200).length).toBe(total + 6);
  });
});
