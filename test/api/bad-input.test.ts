// The bad-input matrix: malformed, mistyped, unknown, oversized and wrongly typed input
// gets the documented 4xx naming the problem, and leaves the database exactly as it was.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, registerAdmin, simpleGraph, snapshotDatabase, startApi, type Account, type ApiHarness, type CheckedAgent } from './support/api.ts';

let t: ApiHarness;
let admin: Account;
let owner: Account;
let chain: { id: string; slug: string };
let broken: { id: string };

interface Case {
  name: string;
  send(api: CheckedAgent): PromiseLike<{ status: number; body: { error: string; message: string; details: unknown } }>;
  status: number;
  error: string;
  /** What the message must say (names the field, line or node). */
  message?: RegExp;
}

const as = () => bearer(owner.token);
const big = 'x'.repeat(1024 * 1024 + 10);

const cases: Case[] = [
  {
    name: 'malformed JSON',
    send: (api) => api.post('/api/v1/chains').set(as()).set('content-type', 'application/json').send('{"name": "x",'),
    status: 400,
    error: 'malformed_json',
    message: /not valid JSON/,
  },
  {
    name: 'a JSON array where an object is expected',
    send: (api) => api.post('/api/v1/chains').set(as()).set('content-type', 'application/json').send('[1, 2]'),
    status: 400,
    error: 'validation_failed',
    message: /^body: /,
  },
  { name: 'a wrong type', send: (api) => api.post('/api/v1/chains').set(as()).send({ name: 42 }), status: 400, error: 'validation_failed', message: /^body\.name: / },
  { name: 'an unknown field', send: (api) => api.post('/api/v1/chains').set(as()).send({ name: 'x', colour: 'red' }), status: 400, error: 'validation_failed', message: /colour/ },
  {
    name: 'an invalid graph inside a valid body',
    send: (api) => api.post('/api/v1/chains').set(as()).send({ graph: { ...simpleGraph('bad-slug'), slug: 'Not A Slug' } }),
    status: 400,
    error: 'validation_failed',
    message: /^body\.graph\.slug: /,
  },
  { name: 'an oversized JSON body', send: (api) => api.post('/api/v1/chains').set(as()).send({ name: big }), status: 413, error: 'payload_too_large' },
  {
    name: 'a wrong content type for JSON',
    send: (api) => api.post('/api/v1/chains').set(as()).set('content-type', 'text/plain').send('name=x'),
    status: 415,
    error: 'unsupported_media_type',
    message: /application\/json/,
  },
  { name: 'a bad query value', send: (api) => api.get('/api/v1/chains?limit=0').set(as()), status: 400, error: 'validation_failed', message: /^query\.limit: / },
  { name: 'an unknown query parameter', send: (api) => api.get('/api/v1/chains?colour=red').set(as()), status: 400, error: 'validation_failed', message: /colour/ },
  { name: 'a malformed id', send: (api) => api.get('/api/v1/users/not-a-uuid').set(bearer(admin.token)), status: 400, error: 'validation_failed', message: /^params\.id: / },
  {
    name: 'a short password at registration',
    send: (api) => api.post('/api/v1/auth/register').send({ email: 'short@example.com', password: 'short' }),
    status: 400,
    error: 'validation_failed',
    message: /^body\.password: Use at least 10 characters/,
  },
  { name: 'a malformed e-mail at sign-in', send: (api) => api.post('/api/v1/auth/login').send({ email: 'nope', password: 'whatever' }), status: 400, error: 'validation_failed', message: /^body\.email: / },
  {
    name: 'bad YAML on import',
    send: (api) => api.post('/api/v1/chains/import').set(as()).set('content-type', 'application/yaml').send('slug: x\nname: X\nnodes: [\n  {id: a\n'),
    status: 400,
    error: 'invalid_file',
    message: /line \d+/,
  },
  {
    name: 'an import missing a required field',
    send: (api) => api.post('/api/v1/chains/import').set(as()).set('content-type', 'application/yaml').send('slug: no-name\nnodes: []\n'),
    status: 400,
    error: 'invalid_chain',
    message: /name/,
  },
  {
    name: 'an import that does not compile',
    send: (api) =>
      api
        .post('/api/v1/chains/import')
        .set(as())
        .set('content-type', 'application/json')
        .send(JSON.stringify({ ...simpleGraph('wont-compile'), edges: [{ id: 'e', source: 'start', target: 'ghost' }] })),
    status: 400,
    error: 'invalid_chain',
    message: /ghost/,
  },
  {
    name: 'an import with a slug that exists',
    send: (api) => api.post('/api/v1/chains/import').set(as()).set('content-type', 'application/json').send(JSON.stringify(simpleGraph('bad-input-chain'))),
    status: 409,
    error: 'slug_taken',
  },
  {
    name: 'an oversized upload',
    send: (api) => api.post('/api/v1/chains/import').set(as()).attach('file', Buffer.alloc(2 * 1024 * 1024 + 1, 'a'), 'huge.yaml'),
    status: 413,
    error: 'payload_too_large',
  },
  {
    name: 'an upload in the wrong field',
    send: (api) => api.post('/api/v1/chains/import').set(as()).attach('document', Buffer.from('slug: x'), 'x.yaml'),
    status: 400,
    error: 'bad_upload',
    message: /'file'/,
  },
  {
    name: 'a wrong content type for a chain file',
    send: (api) => api.post('/api/v1/chains/import').set(as()).set('content-type', 'image/png').send(Buffer.from([0x89, 0x50, 0x4e, 0x47])),
    status: 415,
    error: 'unsupported_media_type',
  },
  { name: 'an empty import', send: (api) => api.post('/api/v1/chains/import').set(as()), status: 400, error: 'file_missing' },
  {
    name: 'a stale draft revision',
    send: (api) => api.put(`/api/v1/chains/${chain.id}/draft`).set(as()).send({ revision: 99, graph: simpleGraph(chain.slug, 'Lost edit') }),
    status: 409,
    error: 'stale_revision',
  },
  {
    name: 'publishing an invalid chain',
    send: (api) => api.post(`/api/v1/chains/${broken.id}/publish`).set(as()).send({ note: 'should not exist' }),
    status: 422,
    error: 'chain_invalid',
    message: /nowhere/,
  },
  {
    name: 'a rollback to a version that does not exist',
    send: (api) => api.post(`/api/v1/chains/${chain.id}/rollback`).set(as()).send({ version: 7 }),
    status: 404,
    error: 'version_not_found',
  },
  { name: 'an empty user update', send: (api) => api.patch(`/api/v1/users/${owner.id}`).set(bearer(admin.token)).send({}), status: 400, error: 'validation_failed' },
  {
    name: 'sharing with an unknown user',
    send: (api) => api.post(`/api/v1/chains/${chain.id}/grants`).set(as()).send({ email: 'ghost@example.com', role: 'viewer' }),
    status: 404,
    error: 'user_not_found',
  },
  {
    name: 'sharing with both a user id and an e-mail',
    send: (api) => api.post(`/api/v1/chains/${chain.id}/grants`).set(as()).send({ email: 'ghost@example.com', userId: owner.id, role: 'viewer' }),
    status: 400,
    error: 'validation_failed',
    message: /userId or email/,
  },
  {
    name: 'a diff of a version that does not exist',
    send: (api) => api.get(`/api/v1/chains/${chain.id}/diff?from=5`).set(as()),
    status: 404,
    error: 'version_not_found',
  },
  { name: 'an unknown export format', send: (api) => api.get(`/api/v1/chains/${chain.id}/export?format=xml`).set(as()), status: 400, error: 'validation_failed', message: /^query\.format: / },
  {
    name: 'a web-chat message without text',
    send: (api) => api.post(`/api/v1/chains/${chain.id}/simulate/v1/messages`).set(as()).send({}),
    status: 400,
    error: 'validation_failed',
    message: /^body\.text: Send text or a buttonId/,
  },
];

