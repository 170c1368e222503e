import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainVersionSchema } from '../../db/entities.ts';
import { bearer, createAccount, registerAdmin, simpleGraph, startApi, type Account, type ApiHarness } from './support/api.ts';

let t: ApiHarness;
let owner: Account;
let other: Account;
let viewer: Account;

beforeAll(async () => {
  t = await startApi('duplicate');
  const admin = await registerAdmin(t.api);
  owner = await createAccount(t.api, admin, 'editor', 'owner');
  other = await createAccount(t.api, admin, 'editor', 'other');
  viewer = await createAccount(t.api, admin, 'viewer', 'viewer');
});
afterAll(async () => t?.close());

const as = (account: Account) => bearer(account.token);

describe('duplicating a chain', () => {
  it('copies the draft into a new unpublished chain owned by the caller, under a free slug', async () => {
    const created = await t.api.post('/api/v1/chains').set(as(owner)).send({ graph: simpleGraph('original', 'Copied prompt') });
    expect(created.status).toBe(201);
    expect((await t.api.post(`/api/v1/chains/${created.body.id}/publish`).set(as(owner)).send({})).status).toBe(201);
    await t.api.post(`/api/v1/chains/${created.body.id}/grants`).set(as(owner)).send({ email: other.email, role: 'viewer' });

    const copy = await t.api.post(`/api/v1/chains/${created.body.id}/duplicate`).set(as(other));
    expect(copy.status).toBe(201);
    expect(copy.body).toMatchObject({ slug: 'original-copy', name: 'Chain original (copy)', ownerId: other.id, role: 'owner', activeVersion: null, draftRevision: 1 });
    expect(copy.body.id).not.toBe(created.body.id);
    expect(copy.body.draft.nodes).toEqual(created.body.draft.nodes);
    expect(copy.body.draft.edges).toEqual(created.body.draft.edges);
    expect(await t.h.db.orm.em.fork().count(ChainVersionSchema, { chainId: copy.body.id })).toBe(0);

    const again = await t.api.post('/api/v1/chains/original/duplicate').set(as(owner));
    expect(again.body.slug).toBe('original-copy-2');
    // The source is untouched.
    const source = await t.api.get(`/api/v1/chains/${created.body.id}`).set(as(owner));
    expect(source.body).toMatchObject({ slug: 'original', draftRevision: 1, activeVersion: { number: 1 } });
  });

  it('answers 404 for a chain the caller cannot see and 403 for a global viewer', async () => {
    const created = await t.api.post('/api/v1/chains').set(as(owner)).send({ graph: simpleGraph('private') });
    const hidden = await t.api.post(`/api/v1/chains/${created.body.id}/duplicate`).set(as(other));
    expect(hidden.status).toBe(404);
    await t.api.post(`/api/v1/chains/${created.body.id}/grants`).set(as(owner)).send({ email: viewer.email, role: 'viewer' });
    const refused = await t.api.post(`/api/v1/chains/${created.body.id}/duplicate`).set(as(viewer));
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/editor role/);
  });
});
