import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainSchema } from '../../db/entities.ts';
import { GrantSchema } from '../../db/accounts.ts';
import { bearer, createAccount, PASSWORD, registerAdmin, simpleGraph, startApi, uniqueEmail, type Account, type ApiHarness } from './support/api.ts';

let t: ApiHarness;
let admin: Account;

beforeAll(async () => {
  t = await startApi('users');
  admin = await registerAdmin(t.api);
});
afterAll(async () => t?.close());

const as = (account: Account) => bearer(account.token);

describe('user administration', () => {
  it('creates users with a role, lists, filters and pages them', async () => {
    const editor = await createAccount(t.api, admin, 'editor', 'listed-editor');
    await createAccount(t.api, admin, 'viewer', 'listed-viewer');
    const all = await t.api.get('/api/v1/users?limit=2').set(as(admin));
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(3);
    expect(all.body.items).toHaveLength(2);
    const editors = await t.api.get('/api/v1/users?role=editor').set(as(admin));
    expect(editors.body.items.map((u: { id: string }) => u.id)).toEqual([editor.id]);
    const search = await t.api.get('/api/v1/users?q=listed-viewer').set(as(admin));
    expect(search.body.total).toBe(1);
    expect(JSON.stringify(all.body)).not.toMatch(/password|\$argon2/i);
  });

  it('is for admins only', async () => {
    const editor = await createAccount(t.api, admin, 'editor', 'not-admin');
    const res = await t.api.get('/api/v1/users').set(as(editor));
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/manage users/);
  });

  it('changes roles and sets a password, ending the user’s sessions', async () => {
    const user = await createAccount(t.api, admin, 'viewer', 'promote');
    const promoted = await t.api.patch(`/api/v1/users/${user.id}`).set(as(admin)).send({ role: 'editor', name: 'Promoted' });
    expect(promoted.body).toMatchObject({ role: 'editor', name: 'Promoted' });
    // A role change takes effect at once, on the existing token.
    expect((await t.api.post('/api/v1/chains').set(as(user)).send({ name: 'Now allowed' })).status).toBe(201);

    const reset = await t.api.patch(`/api/v1/users/${user.id}`).set(as(admin)).send({ password: 'set by the admin' });
    expect(reset.status).toBe(200);
    expect((await t.api.get('/api/v1/auth/me').set(as(user))).status).toBe(401);
    expect((await t.api.post('/api/v1/auth/login').send({ email: user.email, password: 'set by the admin' })).status).toBe(200);
  });

  it('keeps at least one active admin', async () => {
    const demote = await t.api.patch(`/api/v1/users/${admin.id}`).set(as(admin)).send({ role: 'editor' });
    expect(demote.status).toBe(409);
    expect(demote.body.error).toBe('last_admin');
    const disable = await t.api.patch(`/api/v1/users/${admin.id}`).set(as(admin)).send({ status: 'disabled' });
    expect(disable.status).toBe(409);
    const self = await t.api.delete(`/api/v1/users/${admin.id}`).set(as(admin));
    expect(self.status).toBe(409);
    expect(self.body.error).toBe('cannot_delete_self');
  });

  it('deletes a user, passing their chains to the deleting admin and dropping their shares', async () => {
    const leaver = await createAccount(t.api, admin, 'editor', 'leaver');
    const chain = await t.api.post('/api/v1/chains').set(as(leaver)).send({ graph: simpleGraph('leavers-chain') });
    const someone = await createAccount(t.api, admin, 'editor', 'someone');
    const other = await t.api.post('/api/v1/chains').set(as(someone)).send({ graph: simpleGraph('shared-with-leaver') });
    await t.api.post(`/api/v1/chains/${other.body.id}/grants`).set(as(someone)).send({ userId: leaver.id, role: 'editor' });

    expect((await t.api.delete(`/api/v1/users/${leaver.id}`).set(as(admin))).status).toBe(204);
    expect((await t.api.get(`/api/v1/users/${leaver.id}`).set(as(admin))).status).toBe(404);
    const em = t.h.db.orm.em.fork();
    expect((await em.findOneOrFail(ChainSchema, { id: chain.body.id })).ownerId).toBe(admin.id);
    expect(await em.count(GrantSchema, { userId: leaver.id })).toBe(0);
    expect((await t.api.post('/api/v1/auth/login').send({ email: leaver.email, password: PASSWORD })).status).toBe(401);
  });

  it('answers 404 for unknown users and 400 for malformed ids', async () => {
    expect((await t.api.get('/api/v1/users/00000000-0000-4000-8000-000000000000').set(as(admin))).status).toBe(404);
    const bad = await t.api.get('/api/v1/users/42').set(as(admin));
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^params\.id: /);
  });
});

describe('invites', () => {
  it('are listed without their codes and can be withdrawn', async () => {
    const created = await t.api.post('/api/v1/invites').set(as(admin)).send({ role: 'editor', email: uniqueEmail('invitee'), expiresInDays: 3 });
    expect(created.status).toBe(201);
    const list = await t.api.get('/api/v1/invites').set(as(admin));
    expect(JSON.stringify(list.body)).not.toContain(created.body.code);
    expect((await t.api.delete(`/api/v1/invites/${created.body.invite.id}`).set(as(admin))).status).toBe(204);
    expect((await t.api.delete(`/api/v1/invites/${created.body.invite.id}`).set(as(admin))).status).toBe(404);
    const register = await t.api.post('/api/v1/auth/register').send({ email: created.body.invite.email, password: PASSWORD, inviteCode: created.body.code });
    expect(register.status).toBe(403);
  });
});
