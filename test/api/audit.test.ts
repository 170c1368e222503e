import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvCell } from '../../api/routes/audit.ts';
import { bearer, createAccount, registerAdmin, simpleGraph, startApi, type Account, type ApiHarness } from './support/api.ts';

let t: ApiHarness;
let admin: Account;
let editor: Account;

beforeAll(async () => {
  t = await startApi('audit');
  admin = await registerAdmin(t.api);
  editor = await createAccount(t.api, admin, 'editor', 'auditee');
});
afterAll(async () => t?.close());

const as = (account: Account) => bearer(account.token);

interface Entry {
  action: string;
  actorId: string | null;
  actorEmail: string | null;
  targetType: string | null;
  targetId: string | null;
  summary: Record<string, unknown>;
  ip: string | null;
}

async function entries(query = ''): Promise<Entry[]> {
  const res = await t.api.get(`/api/v1/audit?limit=200${query}`).set(as(admin));
  expect(res.status).toBe(200);
  return res.body.items;
}

describe('the audit log', () => {
  it('records sign-ins, failed ones included, with the address tried and the client ip', async () => {
    await t.api.post('/api/v1/auth/login').send({ email: editor.email, password: 'wrong password!' });
    const log = await entries(`&actorEmail=${encodeURIComponent(editor.email)}`);
    const failed = log.find((e) => e.action === 'auth.login_failed');
    expect(failed).toMatchObject({ actorId: editor.id, actorEmail: editor.email, summary: { reason: 'bad_password' } });
    expect(failed?.ip).toMatch(/127\.0\.0\.1|::1/);
    expect(log.some((e) => e.action === 'auth.login' && e.actorId === editor.id)).toBe(true);
  });

  it('records every chain change with a before/after summary', async () => {
    const created = await t.api.post('/api/v1/chains').set(as(editor)).send({ graph: simpleGraph('audited') });
    const id = created.body.id as string;
    await t.api.put(`/api/v1/chains/${id}/draft`).set(as(editor)).send({ revision: 1, graph: simpleGraph('audited', 'Another question') });
    await t.api.post(`/api/v1/chains/${id}/publish`).set(as(editor)).send({ note: 'go live' });
    await t.api.post(`/api/v1/chains/${id}/grants`).set(as(editor)).send({ userId: admin.id, role: 'viewer' });
    await t.api.post(`/api/v1/chains/${id}/rollback`).set(as(editor)).send({ version: 1 });
    await t.api.delete(`/api/v1/chains/${id}`).set(as(editor));

    const log = await entries(`&targetType=chain&targetId=${id}`);
    expect(log.map((e) => e.action).reverse()).toEqual(['chain.create', 'chain.update', 'chain.publish', 'chain.share', 'chain.rollback', 'chain.delete']);
    expect(log.every((e) => e.actorId === editor.id)).toBe(true);
    const update = log.find((e) => e.action === 'chain.update');
    expect(update?.summary).toMatchObject({ before: { revision: 1 }, after: { revision: 2 }, changes: { nodesChanged: ['ask'] } });
    expect(log.find((e) => e.action === 'chain.publish')?.summary).toMatchObject({ after: { version: 1 }, note: 'go live' });
  });

  it('filters by action prefix and time range, newest first', async () => {
    const auth = await entries('&action=auth.*');
    expect(auth.length).toBeGreaterThan(0);
    expect(auth.every((e) => e.action.startsWith('auth.'))).toBe(true);
    const future = await entries(`&from=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`);
    expect(future).toEqual([]);
    const bad = await t.api.get('/api/v1/audit?from=yesterday').set(as(admin));
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^query\.from: /);
  });

  it('exports CSV with the same filters, and records the export', async () => {
    const res = await t.api.get('/api/v1/audit/export?action=chain.*').set(as(admin));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toContain('chainflow-audit.csv');
    const lines = res.text.trim().split('\r\n');
    expect(lines[0]).toBe('id,at,actorId,actorEmail,action,targetType,targetId,ip,summary');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((l) => l.includes(',chain.'))).toBe(true);
    expect((await entries('&action=audit.export')).length).toBe(1);
  });

  it('is for admins only', async () => {
    expect((await t.api.get('/api/v1/audit').set(as(editor))).status).toBe(403);
    expect((await t.api.get('/api/v1/audit/export').set(as(editor))).status).toBe(403);
  });
});

describe('CSV cells', () => {
  it('quote separators and neutralise spreadsheet formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
    expect(csvCell(null)).toBe('');
  });
});