beforeAll(async () => {
  t = await startApi('bad-input');
  admin = await registerAdmin(t.api);
  owner = await createAccount(t.api, admin, 'editor', 'owner');
  const created = await t.api.post('/api/v1/chains').set(as()).send({ graph: simpleGraph('bad-input-chain') });
  chain = { id: created.body.id, slug: created.body.slug };
  await t.api.post(`/api/v1/chains/${chain.id}/publish`).set(as()).send({});
  const graph = simpleGraph('broken-chain');
  (graph.edges as unknown[]).push({ id: 'dangling', source: 'bye', target: 'nowhere' });
  broken = (await t.api.post('/api/v1/chains').set(as()).send({ graph })).body;
});
afterAll(async () => t?.close());

describe('bad input', () => {
  for (const c of cases) {
    it(`answers ${c.name} with ${c.status} ${c.error} and changes nothing`, async () => {
      const before = await snapshotDatabase(t.h);
      const res = await c.send(t.api);
      expect({ status: res.status, error: res.body.error }).toEqual({ status: c.status, error: c.error });
      expect(Object.keys(res.body).sort()).toEqual(['details', 'error', 'message']);
      if (c.message) expect(res.body.message).toMatch(c.message);
      expect(await snapshotDatabase(t.h)).toEqual(before);
    });
  }
});
