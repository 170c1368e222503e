import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Express } from 'express';
import { createApp } from '../../api/app.ts';
import { issueSetupToken } from '../../api/auth/setup.ts';
import { importChain, parseChainFile } from '../../api/services/chain-service.ts';
import { createLogger } from '../../lib/logger.ts';
import { seedExamples } from '../../cli/seed.ts';
import { ChainSchema } from '../../db/entities.ts';
import { runEvents, startDialogueHarness, type DialogueHarness } from '../support/dialogue.ts';
import { createTestDatabase } from '../support/stack.ts';

let h: DialogueHarness;
let app: Express;

beforeAll(async () => {
  h = await startDialogueHarness('greeting');
  app = createApp({ orm: h.db.orm, temporal: h.client, logger: createLogger('silent', 'test'), taskQueue: h.taskQueue });
});
afterAll(async () => h?.close());

/** Visitor tokens by visitor id: issued with a visitor's first message, sent with every later one. */
const visitorTokens = new Map<string, string>();
const say = async (visitor: string, body: Record<string, unknown>) => {
  const token = visitorTokens.get(visitor);
  const res = await request(app).post(`/api/v1/chat/greeting/${visitor}/messages`).set(token ? { 'X-Visitor-Token': token } : {}).send(body);
  if (typeof res.body?.visitorToken === 'string') visitorTokens.set(visitor, res.body.visitorToken);
  return res;
};

describe('the greeting demo over the web-chat endpoint', () => {
  it('is seeded into an empty installation with web chat enabled, and only once', async () => {
    expect(await seedExamples(h.db.orm)).toEqual(['greeting']);
    expect(await seedExamples(h.db.orm)).toEqual([]);
    const chain = await h.db.orm.em.fork().findOneOrFail(ChainSchema, { slug: 'greeting' });
    expect(chain.webChatEnabled).toBe(true);
    expect(chain.activeVersionId).toBeTruthy();
  });

  it('asks the name, re-asks an invalid one, greets by name, and remembers it in the next session', async () => {
    const first = await say('ann-1', { id: 'g1', text: 'hi' });
    expect(first.status).toBe(200);
    expect(first.body.replies.map((r: { text: string }) => r.text)).toEqual(["Hi! I'm the greeting bot. What's your name?"]);
    expect(first.body.waitingAt).toBe('ask_name');
    expect(first.body.runId).toMatch(/^web:[0-9a-f-]{36}:ann-1$/);

    const invalid = await say('ann-1', { id: 'g2', text: '12345' });
    expect(invalid.body.replies.map((r: { text: string }) => r.text)).toEqual(['Please send just your name — letters only, up to 40 characters.']);

    const named = await say('ann-1', { id: 'g3', text: 'Ann' });
    expect(named.body.replies.map((r: { text: string }) => r.text)).toEqual([
      'Nice to meet you, Ann! I’ll call you that instead of your Telegram name.',
    ]);
    expect(named.body.ended).toBe(true);

    // A new session of the same visitor: the name is remembered (user scope, PostgreSQL).
    const again = await say('ann-1', { id: 'g4', text: 'hello again' });
    expect(again.body.replies.map((r: { text: string }) => r.text)).toEqual(['Welcome back, Ann!']);
  });

  it('answers in Russian when the visitor speaks Russian', async () => {
    const res = await say('ivan-1', { id: 'r1', text: 'привет', language: 'ru' });
    expect(res.body.replies.map((r: { text: string }) => r.text)).toEqual(['Привет! Я бот-приветствие. Как тебя зовут?']);
  });

  it('processes a repeated message id once', async () => {
    const a = await say('dup-1', { id: 'same', text: 'hi' });
    const b = await say('dup-1', { id: 'same', text: 'hi' });
    expect(a.body.replies).toHaveLength(1);
    expect(b.body.duplicate).toBe(true);
    expect(b.body.replies).toEqual([]);
    const events = await runEvents(h.db, a.body.runId);
    expect(events.filter((e) => e.type === 'message.in')).toHaveLength(1);
  });

  it('keeps the transcript readable through GET, with the replies in order', async () => {
    await say('reader-1', { id: 't1', text: 'hi' });
    const res = await request(app).get('/api/v1/chat/greeting/reader-1/messages').set('X-Visitor-Token', visitorTokens.get('reader-1') ?? '');
    expect(res.status).toBe(200);
    expect(res.body.items.map((i: { direction: string }) => i.direction)).toEqual(['in', 'out']);
    expect(res.body.items[1].message.text).toBe("Hi! I'm the greeting bot. What's your name?");
  });

  it('rejects bad input with a 400 naming the field, and unknown chains with 404', async () => {
    const badVisitor = await request(app).post('/api/v1/chat/greeting/bad%20visitor/messages').send({ text: 'hi' });
    expect(badVisitor.status).toBe(400);
    expect(badVisitor.body.error).toBe('validation_failed');
    expect(badVisitor.body.message).toMatch(/^params\.visitorId: /);

    const noText = await say('v-2', {});
    expect(noText.status).toBe(400);
    expect(noText.body.message).toMatch(/^body\.text: Send text or a buttonId/);

    const unknownField = await say('v-2', { text: 'hi', colour: 'red' });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.details[0].field).toBe('body');

    const malformed = await request(app).post('/api/v1/chat/greeting/v-2/messages').set('content-type', 'application/json').send('{"text":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('malformed_json');

    const missing = await request(app).post('/api/v1/chat/no-such-chain/v-2/messages').send({ text: 'hi' });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('No chain with id or slug "no-such-chain".');
  });

  it('refuses web chat for a chain that has not enabled it', async () => {
    const graph = parseChainFile(readFileSync(new URL('../../examples/greeting.yaml', import.meta.url), 'utf8'));
    await importChain(h.db.orm.em.fork(), { ...graph, slug: 'private-greeting', webChat: { enabled: false } });
    const res = await request(app).post('/api/v1/chat/private-greeting/v-3/messages').send({ text: 'hi' });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('web_chat_disabled');
  });
});

describe('seeding after an admin exists', () => {
  it('gives the example chains to the first admin', async () => {
    const db = await createTestDatabase();
    try {
      const seededApp = createApp({ orm: db.orm, temporal: h.client, logger: createLogger('silent', 'test'), taskQueue: h.taskQueue });
      const admin = await request(seededApp).post('/api/v1/auth/register').send({ email: 'first@example.com', password: 'correct horse battery 1', name: 'First', setupToken: await issueSetupToken(db.orm.em) });
      expect(admin.status).toBe(201);
      expect(await seedExamples(db.orm)).toEqual(['greeting']);
      const chain = await db.orm.em.fork().findOneOrFail(ChainSchema, { slug: 'greeting' });
      expect(chain.ownerId).toBe(admin.body.user.id);
    } finally {
      await db.drop();
    }
  });
});
