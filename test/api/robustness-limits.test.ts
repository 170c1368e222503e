// Robustness row 9: the public routes are rate-limited per client and per chain, counted
// in PostgreSQL so every API replica shares the counters; lock-out and the TOTP replay
// check hold against parallel requests. "Two replicas" are two apps on one database.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedExamples } from '../../cli/seed.ts';
import { ChainSchema } from '../../db/entities.ts';
import { AuditEntrySchema, UserSchema } from '../../db/accounts.ts';
import { cleanRateLimits, RateLimitSchema } from '../../db/rate-limits.ts';
import { currentTotp } from '../../api/auth/totp.ts';
import { bearer, createAccount, PASSWORD, registerAdmin, startApi, uniqueEmail, type Account, type ApiHarness, type CheckedAgent } from './support/api.ts';

let t: ApiHarness;
let admin: Account;
let greeting: { id: string; slug: string };

const em = () => t.h.db.orm.em.fork();
/** A client address of its own per test (the test apps trust loopback proxies, as production trusts TRUST_PROXY). */
let nextAddress = 1;
const address = () => `198.51.100.${nextAddress++}`;
/** An hour-long window: nothing refills while a test runs, so the counts are exact. */
const perHour = (limit: number) => ({ limit, windowSeconds: 3600 });

beforeAll(async () => {
  t = await startApi('robust_limits');
  await seedExamples(t.h.db.orm);
  admin = await registerAdmin(t.api);
  const chain = await em().findOneOrFail(ChainSchema, { slug: 'greeting' });
  greeting = { id: chain.id, slug: chain.slug };
}, 120_000);
afterAll(async () => t?.close());

/** Sends `n` requests at once, alternating between the apps; returns their statuses and answers. */
async function fire(n: number, apps: CheckedAgent[], send: (api: CheckedAgent, i: number) => PromiseLike<{ status: number; headers: Record<string, string>; body: { error?: string; message?: string } }>) {
  return Promise.all(Array.from({ length: n }, (_, i) => send(apps[i % apps.length]!, i)));
}
const count = (results: { status: number }[], status: number) => results.filter((r) => r.status === status).length;

function expectRefusals(results: { status: number; headers: Record<string, string>; body: { error?: string; message?: string } }[], windowSeconds: number, what: RegExp) {
  for (const r of results.filter((x) => x.status === 429)) {
    expect(r.body.error).toBe('rate_limited');
    expect(r.body.message).toMatch(what);
    const retry = Number(r.headers['retry-after']);
    expect(Number.isInteger(retry)).toBe(true);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(windowSeconds);
  }
}

