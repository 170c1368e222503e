import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedExamples } from '../../cli/seed.ts';
import { ChainSchema } from '../../db/entities.ts';
import { RefreshTokenSchema, UserSchema } from '../../db/accounts.ts';
import { currentTotp } from '../../api/auth/totp.ts';
import { totpContext } from '../../api/auth/service.ts';
import { eventually } from '../support/poll.ts';
import { bearer, createAccount, PASSWORD, registerAdmin, signIn, startApi, uniqueEmail, type Account, type ApiHarness } from './support/api.ts';

let t: ApiHarness;
let admin: Account;

beforeAll(async () => {
  t = await startApi('auth');
  await seedExamples(t.h.db.orm);
  admin = await registerAdmin(t.api);
});
afterAll(async () => t?.close());

const em = () => t.h.db.orm.em.fork();

describe('registration', () => {
  it('makes the first account an admin that owns the seeded example chains', async () => {
    expect(admin.role).toBe('admin');
    const greeting = await em().findOneOrFail(ChainSchema, { slug: 'greeting' });
    expect(greeting.ownerId).toBe(admin.id);
    const me = await t.api.get('/api/v1/auth/me').set(bearer(admin.token));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ email: admin.email, role: 'admin', status: 'active', totpEnabled: false });
  });

  it('stores passwords as argon2id hashes, never as given', async () => {
    const user = await em().findOneOrFail(UserSchema, { id: admin.id });
    expect(user.passwordHash).toMatch(/^\$argon2id\$/);
    expect(user.passwordHash).not.toContain(PASSWORD);
  });

  it('gives later self-registered accounts the viewer role when registration is open', async () => {
    const res = await t.api.post('/api/v1/auth/register').send({ email: uniqueEmail('open'), password: PASSWORD });
    expect(res.status).toBe(201);
    expect(res.body.user.role).toBe('viewer');
    const status = await t.api.get('/api/v1/auth/status');
    expect(status.body).toEqual({ registration: 'open', needsSetup: false, setupRequiresToken: true });
  });

  it('refuses a taken e-mail with 409, whatever its case', async () => {
    const res = await t.api.post('/api/v1/auth/register').send({ email: admin.email.toUpperCase(), password: PASSWORD });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('email_taken');
  });

  it('needs an admin-made invite code when registration is invite-only, and gives its role', async () => {
    const { api } = t.appWith({ registration: 'invite' });
    const without = await api.post('/api/v1/auth/register').send({ email: uniqueEmail('x'), password: PASSWORD });
    expect(without.status).toBe(403);
    expect(without.body.error).toBe('invite_required');

    const invite = await api.post('/api/v1/invites').set(bearer(admin.token)).send({ role: 'viewer' });
    expect(invite.status).toBe(201);
    expect(invite.body.code).toMatch(/^cfi_/);
    const email = uniqueEmail('invited');
    const registered = await api.post('/api/v1/auth/register').send({ email, password: PASSWORD, inviteCode: invite.body.code });
    expect(registered.status).toBe(201);
    expect(registered.body.user.role).toBe('viewer');

    const reused = await api.post('/api/v1/auth/register').send({ email: uniqueEmail('again'), password: PASSWORD, inviteCode: invite.body.code });
    expect(reused.status).toBe(403);
    expect(reused.body.error).toBe('invite_invalid');

    const listed = await api.get('/api/v1/invites').set(bearer(admin.token));
    expect(listed.body.items.find((i: { id: string }) => i.id === invite.body.invite.id)).toMatchObject({ usedBy: registered.body.user.id });
  });

  it('binds an invite made for an address to that address', async () => {
    const { api } = t.appWith({ registration: 'invite' });
    const email = uniqueEmail('bound');
    const invite = await api.post('/api/v1/invites').set(bearer(admin.token)).send({ role: 'editor', email });
    const other = await api.post('/api/v1/auth/register').send({ email: uniqueEmail('other'), password: PASSWORD, inviteCode: invite.body.code });
    expect(other.status).toBe(403);
    const right = await api.post('/api/v1/auth/register').send({ email, password: PASSWORD, inviteCode: invite.body.code });
    expect(right.status).toBe(201);
  });

  it('refuses everyone when registration is closed; admins still create accounts', async () => {
    const { api } = t.appWith({ registration: 'closed' });
    const res = await api.post('/api/v1/auth/register').send({ email: uniqueEmail('closed'), password: PASSWORD });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('registration_closed');
    const created = await createAccount(api, admin, 'viewer', 'made-by-admin');
    expect(created.role).toBe('viewer');
  });
});

