// Bots through the API: Telegram bots (token) and user accounts (session string) with
// their answering chain, per-bot sharing, deletion with running sessions — and tokens and
// session strings that never come back out.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Response } from 'supertest';
import { BotSchema, botSecretContext } from '../../db/bots.ts';
import { RunSchema } from '../../db/entities.ts';
import { eventually } from '../support/stack.ts';
import { bearer, captureLogs, createAccount, registerAdmin, simpleGraph, startApi, type Account, type ApiHarness, type LogCapture } from './support/api.ts';
import { apiGraph, botToken, historyText } from './support/fixtures.ts';

let t: ApiHarness;
let logs: LogCapture;
let admin: Account;
let owner: Account;
let friend: Account;
let stranger: Account;
let chain: { id: string; slug: string };
const token = botToken();
const sessionString = `1BVtsOK${'Qm9vbXNoYWthbGFrYQ'.repeat(12)}xyzSESSION`;
const texts: string[] = [];

async function rec(test: PromiseLike<Response>): Promise<Response> {
  const res = await test;
  texts.push(res.text ?? '');
  return res;
}

beforeAll(async () => {
  logs = captureLogs();
  t = await startApi('bots', { logger: logs.logger });
  admin = await registerAdmin(t.api);
  owner = await createAccount(t.api, admin, 'editor', 'owner');
  friend = await createAccount(t.api, admin, 'viewer', 'friend');
  stranger = await createAccount(t.api, admin, 'editor', 'stranger');
  const created = await t.api.post('/api/v1/chains').set(bearer(owner.token)).send({ graph: apiGraph('bot-answers') });
  await t.api.post(`/api/v1/chains/${created.body.id}/publish`).set(bearer(owner.token)).send({});
  chain = { id: created.body.id, slug: created.body.slug };
});
afterAll(async () => t?.close());