describe('robustness row 9: rate limits shared by every API replica', () => {
  it('robustness row 9: 150 parallel web-chat messages from one client pass the per-client limit exactly, across two apps', async () => {
    const rateLimits = { chatClient: perHour(12) };
    const apps = [t.appWith({}, undefined, { rateLimits }).api, t.appWith({}, undefined, { rateLimits }).api];
    const from = address();
    const results = await fire(150, apps, (api, i) => api.post(`/api/v1/chat/greeting/rl-client-${i}/messages`).set('x-forwarded-for', from).send({ id: `m${i}`, text: 'hi' }));
    expect(count(results, 429)).toBe(150 - 12);
    expect(count(results, 200)).toBe(12);
    expectRefusals(results, 3600, /web-chat requests from this address \(more than 12 an hour\)/);
    // Another client still gets through.
    const other = await apps[0]!.get('/api/v1/chat/greeting/rl-client-0/messages').set('x-forwarded-for', address());
    expect(other.status).not.toBe(429);
  }, 120_000);

  it('robustness row 9: the per-chain limit counts every client, by id and by slug alike, across two apps', async () => {
    const rateLimits = { chatChain: perHour(15) };
    const apps = [t.appWith({}, undefined, { rateLimits }).api, t.appWith({}, undefined, { rateLimits }).api];
    const results = await fire(60, apps, (api, i) =>
      api
        .get(`/api/v1/chat/${i % 3 === 0 ? greeting.id.toUpperCase() : i % 3 === 1 ? greeting.id : greeting.slug}/rl-chain-${i}/messages`)
        .set('x-forwarded-for', address()),
    );
    expect(count(results, 200)).toBe(15);
    expect(count(results, 429)).toBe(45);
    expectRefusals(results, 3600, /web-chat requests to this chain/);
  });

  it('robustness row 9: webhook triggers are limited per client and per chain', async () => {
    const rateLimits = { hookClient: perHour(4), hookChain: perHour(9) };
    const apps = [t.appWith({}, undefined, { rateLimits }).api, t.appWith({}, undefined, { rateLimits }).api];
    const from = address();
    const oneClient = await fire(20, apps, (api) => api.post(`/api/v1/hooks/${greeting.slug}/no-such-hook`).set('x-forwarded-for', from).set('content-type', 'application/json').send('{}'));
    expect(count(oneClient, 404)).toBe(4);
    expect(count(oneClient, 429)).toBe(16);
    expectRefusals(oneClient, 3600, /webhook calls from this address/);
    // Other clients share the chain's budget: 9 in all, 4 of them used above.
    const many = await fire(20, apps, (api) => api.post(`/api/v1/hooks/${greeting.id}/no-such-hook`).set('x-forwarded-for', address()).set('content-type', 'application/json').send('{}'));
    expect(count(many, 404)).toBe(5);
    expect(count(many, 429)).toBe(15);
    expectRefusals(many, 3600, /webhook calls to this chain/);
  });

  it('robustness row 9: the sign-in limit is shared by two apps on one database', async () => {
    const apps = [t.appWith({ rateLimitPerMinute: 5 }).api, t.appWith({ rateLimitPerMinute: 5 }).api];
    const from = address();
    const results = await fire(20, apps, (api) => api.post('/api/v1/auth/login').set('x-forwarded-for', from).send({ email: uniqueEmail('nobody'), password: 'whatever-it-is' }));
    expect(count(results, 401)).toBe(5);
    expect(count(results, 429)).toBe(15);
    expectRefusals(results, 60, /sign-in requests from this address/);
  });

  it('robustness row 9: parallel wrong passwords cannot pass LOGIN_MAX_FAILURES before the lock-out', async () => {
    const user = await createAccount(t.api, admin, 'editor', 'parallel-guess');
    const apps = [t.appWith({ maxFailedLogins: 5 }).api, t.appWith({ maxFailedLogins: 5 }).api];
    const results = await fire(24, apps, (api, i) => api.post('/api/v1/auth/login').set('x-forwarded-for', address()).send({ email: user.email, password: `wrong-guess-${i}` }));
    expect(count(results, 401)).toBe(4);
    expect(count(results, 423)).toBe(20);
    const audits = await em().find(AuditEntrySchema, { targetId: user.id, action: { $in: ['auth.login_failed', 'auth.locked'] } });
    const reasons = audits.filter((a) => a.action === 'auth.login_failed').map((a) => (a.summary as { reason: string }).reason);
    // Exactly five passwords were checked; every other attempt was refused unchecked.
    expect(reasons.filter((r) => r === 'bad_password')).toHaveLength(5);
    expect(reasons.filter((r) => r === 'locked')).toHaveLength(19);
    expect(audits.filter((a) => a.action === 'auth.locked')).toHaveLength(1);
    const row = await em().findOneOrFail(UserSchema, { id: user.id });
    expect(row.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 10 * 60_000);
    // The right password is refused while locked.
    expect((await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD })).status).toBe(423);
  }, 120_000);

  it('robustness row 9: one TOTP code signs in once, even sent ten times in parallel', async () => {
    const user = await createAccount(t.api, admin, 'editor', 'parallel-totp');
    const enrol = await t.api.post('/api/v1/auth/totp/enrol').set(bearer(user.token)).send({ password: PASSWORD });
    const secret = String(enrol.body.secret);
    const confirmedAt = Date.now();
    expect((await t.api.post('/api/v1/auth/totp/confirm').set(bearer(user.token)).send({ code: currentTotp(secret, confirmedAt) })).status).toBe(200);
    const code = currentTotp(secret, confirmedAt + 30_000);
    const apps = [t.appWith({ maxFailedLogins: 100 }).api, t.appWith({ maxFailedLogins: 100 }).api];
    const results = await fire(10, apps, (api) => api.post('/api/v1/auth/login').set('x-forwarded-for', address()).send({ email: user.email, password: PASSWORD, totp: code }));
    expect(count(results, 200)).toBe(1);
    expect(results.filter((r) => r.status === 401).map((r) => r.body.error)).toEqual(Array(9).fill('totp_invalid'));
  }, 120_000);

  it('robustness row 9: parallel TOTP confirmations and disables each take effect once', async () => {
    const user = await createAccount(t.api, admin, 'editor', 'parallel-totp-confirm');
    const enrol = await t.api.post('/api/v1/auth/totp/enrol').set(bearer(user.token)).send({ password: PASSWORD });
    const secret = String(enrol.body.secret);
    const confirmedAt = Date.now();
    const code = currentTotp(secret, confirmedAt);
    const apps = [t.appWith({}).api, t.appWith({}).api];
    const confirms = await fire(10, apps, (api) => api.post('/api/v1/auth/totp/confirm').set('x-forwarded-for', address()).set(bearer(user.token)).send({ code }));
    expect(count(confirms, 200)).toBe(1);
    expect(confirms.filter((r) => r.status !== 200).map((r) => [r.status, r.body.error])).toEqual(Array(9).fill([409, 'totp_enabled']));
    const enabled = await em().find(AuditEntrySchema, { targetId: user.id, action: 'auth.totp_enable' });
    expect(enabled).toHaveLength(1);
    // The confirmation consumed its step: the same code cannot sign in.
    expect((await t.api.post('/api/v1/auth/login').send({ email: user.email, password: PASSWORD, totp: code })).body.error).toBe('totp_invalid');

    // The code of the step before (still valid) turns it off exactly once.
    const previous = currentTotp(secret, confirmedAt - 30_000);
    const disables = await fire(10, apps, (api) =>
      api.post('/api/v1/auth/totp/disable').set('x-forwarded-for', address()).set(bearer(user.token)).send({ password: PASSWORD, code: previous }),
    );
    expect(count(disables, 200)).toBe(1);
    // The losers either saw it still on and lost the UPDATE (400) or saw it already off (409).
    for (const r of disables.filter((x) => x.status !== 200)) expect([400, 409]).toContain(r.status);
    expect(await em().find(AuditEntrySchema, { targetId: user.id, action: 'auth.totp_disable' })).toHaveLength(1);
    const row = await em().findOneOrFail(UserSchema, { id: user.id });
    expect(row.totpEnabled).toBe(false);
    expect(row.totpSecret).toBeNull();
  }, 120_000);

  it('robustness row 9: expired counters are cleaned', async () => {
    await em().getConnection().execute(`insert into rate_limit (key, tat) values ('test:stale', now() - interval '1 hour'), ('test:live', now() + interval '1 hour')`);
    expect(await cleanRateLimits(em())).toBeGreaterThanOrEqual(1);
    const keys = (await em().find(RateLimitSchema, { key: { $like: 'test:%' } })).map((r) => r.key);
    expect(keys).toEqual(['test:live']);
  });
});