describe('sign-in', () => {
  it('answers wrong passwords and unknown addresses alike with 401', async () => {
    const wrong = await t.api.post('/api/v1/auth/login').send({ email: admin.email, password: 'not the password' });
    const unknown = await t.api.post('/api/v1/auth/login').send({ email: uniqueEmail('nobody'), password: 'whatever' });
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error).toBe('invalid_credentials');
  });

  it('locks an account after 5 failures in a row for 15 minutes, even for the right password', async () => {
    const user = await createAccount(t.api, admin, 'editor', 'lockme');
    for (let i = 1; i <= 4; i++) {
      const res = await t.api.post('/api/v1/auth/login').send({ email: user.email, password: `wrong-${i}` });
      expect(res.status).toBe(401);
    }
    const fifth = await t.api.post('/api/v1/auth/login').send({ email: user.email, password: 'wrong-5' });
    expect(fifth.status).toBe(423);
    expect(fifth.body.error).toBe('account_locked');
    const lockedUntil = new Date(fifth.body.details.lockedUntil).getTime();
    const expected = Date.now() + 15 * 60 * 1000;
    expect(Math.abs(lockedUntil - expected)).toBeLessThan(60_000);

    const right = await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD });
    expect(right.status).toBe(423);

    // Once the lock has run out (moved into the past here), the right password works again.
    await em().nativeUpdate(UserSchema, { id: user.id }, { lockedUntil: new Date(Date.now() - 1000) });
    const after = await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD });
    expect(after.status).toBe(200);
  });

  it('lets an admin lift a lock-out', async () => {
    const user = await createAccount(t.api, admin, 'editor', 'unlockme');
    for (let i = 0; i < 5; i++) await t.api.post('/api/v1/auth/login').send({ email: user.email, password: 'nope-nope' });
    const locked = await t.api.get(`/api/v1/users/${user.id}`).set(bearer(admin.token));
    expect(locked.body.lockedUntil).not.toBeNull();
    const unlocked = await t.api.patch(`/api/v1/users/${user.id}`).set(bearer(admin.token)).send({ unlock: true });
    expect(unlocked.status).toBe(200);
    expect(unlocked.body.lockedUntil).toBeNull();
    expect((await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD })).status).toBe(200);
  });

  it('rate-limits the sign-in routes per address with 429', async () => {
    const { api } = t.appWith({ rateLimitPerMinute: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.post('/api/v1/auth/login').send({ email: uniqueEmail('rl'), password: 'whatever' })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const limited = await api.post('/api/v1/auth/login').send({ email: uniqueEmail('rl'), password: 'whatever' });
    expect(limited.body.error).toBe('rate_limited');
    // Routes outside sign-in are not limited.
    expect((await api.get('/api/v1/auth/me').set(bearer(admin.token))).status).toBe(200);
  });

  it('refuses a disabled account, and ends its access tokens at once', async () => {
    const user = await createAccount(t.api, admin, 'editor', 'disable-me');
    expect((await t.api.get('/api/v1/auth/me').set(bearer(user.token))).status).toBe(200);
    await t.api.patch(`/api/v1/users/${user.id}`).set(bearer(admin.token)).send({ status: 'disabled' });
    const me = await t.api.get('/api/v1/auth/me').set(bearer(user.token));
    expect(me.status).toBe(401);
    const login = await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD });
    expect(login.status).toBe(403);
    expect(login.body.error).toBe('account_disabled');
  });

  it('refuses tokens signed with another secret, and garbage', async () => {
    const { api } = t.appWith({ jwtSecret: 'another-secret-another-secret-another-secret' });
    const other = await api.get('/api/v1/auth/me').set(bearer(admin.token));
    expect(other.status).toBe(401);
    expect(other.body.error).toBe('token_invalid');
    const garbage = await t.api.get('/api/v1/auth/me').set({ Authorization: 'Bearer nonsense' });
    expect(garbage.status).toBe(401);
    const basic = await t.api.get('/api/v1/auth/me').set({ Authorization: 'Basic YTpi' });
    expect(basic.status).toBe(401);
  });

  it('expires access tokens after ACCESS_TOKEN_TTL', async () => {
    const { api } = t.appWith({ accessTokenTtlSeconds: 1 });
    const user = await signIn(api, admin.email);
    // The token's exp is a whole second at most one second away; wait for the server to see it pass.
    const res = await eventually(async () => {
      const r = await api.get('/api/v1/auth/me').set(bearer(user.token));
      return r.status === 401 ? r : undefined;
    }, 'the token to expire');
    expect(res.body.error).toBe('token_expired');
  });
});

