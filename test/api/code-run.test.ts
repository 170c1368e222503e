// POST /chains/{id}/code/run: the editor's "run with sample input" runs on the real
// worker's code sandbox (QuickJS) with a session's limits, and writes nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, registerAdmin, simpleGraph, snapshotDatabase, startApi, type Account, type ApiHarness } from './support/api.ts';

let t: ApiHarness;
let owner: Account;
let viewer: Account;
let chainId: string;
const url = () => `/api/v1/chains/${chainId}/code/run`;

beforeAll(async () => {
  t = await startApi('code-run');
  const admin = await registerAdmin(t.api);
  owner = await createAccount(t.api, admin, 'editor', 'owner');
  viewer = await createAccount(t.api, admin, 'viewer', 'viewer');
  const created = await t.api.post('/api/v1/chains').set(bearer(owner.token)).send({ graph: simpleGraph('code-run') });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  chainId = created.body.id;
  const shared = await t.api.post(`/api/v1/chains/${chainId}/grants`).set(bearer(owner.token)).send({ userId: viewer.id, role: 'viewer' });
  expect([200, 201], JSON.stringify(shared.body)).toContain(shared.status);
});
afterAll(async () => t?.close());

describe('code run with sample input', () => {
  it('returns main’s value and the console output for the sample message and variables', async () => {
    const source = 'function main(message, variables) {\n  console.log("hi", message.text);\n  return { upper: message.text.toUpperCase(), age: variables.session.age + 1, user: variables.user };\n}';
    const res = await t.api.post(url()).set(bearer(owner.token)).send({ source, timeoutMs: 1000, memoryMb: 32, message: { text: 'hello' }, variables: { session: { age: 41 } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ ok: true, result: { upper: 'HELLO', age: 42, user: {} }, console: ['hi hello'] });
    expect(typeof res.body.ms).toBe('number');
  });

  it('reports a syntax error, an exception and the time limit as the session would', async () => {
    const syntax = await t.api.post(url()).set(bearer(owner.token)).send({ source: 'function main(message, variables) { return ( }', timeoutMs: 1000, memoryMb: 32 });
    expect(syntax.body).toMatchObject({ ok: false, code: 'code_error' });
    const thrown = await t.api.post(url()).set(bearer(owner.token)).send({ source: 'function main() { throw new Error("boom") }', timeoutMs: 1000, memoryMb: 32 });
    expect(thrown.body).toMatchObject({ ok: false, code: 'code_error' });
    expect(thrown.body.message).toContain('boom');
    const slow = await t.api.post(url()).set(bearer(owner.token)).send({ source: 'function main() { for (;;) {} }', timeoutMs: 50, memoryMb: 32 });
    expect(slow.status).toBe(200);
    expect(slow.body).toMatchObject({ ok: false, code: 'code_timeout' });
    const hungry = await t.api.post(url()).set(bearer(owner.token)).send({ source: 'function main() { const a = []; for (;;) a.push("x".repeat(1000)); }', timeoutMs: 5000, memoryMb: 2 });
    expect(hungry.body).toMatchObject({ ok: false, code: 'code_memory' });
  });

  it('refuses limits beyond a code node’s, viewers and strangers, changing nothing', async () => {
    const before = await snapshotDatabase(t.h);
    const tooLong = await t.api.post(url()).set(bearer(owner.token)).send({ source: 'function main() {}', timeoutMs: 60_000, memoryMb: 32 });
    expect(tooLong.status).toBe(400);
    expect(JSON.stringify(tooLong.body)).toContain('timeoutMs');
    const noSource = await t.api.post(url()).set(bearer(owner.token)).send({ source: '', timeoutMs: 1000, memoryMb: 32 });
    expect(noSource.status).toBe(400);
    expect(JSON.stringify(noSource.body)).toContain('source');
    const asViewer = await t.api.post(url()).set(bearer(viewer.token)).send({ source: 'function main() {}', timeoutMs: 1000, memoryMb: 32 });
    expect(asViewer.status).toBe(403);
    const anonymous = await t.api.post(url()).send({ source: 'function main() {}', timeoutMs: 1000, memoryMb: 32 });
    expect(anonymous.status).toBe(401);
    expect(await snapshotDatabase(t.h)).toEqual(before);
  });
});
