// Credentials through the API: stored encrypted, used by a real chain run (an HTTP node
// authenticating to a loopback server by credential id and by {{ secrets.NAME }}),
// rotated, renamed and deleted — and their values never appear in a response, a log
// line, the audit log, a run event or a workflow history.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Response } from 'supertest';
import { CredentialSchema, credentialContext } from '../../db/credential.ts';
import { eventually } from '../support/stack.ts';
import { bearer, captureLogs, createAccount, registerAdmin, startApi, type Account, type ApiHarness, type LogCapture } from './support/api.ts';
import { historyText } from './support/fixtures.ts';

const SECRETS = { bearer1: 'first-bearer-value-4f9a', bearer2: 'second-bearer-value-77c1', partner: 'partner-secret-value-0d3e' };
let t: ApiHarness;
let logs: LogCapture;
let server: Server;
let admin: Account;
let editor: Account;
let viewer: Account;
/** What the partner server accepts right now. */
const expected = { bearer: SECRETS.bearer1, partner: SECRETS.partner };
const texts: string[] = [];
const runIds: string[] = [];

async function rec(test: PromiseLike<Response>): Promise<Response> {
  const res = await test;
  texts.push(res.text ?? '');
  return res;
}

function partnerChain(port: number, credentialId: string): Record<string, unknown> {
  return {
    slug: 'partner-check',
    name: 'Partner check',
    nodes: [
      { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'api' } } },
      {
        id: 'call',
        type: 'http',
        position: { x: 200, y: 0 },
        data: {
          method: 'GET',
          url: `http://127.0.0.1:${port}/check`,
          headers: [{ name: 'X-Partner', value: '{{ secrets.partner_key }}' }],
          credentialId,
          responseMapping: [{ variable: 'session.verdict', path: '$.verdict' }],
        },
      },
      { id: 'ok', type: 'message', position: { x: 400, y: 0 }, data: { text: 'Partner says {{ session.verdict }}' } },
      { id: 'refused', type: 'message', position: { x: 400, y: 100 }, data: { text: 'The partner refused: {{ session.error.code }}' } },
    ],
    edges: [
      { id: 'e1', source: 'start', target: 'call' },
      { id: 'e2', source: 'call', sourcePort: 'ok', target: 'ok' },
      { id: 'e3', source: 'call', sourcePort: 'error', target: 'refused' },
    ],
  };
}

/** Starts a run of the partner chain and returns its reply. */
async function runPartner(chainId: string): Promise<string> {
  const started = await rec(t.api.post('/api/v1/runs').set(bearer(editor.token)).send({ chain: chainId, input: { marker: 'visible-input-marker' } }));
  expect(started.status, started.text).toBe(201);
  const id = String(started.body.id);
  runIds.push(id);
  return eventually(async () => {
    const res = await rec(t.api.get(`/api/v1/runs/${encodeURIComponent(id)}/events`).set(bearer(editor.token)));
    const out = res.body.items.find((e: { type: string }) => e.type === 'message.out');
    return out ? String(out.payload.text) : undefined;
  }, 'the reply of the partner chain');
}

