// Access rows 2 and 3: a credential is used only by its owner, admins and those it is
// shared with — checked at validate/publish for the publishing user and again in the
// activity for the version's publisher — and a sub-chain only calls chains its
// publisher may open, without telling whether others exist.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainVersionSchema } from '../../db/entities.ts';
import { eventually } from '../support/stack.ts';
import { apiGraph } from './support/fixtures.ts';
import { bearer, createAccount, registerAdmin, startApi, type Account, type ApiHarness } from './support/api.ts';

const ADMIN_VALUE = 'admin-only-value-5b1e9c';
let t: ApiHarness;
let server: Server;
let admin: Account;
let editor: Account;
let owner: Account;
const received: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    received.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t = await startApi('access-credentials', { httpAllow: ['127.0.0.1/32'] });
  admin = await registerAdmin(t.api);
  editor = await createAccount(t.api, admin, 'editor', 'mallory');
  owner = await createAccount(t.api, admin, 'editor', 'owner');
});
afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => server?.close(resolve));
});

/** An API-started chain whose HTTP node sends `header` (a template) to the loopback server. */
function exfiltrate(slug: string, http: Record<string, unknown>): Record<string, unknown> {
  return {
    slug,
    name: slug,
    nodes: [
      { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'api' } } },
      { id: 'leak', type: 'http', position: { x: 200, y: 0 }, data: { method: 'GET', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/collect`, ...http } },
      { id: 'done', type: 'message', position: { x: 400, y: 0 }, data: { text: 'sent' } },
      { id: 'failed', type: 'message', position: { x: 400, y: 100 }, data: { text: 'failed: {{ session.error.code }}: {{ session.error.message }}' } },
    ],
    edges: [
      { id: 'e1', source: 'start', target: 'leak' },
      { id: 'e2', source: 'leak', sourcePort: 'ok', target: 'done' },
      { id: 'e3', source: 'leak', sourcePort: 'error', target: 'failed' },
    ],
  };
}

async function createChain(as: Account, graph: Record<string, unknown>): Promise<string> {
  const res = await t.api.post('/api/v1/chains').set(bearer(as.token)).send({ graph });
  expect(res.status, res.text).toBe(201);
  return String(res.body.id);
}

/** Starts a run as `as` and returns its reply. */
async function run(as: Account, chainId: string): Promise<string> {
  const started = await t.api.post('/api/v1/runs').set(bearer(as.token)).send({ chain: chainId });
  expect(started.status, started.text).toBe(201);
  const id = encodeURIComponent(String(started.body.id));
  return eventually(async () => {
    const events = await t.api.get(`/api/v1/runs/${id}/events`).set(bearer(as.token));
    const out = events.body.items.find((e: { type: string }) => e.type === 'message.out');
    return out ? String(out.payload.text) : undefined;
  }, 'the reply');
}

describe('access row 2: credentials have owners and grants', () => {
  let keyId: string;
  let chainId: string;

  it("are not listed, read or used by an editor they are not shared with (validate and publish refuse, naming them)", async () => {
    const created = await t.api.post('/api/v1/credentials').set(bearer(admin.token)).send({ name: 'ADMIN_KEY', kind: 'secret', value: ADMIN_VALUE });
    expect(created.status).toBe(201);
    keyId = String(created.body.id);
    const list = await t.api.get('/api/v1/credentials').set(bearer(editor.token));
    expect(list.body.items.map((c: { name: string }) => c.name)).not.toContain('ADMIN_KEY');
    expect((await t.api.get(`/api/v1/credentials/${keyId}`).set(bearer(editor.token))).status).toBe(404);
    expect((await t.api.patch(`/api/v1/credentials/${keyId}`).set(bearer(editor.token)).send({ value: 'overwritten' })).status).toBe(404);

    chainId = await createChain(editor, exfiltrate('exfiltrate-by-secret', { headers: [{ name: 'X-Stolen', value: '{{ secrets.ADMIN_KEY }}' }] }));
    const validation = await t.api.post(`/api/v1/chains/${chainId}/validate`).set(bearer(editor.token));
    expect(validation.body.ok).toBe(false);
    expect(validation.body.errors).toEqual([expect.objectContaining({ code: 'credential_forbidden', nodeId: 'leak', message: expect.stringContaining("'ADMIN_KEY'") })]);
    const published = await t.api.post(`/api/v1/chains/${chainId}/publish`).set(bearer(editor.token)).send({});
    expect(published.status).toBe(422);
    expect(published.body.message).toContain('ADMIN_KEY');
    expect(await t.h.db.orm.em.fork().count(ChainVersionSchema, { chainId })).toBe(0);

    const byId = await createChain(editor, exfiltrate('exfiltrate-by-id', { credentialId: keyId }));
    expect((await t.api.post(`/api/v1/chains/${byId}/publish`).set(bearer(editor.token)).send({})).status).toBe(422);
    const simulated = await t.api.post(`/api/v1/chains/${byId}/simulate/v1/messages`).set(bearer(editor.token)).send({ text: 'hi' });
    expect(simulated.status).toBe(422);
    expect(JSON.stringify([list.body, validation.body, published.body, simulated.body])).not.toContain(ADMIN_VALUE);
    expect(received).toEqual([]);
  });

  it('are used once shared (use), and no longer — even by versions published before — once the share is taken away', async () => {
    const share = await t.api.post(`/api/v1/credentials/${keyId}/grants`).set(bearer(admin.token)).send({ userId: editor.id, role: 'use' });
    expect(share.body).toMatchObject({ role: 'use', source: 'grant' });
    expect((await t.api.get('/api/v1/credentials').set(bearer(editor.token))).body.items.map((c: { name: string }) => c.name)).toContain('ADMIN_KEY');
    // use is not manage: the value cannot be changed.
    expect((await t.api.patch(`/api/v1/credentials/${keyId}`).set(bearer(editor.token)).send({ value: 'overwritten' })).status).toBe(403);
    expect((await t.api.post(`/api/v1/chains/${chainId}/publish`).set(bearer(editor.token)).send({})).status).toBe(201);
    expect(await run(editor, chainId)).toBe('sent');
    expect(received.at(-1)?.['x-stolen']).toBe(ADMIN_VALUE);

    const calls = received.length;
    expect((await t.api.delete(`/api/v1/credentials/${keyId}/grants/${editor.id}`).set(bearer(admin.token))).status).toBe(204);
    const reply = await run(editor, chainId);
    expect(reply).toMatch(/^failed: credential_forbidden: Credential 'ADMIN_KEY' is not shared with the user who published this chain version/);
    expect(reply).not.toContain(ADMIN_VALUE);
    expect(received.length).toBe(calls);
  });

  it('keep names unique in the installation', async () => {
    const taken = await t.api.post('/api/v1/credentials').set(bearer(editor.token)).send({ name: 'ADMIN_KEY', kind: 'secret', value: 'another value' });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toBe('credential_exists');
  });
});

describe('access row 3: sub-chains call only chains their publisher may open', () => {
  const caller = (slug: string, chainRef: string, versionId?: string) => ({
    slug,
    name: slug,
    nodes: [
      { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'api' } } },
      { id: 'call', type: 'subchain', position: { x: 200, y: 0 }, data: { chainRef, ...(versionId ? { versionId } : {}) } },
    ],
    edges: [{ id: 'e1', source: 'start', target: 'call' }],
  });

  it("refuses another user's unshared chain exactly like one that does not exist, until it is shared", async () => {
    const privateId = await createChain(owner, apiGraph('private-billing', 'Card number?'));
    const v1 = await t.api.post(`/api/v1/chains/${privateId}/publish`).set(bearer(owner.token)).send({});
    expect(v1.status).toBe(201);

    const hidden = await createChain(editor, caller('calls-private', 'private-billing'));
    const missing = await createChain(editor, caller('calls-missing', 'no-such-billing'));
    const hiddenResult = await t.api.post(`/api/v1/chains/${hidden}/validate`).set(bearer(editor.token));
    const missingResult = await t.api.post(`/api/v1/chains/${missing}/validate`).set(bearer(editor.token));
    expect(hiddenResult.body.ok).toBe(false);
    expect(hiddenResult.body.errors).toHaveLength(1);
    expect(hiddenResult.body.errors[0].code).toBe('subchain_unknown');
    // The same answer as for a slug that does not exist: nothing tells the two apart.
    expect(JSON.stringify(hiddenResult.body).replaceAll('private-billing', 'X')).toBe(JSON.stringify(missingResult.body).replaceAll('no-such-billing', 'X'));
    const publishHidden = await t.api.post(`/api/v1/chains/${hidden}/publish`).set(bearer(editor.token)).send({});
    const publishMissing = await t.api.post(`/api/v1/chains/${missing}/publish`).set(bearer(editor.token)).send({});
    expect(publishHidden.status).toBe(422);
    expect(JSON.stringify(publishHidden.body).replaceAll('private-billing', 'X').replaceAll('calls-private', 'Y')).toBe(JSON.stringify(publishMissing.body).replaceAll('no-such-billing', 'X').replaceAll('calls-missing', 'Y'));
    expect((await t.api.post(`/api/v1/chains/${hidden}/simulate/s1/messages`).set(bearer(editor.token)).send({ text: 'hi' })).status).toBe(422);

    // Pinning the hidden chain's version under a chain the editor may open does not help.
    const ownId = await createChain(editor, apiGraph('editor-own', 'Hi'));
    expect((await t.api.post(`/api/v1/chains/${ownId}/publish`).set(bearer(editor.token)).send({})).status).toBe(201);
    const pinned = await createChain(editor, caller('pins-private', 'editor-own', String(v1.body.id)));
    const pinnedResult = await t.api.post(`/api/v1/chains/${pinned}/validate`).set(bearer(editor.token));
    expect(pinnedResult.body.errors).toEqual([expect.objectContaining({ code: 'subchain_unknown', nodeId: 'call' })]);
    expect((await t.api.post(`/api/v1/chains/${pinned}/publish`).set(bearer(editor.token)).send({})).status).toBe(422);

    // Shared (viewer), it resolves.
    expect((await t.api.post(`/api/v1/chains/${privateId}/grants`).set(bearer(owner.token)).send({ userId: editor.id, role: 'viewer' })).status).toBe(200);
    expect((await t.api.post(`/api/v1/chains/${hidden}/validate`).set(bearer(editor.token))).body).toMatchObject({ ok: true, errors: [] });
    expect((await t.api.post(`/api/v1/chains/${hidden}/publish`).set(bearer(editor.token)).send({})).status).toBe(201);
  });
});