describe('refresh tokens', () => {
  it('rotate: each refresh answers a new pair and the old refresh token stops working', async () => {
    const user = await signIn(t.api, admin.email);
    const first = await t.api.post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(user.refreshToken);
    expect((await t.api.get('/api/v1/auth/me').set(bearer(first.body.accessToken))).status).toBe(200);
    const second = await t.api.post('/api/v1/auth/refresh').send({ refreshToken: first.body.refreshToken });
    expect(second.status).toBe(200);
  });

  it('revoke the whole family when a used refresh token comes back (reuse detection)', async () => {
    const user = await signIn(t.api, admin.email);
    const rotated = await t.api.post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken });
    expect(rotated.status).toBe(200);

    // The old token again: a thief or a replay. The session it belongs to ends.
    const reuse = await t.api.post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error).toBe('refresh_token_reused');

    // The legitimate newest token is revoked with it.
    const legit = await t.api.post('/api/v1/auth/refresh').send({ refreshToken: rotated.body.refreshToken });
    expect(legit.status).toBe(401);
    expect(legit.body.error).toBe('refresh_token_revoked');

    const rows = await em().find(RefreshTokenSchema, { userId: admin.id });
    const family = rows.filter((r) => r.familyId === rows.find((x) => x.revokedAt && x.usedAt)?.familyId);
    expect(family.length).toBeGreaterThanOrEqual(2);
    expect(family.every((r) => r.revokedAt !== null)).toBe(true);

    // Other sign-ins of the same user are not affected.
    expect((await t.api.post('/api/v1/auth/refresh').send({ refreshToken: (await signIn(t.api, admin.email)).refreshToken })).status).toBe(200);
  });

  it('stores refresh tokens only as SHA-256 hashes', async () => {
    const user = await signIn(t.api, admin.email);
    const rows = await em().getConnection().execute<{ token_hash: string }[]>(`select token_hash from refresh_token`);
    expect(rows.some((r) => r.token_hash === user.refreshToken)).toBe(false);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.token_hash))).toBe(true);
  });

  it('end with logout, idempotently', async () => {
    const user = await signIn(t.api, admin.email);
    expect((await t.api.post('/api/v1/auth/logout').send({ refreshToken: user.refreshToken })).status).toBe(204);
    expect((await t.api.post('/api/v1/auth/logout').send({ refreshToken: user.refreshToken })).status).toBe(204);
    const refreshed = await t.api.post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken });
    expect(refreshed.status).toBe(401);
  });

  it('are refused when expired', async () => {
    const user = await signIn(t.api, admin.email);
    await em().getConnection().execute(`update refresh_token set expires_at = now() - interval '1 minute' where used_at is null and revoked_at is null and user_id = ?`, [admin.id]);
    const res = await t.api.post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('refresh_token_expired');
  });
});