beforeAll(async () => {
  logs = captureLogs();
  server = createServer((req, res) => {
    const ok = req.headers.authorization === `Bearer ${expected.bearer}` && req.headers['x-partner'] === expected.partner;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { verdict: 'welcome' } : { verdict: 'go away' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t = await startApi('credentials', { logger: logs.logger, httpAllow: ['127.0.0.1/32'] });
  admin = await registerAdmin(t.api);
  editor = await createAccount(t.api, admin, 'editor', 'editor');
  viewer = await createAccount(t.api, admin, 'viewer', 'viewer');
});
afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('credentials', () => {
  let bearerId: string;
  let partnerId: string;
  let chainId: string;

  it('are stored encrypted and shown without their values', async () => {
    const created = await rec(t.api.post('/api/v1/credentials').set(bearer(editor.token)).send({ name: 'partner_api', kind: 'bearer', value: SECRETS.bearer1 }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'partner_api', kind: 'bearer', meta: {}, hasValue: true, ownerId: editor.id });
    expect(Object.keys(created.body).sort()).toEqual(['createdAt', 'hasValue', 'id', 'kind', 'meta', 'name', 'ownerId', 'updatedAt']);
    bearerId = created.body.id;
    const partner = await rec(t.api.post('/api/v1/credentials').set(bearer(admin.token)).send({ name: 'partner_key', kind: 'secret', value: SECRETS.partner, meta: { note: 'from the partner portal' } }));
    expect(partner.status).toBe(201);
    partnerId = partner.body.id;
    // Credentials have owners: the editor sees and uses the admin's only once it is shared.
    expect((await rec(t.api.get(`/api/v1/credentials/${partnerId}`).set(bearer(editor.token)))).status).toBe(404);
    const shared = await rec(t.api.post(`/api/v1/credentials/${partnerId}/grants`).set(bearer(admin.token)).send({ userId: editor.id, role: 'manage' }));
    expect(shared.status, shared.text).toBe(200);
    expect(shared.body).toMatchObject({ userId: editor.id, role: 'manage', source: 'grant' });

    const row = await t.h.db.orm.em.fork().findOneOrFail(CredentialSchema, { id: bearerId });
    expect(row.encryptedValue).toMatch(/^v1:/);
    expect(row.encryptedValue).not.toContain(SECRETS.bearer1);
    expect(t.h.secretBox.decrypt(row.encryptedValue, credentialContext(bearerId))).toBe(SECRETS.bearer1);

    const list = await rec(t.api.get('/api/v1/credentials?q=partner').set(bearer(editor.token)));
    expect(list.body.total).toBe(2);
    expect(list.body.items.map((c: { name: string }) => c.name)).toEqual(['partner_api', 'partner_key']);
    expect((await rec(t.api.get(`/api/v1/credentials/${partnerId}`).set(bearer(editor.token)))).body.meta).toEqual({ note: 'from the partner portal' });
  });

  it('are used by chains by id and as secrets.NAME, inside the run activities', async () => {
    const imported = await rec(t.api.post('/api/v1/chains/import').set(bearer(editor.token)).set('content-type', 'application/json').send(JSON.stringify(partnerChain((server.address() as AddressInfo).port, bearerId))));
    expect(imported.status, imported.text).toBe(201);
    chainId = imported.body.chain.id;
    expect(await runPartner(chainId)).toBe('Partner says welcome');
  });

  it('rotate: the new value is used from the next request on', async () => {
    const rotated = await rec(t.api.patch(`/api/v1/credentials/${bearerId}`).set(bearer(editor.token)).send({ value: SECRETS.bearer2 }));
    expect(rotated.status).toBe(200);
    expect(rotated.body.hasValue).toBe(true);
    expected.bearer = SECRETS.bearer2;
    expect(await runPartner(chainId)).toBe('Partner says welcome');
  });

  it('refuse a rename that breaks a chain unless forced, and allow one that does not', async () => {
    const blocked = await rec(t.api.patch(`/api/v1/credentials/${partnerId}`).set(bearer(editor.token)).send({ name: 'partner_secret' }));
    expect(blocked.status).toBe(409);
    expect(blocked.body).toMatchObject({ error: 'credential_in_use', details: { chains: ['partner-check'] } });
    // The chain names partner_api by id: renaming it breaks nothing.
    const renamed = await rec(t.api.patch(`/api/v1/credentials/${bearerId}`).set(bearer(editor.token)).send({ name: 'partner_api_v2', meta: {} }));
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('partner_api_v2');
    expect(await runPartner(chainId)).toBe('Partner says welcome');
  });

  it('refuse deletion while a chain uses them; forced, the chain fails over to its error port', async () => {
    const blocked = await rec(t.api.delete(`/api/v1/credentials/${bearerId}`).set(bearer(editor.token)));
    expect(blocked.status).toBe(409);
    expect(blocked.body.message).toMatch(/"partner-check".*force=true/);
    expect((await rec(t.api.delete(`/api/v1/credentials/${bearerId}?force=true`).set(bearer(editor.token)))).status).toBe(204);
    expect((await rec(t.api.get(`/api/v1/credentials/${bearerId}`).set(bearer(editor.token)))).status).toBe(404);
    expect(await runPartner(chainId)).toMatch(/^The partner refused: credential_missing/);
  });

  it('are created by admins and editors only; a viewer lists only what is shared with them', async () => {
    const viewerList = await rec(t.api.get('/api/v1/credentials').set(bearer(viewer.token)));
    expect(viewerList.status).toBe(200);
    expect(viewerList.body).toEqual({ items: [], total: 0 });
    expect((await rec(t.api.post('/api/v1/credentials').set(bearer(viewer.token)).send({ name: 'viewer_key', kind: 'secret', value: 'nope-nope' }))).status).toBe(403);
    expect((await rec(t.api.get('/api/v1/credentials'))).status).toBe(401);
  });

  it('cannot be stored without a secret key (503 naming CHAINFLOW_SECRET_KEY)', async () => {
    const keyless = t.appWith({}, undefined, { secretBox: undefined }).api;
    const res = await rec(keyless.post('/api/v1/credentials').set(bearer(editor.token)).send({ name: 'keyless', kind: 'secret', value: 'keyless-value' }));
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/CHAINFLOW_SECRET_KEY/);
  });

  it('never show their values in responses, logs, the audit log, run events or workflow histories', async () => {
    const audit = await rec(t.api.get('/api/v1/audit?action=credential.*&limit=200').set(bearer(admin.token)));
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['credential.create', 'credential.update', 'credential.delete']));
    const conn = t.h.db.orm.em.getConnection();
    const events = JSON.stringify(await conn.execute('select * from run_event'));
    const auditRows = JSON.stringify(await conn.execute('select * from audit_entry'));
    expect(runIds.length).toBeGreaterThanOrEqual(4);
    const histories = await Promise.all(runIds.map((id) => historyText(t.h.client, id)));
    // The decoder works: the run input is there, in the clear.
    expect(histories.every((h) => h.includes('visible-input-marker'))).toBe(true);
    const places = { responses: texts.join('\n'), logs: logs.text(), auditRows, events, histories: histories.join('\n') };
    expect(logs.lines.length).toBeGreaterThan(0);
    for (const secret of Object.values(SECRETS)) {
      for (const [where, text] of Object.entries(places)) expect(text.includes(secret), `${where} must not contain a credential value`).toBe(false);
    }
  });
});