describe('bots', () => {
  let botId: string;
  let userId: string;

  it('register a Telegram bot by token: stored encrypted, shown with its public id only', async () => {
    const res = await rec(t.api.post('/api/v1/bots').set(bearer(owner.token)).send({ name: 'Support bot', kind: 'telegram_bot', token, chainId: chain.slug }));
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ name: 'Support bot', kind: 'telegram_bot', telegramId: token.split(':')[0], hasSecret: true, chainId: chain.id, enabled: true, ownerId: owner.id, role: 'owner' });
    expect(Object.keys(res.body).sort()).toEqual(['apiRoot', 'chainId', 'createdAt', 'enabled', 'groups', 'hasSecret', 'id', 'kind', 'lastError', 'mode', 'name', 'ownerId', 'role', 'status', 'telegramId', 'updatedAt']);
    expect(res.body).toMatchObject({ mode: 'polling', apiRoot: 'https://api.telegram.org', status: 'stopped', lastError: null, groups: [] });
    botId = res.body.id;
    const row = await t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: botId });
    expect(row.encryptedSecret).not.toContain(token.split(':')[1]);
    expect(t.h.secretBox.decrypt(row.encryptedSecret, botSecretContext(botId))).toBe(token);
  });

  it('register a Telegram user account by session string, shown without any part of it', async () => {
    const res = await rec(t.api.post('/api/v1/bots').set(bearer(owner.token)).send({ name: 'Sales account', kind: 'telegram_user', sessionString, enabled: false }));
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ kind: 'telegram_user', telegramId: null, hasSecret: true, chainId: null, enabled: false });
    userId = res.body.id;
    const row = await t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: userId });
    expect(t.h.secretBox.decrypt(row.encryptedSecret, botSecretContext(userId))).toBe(sessionString);
  });

  it('are listed and filtered for those who may open them', async () => {
    const mine = await rec(t.api.get('/api/v1/bots').set(bearer(owner.token)));
    expect(mine.body.items.map((b: { name: string }) => b.name)).toEqual(['Sales account', 'Support bot']);
    expect((await rec(t.api.get('/api/v1/bots?kind=telegram_user').set(bearer(owner.token)))).body.total).toBe(1);
    expect((await rec(t.api.get(`/api/v1/bots?chainId=${chain.id}&enabled=true`).set(bearer(owner.token)))).body.items.map((b: { id: string }) => b.id)).toEqual([botId]);
    expect((await rec(t.api.get('/api/v1/bots').set(bearer(stranger.token)))).body).toEqual({ items: [], total: 0 });
    expect((await rec(t.api.get(`/api/v1/bots/${botId}`).set(bearer(stranger.token)))).status).toBe(404);
    expect((await rec(t.api.get('/api/v1/bots').set(bearer(admin.token)))).body.total).toBe(2);
  });

  it('answer with a chain the caller may open, and only that', async () => {
    const other = await t.api.post('/api/v1/chains').set(bearer(stranger.token)).send({ graph: simpleGraph('strangers-chain') });
    const res = await rec(t.api.patch(`/api/v1/bots/${botId}`).set(bearer(owner.token)).send({ chainId: other.body.id }));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: 'chain_not_found', details: { field: 'body.chainId' } });
    const cleared = await rec(t.api.patch(`/api/v1/bots/${botId}`).set(bearer(owner.token)).send({ chainId: null, enabled: false, name: 'Support bot (paused)' }));
    expect(cleared.body).toMatchObject({ chainId: null, enabled: false, name: 'Support bot (paused)' });
    const back = await rec(t.api.patch(`/api/v1/bots/${botId}`).set(bearer(owner.token)).send({ chainId: chain.id, enabled: true }));
    expect(back.body).toMatchObject({ chainId: chain.id, enabled: true });
  });

  it('take a new token of the same bot, and refuse one of another bot', async () => {
    const renewed = `${token.split(':')[0]}:BB${'z'.repeat(34)}`;
    expect((await rec(t.api.patch(`/api/v1/bots/${botId}`).set(bearer(owner.token)).send({ token: renewed }))).status).toBe(200);
    const row = await t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: botId });
    expect(t.h.secretBox.decrypt(row.encryptedSecret, botSecretContext(botId))).toBe(renewed);
    const foreign = await rec(t.api.patch(`/api/v1/bots/${botId}`).set(bearer(owner.token)).send({ token: botToken() }));
    expect(foreign.status).toBe(409);
    expect(foreign.body.error).toBe('bot_mismatch');
    expect((await rec(t.api.post('/api/v1/bots').set(bearer(stranger.token)).send({ name: 'Copy', kind: 'telegram_bot', token: renewed }))).status).toBe(409);
    // Back to the first token (the secrets check below looks for both).
    await rec(t.api.patch(`/api/v1/bots/${botId}`).set(bearer(owner.token)).send({ token }));
  });

  it('are shared per bot: a viewer grant opens it, editing needs more', async () => {
    const shared = await rec(t.api.post(`/api/v1/bots/${botId}/grants`).set(bearer(owner.token)).send({ email: friend.email, role: 'viewer' }));
    expect(shared.status).toBe(200);
    expect((await rec(t.api.get(`/api/v1/bots/${botId}`).set(bearer(friend.token)))).body.role).toBe('viewer');
    const edit = await rec(t.api.patch(`/api/v1/bots/${botId}`).set(bearer(friend.token)).send({ name: 'Mine now' }));
    expect(edit.status).toBe(403);
    expect(edit.body.message).toMatch(/needs the editor role on this bot/);
    const grants = await rec(t.api.get(`/api/v1/bots/${botId}/grants`).set(bearer(friend.token)));
    expect(grants.body.items.map((g: { email: string; role: string }) => [g.email, g.role])).toEqual([
      [owner.email, 'owner'],
      [friend.email, 'viewer'],
    ]);
    expect((await rec(t.api.delete(`/api/v1/bots/${botId}/grants/${friend.id}`).set(bearer(owner.token)))).status).toBe(204);
    expect((await rec(t.api.get(`/api/v1/bots/${botId}`).set(bearer(friend.token)))).status).toBe(404);
    expect((await rec(t.api.post('/api/v1/bots').set(bearer(friend.token)).send({ name: 'Viewer bot', kind: 'telegram_bot', token: botToken() }))).status).toBe(403);
  });

  it('are deleted only without running sessions, unless forced (which terminates them)', async () => {
    const em = t.h.db.orm.em.fork();
    const runId = `chat:${userId}:4242`;
    em.create(RunSchema, { id: runId, chainId: chain.id, versionId: (await t.api.get(`/api/v1/chains/${chain.id}`).set(bearer(owner.token))).body.activeVersion.id, versionNumber: 1, channel: 'telegram_user', botId: userId, status: 'waiting', currentNode: 'ask', closedAt: null });
    await em.flush();
    const blocked = await rec(t.api.delete(`/api/v1/bots/${userId}`).set(bearer(owner.token)));
    expect(blocked.status).toBe(409);
    expect(blocked.body).toMatchObject({ error: 'sessions_running', details: { runIds: [runId] } });
    expect((await rec(t.api.delete(`/api/v1/bots/${userId}?force=true`).set(bearer(owner.token)))).status).toBe(204);
    expect((await t.h.db.orm.em.fork().findOneOrFail(RunSchema, { id: runId })).status).toBe('terminated');
    expect((await rec(t.api.get(`/api/v1/bots/${userId}`).set(bearer(owner.token)))).status).toBe(404);
  });

  it('cannot store a secret without a secret key (503 naming CHAINFLOW_SECRET_KEY)', async () => {
    const keyless = t.appWith({}, undefined, { secretBox: undefined }).api;
    const res = await rec(keyless.post('/api/v1/bots').set(bearer(owner.token)).send({ name: 'Keyless', kind: 'telegram_bot', token: botToken() }));
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/CHAINFLOW_SECRET_KEY/);
  });

  it('never show tokens or session strings in responses, logs, the audit log, run events or workflow histories', async () => {
    const started = await rec(t.api.post('/api/v1/runs').set(bearer(owner.token)).send({ chain: chain.id, input: { from: 'bot-test-marker' } }));
    const runId = String(started.body.id);
    await eventually(async () => ((await t.api.get(`/api/v1/runs/${encodeURIComponent(runId)}`).set(bearer(owner.token))).body.status === 'waiting' ? true : undefined), 'the run to wait');
    await rec(t.api.get('/api/v1/audit?action=bot.*&limit=200').set(bearer(admin.token)));
    const conn = t.h.db.orm.em.getConnection();
    const history = await historyText(t.h.client, runId);
    expect(history).toContain('bot-test-marker');
    const places = {
      responses: texts.join('\n'),
      logs: logs.text(),
      audit: JSON.stringify(await conn.execute('select * from audit_entry')),
      events: JSON.stringify(await conn.execute('select * from run_event')),
      history,
    };
    const audited = JSON.parse(places.audit) as Array<{ action: string }>;
    expect(audited.map((a) => a.action)).toEqual(expect.arrayContaining(['bot.create', 'bot.update', 'bot.share', 'bot.unshare', 'bot.delete']));
    for (const secret of [token, token.split(':')[1]!, sessionString]) {
      for (const [where, text] of Object.entries(places)) expect(text.includes(secret), `${where} must not contain a bot secret`).toBe(false);
    }
  });

  it('pass to the admin who deletes their owner, like chains', async () => {
    const leaving = await createAccount(t.api, admin, 'editor', 'leaving');
    const created = await rec(t.api.post('/api/v1/bots').set(bearer(leaving.token)).send({ name: 'Orphan bot', kind: 'telegram_bot', token: botToken(), chainId: (await t.api.post('/api/v1/chains?onConflict=rename').set(bearer(leaving.token)).send({ graph: simpleGraph('leaving') })).body.id }));
    expect(created.status, created.text).toBe(201);
    expect((await t.api.delete(`/api/v1/users/${leaving.id}`).set(bearer(admin.token))).status).toBe(204);
    const row = await t.h.db.orm.em.fork().findOneOrFail(BotSchema, { id: created.body.id });
    expect(row.ownerId).toBe(admin.id);
  });
});
