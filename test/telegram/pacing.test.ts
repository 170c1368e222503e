// Outgoing sends are paced within Telegram's limits, through the real gateway, worker and
// Temporal against a Bot API test server that answers 429 above Telegram's documented
// rates: five replies of one step arrive in order, once each, a second or more apart, with
// no 429, the waits being Temporal retries of the delivery (no sleep in the activity);
// chats and bots do not hold each other up; and the per-bot pace is shared by separate
// delivery instances (as by separate worker processes), counted in PostgreSQL.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { createTelegramDelivery, TELEGRAM_FAILURES } from '../../activities/telegram.ts';
import type { TelegramGateways } from '../../api/telegram/gateway.ts';
import { createLogger } from '../../lib/logger.ts';
import { hitRateLimit, refundRateLimit } from '../../db/rate-limits.ts';
import { telegramOwners } from '../../db/telegram.ts';
import { eventually } from '../support/stack.ts';
import type { TestBot, TestUser } from '../support/telegram/index.ts';
import { startTelegramStack, type TelegramStack } from './support.ts';

let s: TelegramStack;
let gateways: TelegramGateways;

beforeAll(async () => {
  s = await startTelegramStack('tg-pacing', { server: { sendLimits: 'telegram' } });
  gateways = await s.gateways();
});

afterAll(async () => {
  await s?.close();
});

/** A chain that answers any message with `count` replies in one step. */
const burstGraph = (slug: string, count: number) => ({
  slug,
  name: slug,
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'any' } } },
    ...Array.from({ length: count }, (_, i) => ({ id: `m${i + 1}`, type: 'message', position: { x: 200 * (i + 1), y: 0 }, data: { text: `reply ${i + 1}` } })),
  ],
  edges: Array.from({ length: count }, (_, i) => ({ id: `e${i}`, source: i === 0 ? 'start' : `m${i}`, ...(i === 0 ? {} : { sourcePort: 'next' }), target: `m${i + 1}` })),
});

async function burstBot(username: string, count: number): Promise<{ bot: TestBot; botId: string }> {
  const chain = await s.publish(burstGraph(username.replace(/_/g, '-'), count));
  const bot = s.server.createBot({ username });
  const botId = await s.addBot(bot, chain.chainId);
  await eventually(async () => (gateways.held().includes(botId) ? true : undefined), `the gateway of ${username}`);
  return { bot, botId };
}

/** When each of the bot's messages reached the chat (server clock, as they arrive). */
function arrivals(bot: TestBot, user: TestUser): { times: number[]; stop(): void } {
  const times: number[] = [];
  const listener = () => {
    const n = s.server.transcript(bot, user.chat).filter((e) => e.from === 'bot').length;
    while (times.length < n) times.push(Date.now());
  };
  s.server.events.on('change', listener);
  return { times, stop: () => s.server.events.off('change', listener) };
}

const sends = (bot: TestBot) => s.server.calls.filter((c) => c.botId === bot.id && c.method === 'sendMessage');
const botTexts = (bot: TestBot, user: TestUser) => s.server.transcript(bot, user.chat).filter((e) => e.from === 'bot').map((e) => e.message.text);
const expected = (count: number) => Array.from({ length: count }, (_, i) => `reply ${i + 1}`);

async function lastAttempt(workflowId: string): Promise<number> {
  const handle = s.t.h.client.workflow.getHandle(workflowId);
  await handle.result();
  const history = await handle.fetchHistory();
  const started = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : []));
  return Math.max(...started);
}