describe('password change', () => {
  it('needs the current password, then ends every other session', async () => {
    const user = await createAccount(t.api, admin, 'editor', 'pw');
    const other = await signIn(t.api, user.email);
    const wrong = await t.api.post('/api/v1/auth/password').set(bearer(user.token)).send({ currentPassword: 'not it at all', newPassword: 'a brand new password' });
    expect(wrong.status).toBe(403);
    expect(wrong.body.details).toEqual({ field: 'currentPassword' });

    const changed = await t.api.post('/api/v1/auth/password').set(bearer(user.token)).send({ currentPassword: PASSWORD, newPassword: 'a brand new password' });
    expect(changed.status).toBe(200);
    expect((await t.api.get('/api/v1/auth/me').set(bearer(changed.body.accessToken))).status).toBe(200);
    expect((await t.api.get('/api/v1/auth/me').set(bearer(other.token))).status).toBe(401);
    expect((await t.api.post('/api/v1/auth/refresh').send({ refreshToken: other.refreshToken })).status).toBe(401);
    expect((await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD })).status).toBe(401);
    expect((await t.api.post('/api/v1/auth/login').send({ email: user.email, password: 'a brand new password' })).status).toBe(200);
  });
});

describe('two-factor authentication (TOTP)', () => {
  it('enrols, confirms, then requires a fresh code at every sign-in', async () => {
    const user = await createAccount(t.api, admin, 'editor', 'totp');
    const enrol = await t.api.post('/api/v1/auth/totp/enrol').set(bearer(user.token)).send({ password: PASSWORD });
    expect(enrol.status).toBe(200);
    const secret: string = enrol.body.secret;
    expect(enrol.body.uri).toMatch(/^otpauth:\/\/totp\/Chainflow:/);

    // Not active before confirmation.
    expect((await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD })).status).toBe(200);
    const badConfirm = await t.api.post('/api/v1/auth/totp/confirm').set(bearer(user.token)).send({ code: '000000' === currentTotp(secret) ? '111111' : '000000' });
    expect(badConfirm.status).toBe(400);
    const confirmCode = currentTotp(secret);
    const confirm = await t.api.post('/api/v1/auth/totp/confirm').set(bearer(user.token)).send({ code: confirmCode });
    expect(confirm.status).toBe(200);
    expect(confirm.body.totpEnabled).toBe(true);

    const noCode = await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD });
    expect(noCode.status).toBe(401);
    expect(noCode.body.error).toBe('totp_required');

    // The code used for the confirmation cannot be used again; the next one works.
    const replay = await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD, totp: confirmCode });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('totp_invalid');
    const loginAt = Date.now();
    const next = currentTotp(secret, loginAt + 30_000);
    const ok = await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD, totp: next });
    expect(ok.status).toBe(200);

    // The secret is encrypted at rest.
    const row = await em().findOneOrFail(UserSchema, { id: user.id });
    expect(row.totpSecret).toMatch(/^v1:/);
    expect(row.totpSecret).not.toContain(secret);
    expect(t.h.secretBox.decrypt(row.totpSecret!, totpContext(user.id))).toBe(secret);

    // Any valid code but the last one used turns it off (the one before the sign-in's).
    const disable = await t.api.post('/api/v1/auth/totp/disable').set(bearer(ok.body.accessToken)).send({ password: PASSWORD, code: currentTotp(secret, loginAt) });
    expect(disable.status).toBe(200);
    expect(disable.body.totpEnabled).toBe(false);
    expect((await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD })).status).toBe(200);
  });

  it('counts wrong codes towards the lock-out', async () => {
    const user = await createAccount(t.api, admin, 'editor', 'totp-lock');
    const enrol = await t.api.post('/api/v1/auth/totp/enrol').set(bearer(user.token)).send({ password: PASSWORD });
    await t.api.post('/api/v1/auth/totp/confirm').set(bearer(user.token)).send({ code: currentTotp(enrol.body.secret) });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD, totp: '999999' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 423]);
  });

  it('lets an admin reset a lost device', async () => {
    const user = await createAccount(t.api, admin, 'editor', 'totp-reset');
    const enrol = await t.api.post('/api/v1/auth/totp/enrol').set(bearer(user.token)).send({ password: PASSWORD });
    await t.api.post('/api/v1/auth/totp/confirm').set(bearer(user.token)).send({ code: currentTotp(enrol.body.secret) });
    const reset = await t.api.patch(`/api/v1/users/${user.id}`).set(bearer(admin.token)).send({ resetTotp: true });
    expect(reset.body.totpEnabled).toBe(false);
    expect((await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD })).status).toBe(200);
  });
});
