// Access row 4: a web-chat visitor id is chosen by the client, so it proves nothing; the
// token the server issues with the visitor's first message does.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedExamples } from '../../cli/seed.ts';
import { VariableSchema } from '../../db/entities.ts';
import { WebVisitorSchema } from '../../db/visitors.ts';
import { bearer, registerAdmin, startApi, type Account, type ApiHarness } from './support/api.ts';

let t: ApiHarness;
let admin: Account;

beforeAll(async () => {
  t = await startApi('access-visitors');
  await seedExamples(t.h.db.orm);
  admin = await registerAdmin(t.api);
});
afterAll(async () => t?.close());

const path = (visitor: string) => `/api/v1/chat/greeting/${visitor}/messages`;
const texts = (body: { replies: Array<{ text: string }> }) => body.replies.map((r) => r.text);

describe('access row 4: web-chat visitors', () => {
  it('get a server-issued token with their first message; the transcript and later messages need it', async () => {
    const first = await t.api.post(path('eve-1')).send({ id: 'm1', text: 'hi' });
    expect(first.status).toBe(200);
    const token = String(first.body.visitorToken);
    expect(Buffer.from(token.replace(/^cfv_/, ''), 'base64url').length).toBeGreaterThanOrEqual(16); // ≥ 128 bits
    const setCookie = String(first.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toContain(token);
    const cookie = setCookie.split(';')[0] ?? '';

    // Someone who only knows (or guesses) the visitor id reads and sends nothing.
    const read = await t.api.get(path('eve-1'));
    expect(read.status).toBe(401);
    expect(read.body.error).toBe('visitor_token_required');
    expect(read.body.message).toMatch(/X-Visitor-Token/);
    const wrong = await t.api.get(path('eve-1')).set('X-Visitor-Token', 'cfv_guessed');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('visitor_token_invalid');
    const impostor = await t.api.post(path('eve-1')).send({ id: 'evil', text: 'Mallory' });
    expect(impostor.status).toBe(401);

    // The visitor, with the header or the widget's cookie.
    const transcript = await t.api.get(path('eve-1')).set('X-Visitor-Token', token);
    expect(transcript.status).toBe(200);
    expect(transcript.body.items.map((i: { direction: string }) => i.direction)).toEqual(['in', 'out']);
    expect((await t.api.get(path('eve-1')).set('Cookie', cookie)).status).toBe(200);
    const named = await t.api.post(path('eve-1')).set('Cookie', cookie).send({ id: 'm2', text: 'Eve' });
    expect(named.status).toBe(200);
    expect(named.body.visitorToken).toBeUndefined(); // issued once
    expect(texts(named.body)[0]).toMatch(/Nice to meet you, Eve/);

    // A chain editor (bearer token) needs no visitor token; the token is stored hashed.
    expect((await t.api.get(path('eve-1')).set(bearer(admin.token))).status).toBe(200);
    const row = await t.h.db.orm.em.fork().findOneOrFail(WebVisitorSchema, { visitorId: 'eve-1' });
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.tokenHash).not.toContain(token);
  });

  it('keep their persisted user.* under their server id, not under web:{visitorId}', async () => {
    const first = await t.api.post(path('finn-1')).send({ id: 'f1', text: 'hi' });
    const token = String(first.body.visitorToken);
    await t.api.post(path('finn-1')).set('X-Visitor-Token', token).send({ id: 'f2', text: 'Finn' });
    const visitor = await t.h.db.orm.em.fork().findOneOrFail(WebVisitorSchema, { visitorId: 'finn-1' });
    const rows = await t.h.db.orm.em.fork().find(VariableSchema, { scope: 'user', ownerKey: `visitor:${visitor.id}` });
    expect(rows.map((r) => [r.name, r.value])).toContainEqual(['name', 'Finn']);
    expect(await t.h.db.orm.em.fork().count(VariableSchema, { ownerKey: { $like: 'web:%' } })).toBe(0);
    // The next session of the same visitor remembers the name.
    const again = await t.api.post(path('finn-1')).set('X-Visitor-Token', token).send({ id: 'f3', text: 'hello again' });
    expect(texts(again.body)).toEqual(['Welcome back, Finn!']);
  });

  it('have an empty transcript before their first message', async () => {
    const res = await t.api.get(path('nobody-yet'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], total: 0 });
  });
});