describe('Telegram send pacing', () => {
  it('five replies of one step reach the chat in order, once each, a second apart, with no 429', async () => {
    const { bot, botId } = await burstBot('paced_bot', 5);
    const ann = s.server.createUser({ first_name: 'Ann' });
    const seen = arrivals(bot, ann);
    ann.send(bot, 'hi');
    await s.server.waitFor(() => botTexts(bot, ann).length >= 5 || undefined, { what: 'five replies', timeout: 30_000 });
    seen.stop();
    expect(botTexts(bot, ann)).toEqual(expected(5));
    expect(sends(bot).map((c) => c.status)).toEqual([200, 200, 200, 200, 200]);
    expect(seen.times).toHaveLength(5);
    for (let i = 1; i < 5; i++) expect(seen.times[i]! - seen.times[i - 1]!).toBeGreaterThanOrEqual(950);
    // Each wait was a Temporal retry of the one delivery (attempts 2…5), not a sleep in it.
    expect(await lastAttempt(`chat:${botId}:${ann.id}`)).toBeGreaterThanOrEqual(5);
    // Nothing more arrives after the session ended: no part was sent twice.
    expect(botTexts(bot, ann)).toEqual(expected(5));
  });

  it('two chats of one bot and a chat of another bot are paced side by side, not one after another', async () => {
    const a = await burstBot('side_a_bot', 4);
    const b = await burstBot('side_b_bot', 4);
    const ben = s.server.createUser({ first_name: 'Ben' });
    const cat = s.server.createUser({ first_name: 'Cat' });
    const dan = s.server.createUser({ first_name: 'Dan' });
    const chats: [TestBot, TestUser][] = [[a.bot, ben], [a.bot, cat], [b.bot, dan]];
    const t0 = Date.now();
    for (const [bot, user] of chats) user.send(bot, 'hi');
    await s.server.waitFor(() => chats.every(([bot, user]) => botTexts(bot, user).length >= 4) || undefined, { what: 'four replies in each chat', timeout: 40_000 });
    const elapsed = Date.now() - t0;
    for (const [bot, user] of chats) expect(botTexts(bot, user)).toEqual(expected(4));
    expect([...sends(a.bot), ...sends(b.bot)].every((c) => c.status === 200)).toBe(true);
    expect(sends(a.bot)).toHaveLength(8);
    expect(sends(b.bot)).toHaveLength(4);
    // Interleaved: every chat's first reply came before any chat's last one.
    const seqs = chats.map(([bot, user]) => s.server.transcript(bot, user.chat).filter((e) => e.from === 'bot').map((e) => e.seq));
    const lastFirst = Math.max(...seqs.map((q) => q[0]!));
    const firstLast = Math.min(...seqs.map((q) => q[q.length - 1]!));
    expect(lastFirst).toBeLessThan(firstLast);
    console.info(`telegram pacing: 3 chats × 4 replies (each chat ≥ 3.6 s on its own) delivered in ${elapsed} ms`);
  });

  it('separate delivery instances share the per-bot pace through PostgreSQL', async () => {
    const { bot, botId } = await burstBot('shared_pace_bot', 1);
    const users = Array.from({ length: 40 }, (_, i) => s.server.createUser({ first_name: `P${i}` }));
    for (const u of users) u.send(bot, 'hi');
    await s.server.waitFor(() => users.every((u) => botTexts(bot, u).length >= 1) || undefined, { what: 'the first reply in each chat', timeout: 40_000 });
    // Two "worker processes": each its own delivery function, the same database. The loop
    // stands in for Temporal's retry: after a paced failure, call again once its delay passed.
    const workers = [0, 1].map(() => createTelegramDelivery({ orm: s.t.h.db.orm, logger: createLogger('silent', 'pacing-test'), secretBox: s.t.h.secretBox }));
    const paced: string[] = [];
    await Promise.all(
      users.map(async (u, i) => {
        const deliver = workers[i % 2]!;
        for (;;) {
          try {
            await deliver({ botId, chatKey: telegramOwners(botId, String(u.id), String(u.id)).chat, messages: [{ id: `direct-${i}`, nodeId: 'n', text: `direct ${i}`, format: 'plain' }] });
            return;
          } catch (err) {
            if (!(err instanceof ApplicationFailure) || err.type !== TELEGRAM_FAILURES.paced) throw err;
            paced.push(err.message);
            const delay = Number(err.nextRetryDelay);
            expect(delay).toBeGreaterThan(0);
            expect(delay).toBeLessThanOrEqual(1500);
            await new Promise((resolve) => setTimeout(resolve, delay));
          }
        }
      }),
    );
    for (const [i, u] of users.entries()) expect(botTexts(bot, u)).toEqual(['reply 1', `direct ${i}`]);
    expect(sends(bot).every((c) => c.status === 200)).toBe(true);
    expect(sends(bot)).toHaveLength(80);
    expect(paced.some((m) => m.includes('this bot'))).toBe(true);
  });

  it('a refunded count frees its slot at once, and only its own', async () => {
    const em = s.t.h.db.orm.em.fork();
    const rule = { limit: 1, windowSeconds: 60 };
    expect((await hitRateLimit(em, 'test:refund', rule)).allowed).toBe(true);
    const refused = await hitRateLimit(em, 'test:refund', rule);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(55_000);
    await refundRateLimit(em, 'test:refund', rule);
    expect((await hitRateLimit(em, 'test:refund', rule)).allowed).toBe(true);
    expect((await hitRateLimit(em, 'test:refund', rule)).allowed).toBe(false);
    // Two counts on a burst of two, one refunded: one slot is free, not two.
    const pair = { limit: 2, windowSeconds: 60 };
    for (let i = 0; i < 2; i++) expect((await hitRateLimit(em, 'test:refund-pair', pair)).allowed).toBe(true);
    await refundRateLimit(em, 'test:refund-pair', pair);
    expect((await hitRateLimit(em, 'test:refund-pair', pair)).allowed).toBe(true);
    expect((await hitRateLimit(em, 'test:refund-pair', pair)).allowed).toBe(false);
  });
});
