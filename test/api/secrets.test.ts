// Passwords, tokens, TOTP secrets and invite codes never appear in logs, in the audit log,
// or in responses other than the one that hands them out.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Response } from 'supertest';
import { currentTotp } from '../../api/auth/totp.ts';
import { bearer, captureLogs, setupTokenFor, startApi, uniqueEmail, type ApiHarness, type LogCapture } from './support/api.ts';

let t: ApiHarness;
let logs: LogCapture;

beforeAll(async () => {
  logs = captureLogs();
  t = await startApi('secrets', { logger: logs.logger });
});
afterAll(async () => t?.close());

/** Every response text, with the secrets it was allowed to carry (the ones it issued). */
const responses: Array<{ text: string; issued: string[] }> = [];
const secrets = new Set<string>();

async function record(test: PromiseLike<Response>, issuedKeys: string[] = []): Promise<Response> {
  const res = await test;
  const issued = issuedKeys.map((k) => res.body?.[k]).filter((v): v is string => typeof v === 'string');
  issued.forEach((s) => secrets.add(s));
  responses.push({ text: res.text ?? '', issued });
  return res;
}

const session = ['accessToken', 'refreshToken'];

describe('secrets', () => {
  it('stay out of logs, the audit log and other responses through a whole account life cycle', async () => {
    const passwords = ['first password 1', 'second password 2', 'made by admin 3', 'reset by admin 4', 'in broken json 5'];
    passwords.forEach((p) => secrets.add(p));
    const adminEmail = uniqueEmail('admin');

    const setupToken = await setupTokenFor(t.api);
    secrets.add(setupToken);
    const admin = await record(t.api.post('/api/v1/auth/register').send({ email: adminEmail, password: passwords[0], setupToken }), session);
    const token = () => bearer(admin.body.accessToken);
    const login = await record(t.api.post('/api/v1/auth/login').send({ email: adminEmail, password: passwords[0] }), session);
    await record(t.api.post('/api/v1/auth/login').send({ email: adminEmail, password: `${passwords[0]}x` }));
    const rotated = await record(t.api.post('/api/v1/auth/refresh').send({ refreshToken: login.body.refreshToken }), session);
    await record(t.api.post('/api/v1/auth/refresh').send({ refreshToken: login.body.refreshToken }));
    await record(t.api.post('/api/v1/auth/logout').send({ refreshToken: rotated.body.refreshToken }));

    const changed = await record(t.api.post('/api/v1/auth/password').set(token()).send({ currentPassword: passwords[0], newPassword: passwords[1] }), session);
    admin.body.accessToken = changed.body.accessToken;

    const enrol = await record(t.api.post('/api/v1/auth/totp/enrol').set(token()).send({ password: passwords[1] }), ['secret', 'uri']);
    await record(t.api.post('/api/v1/auth/totp/confirm').set(token()).send({ code: currentTotp(enrol.body.secret) }));
    await record(t.api.post('/api/v1/auth/login').send({ email: adminEmail, password: passwords[1], totp: currentTotp(enrol.body.secret, Date.now() + 30_000) }), session);

    const invite = await record(t.api.post('/api/v1/invites').set(token()).send({ role: 'editor' }), ['code']);
    await record(t.api.post('/api/v1/auth/register').send({ email: uniqueEmail('invited'), password: passwords[2], inviteCode: invite.body.code }), session);
    const created = await record(t.api.post('/api/v1/users').set(token()).send({ email: uniqueEmail('made'), password: passwords[2], role: 'viewer' }));
    await record(t.api.patch(`/api/v1/users/${created.body.id}`).set(token()).send({ password: passwords[3] }));
    await record(t.api.post('/api/v1/auth/login').set('content-type', 'application/json').send(`{"email":"${adminEmail}","password":"${passwords[4]}`));
    await record(t.api.post('/api/v1/auth/login').send({ email: adminEmail, password: passwords[4], extra: passwords[4] }));
    await record(t.api.get('/api/v1/audit?limit=200').set(token()));
    await record(t.api.get('/api/v1/audit/export').set(token()));
    await record(t.api.get('/api/v1/users').set(token()));

    // The capture works: requests are logged.
    expect(logs.text()).toContain('"path":"/api/v1/auth/login"');
    expect(logs.lines.length).toBeGreaterThan(15);

    const audit = JSON.stringify(await t.h.db.orm.em.getConnection().execute('select * from audit_entry'));
    expect(audit).toContain('auth.login_failed');
    for (const secret of secrets) {
      expect(logs.text().includes(secret), `a secret in the logs: ${secret.slice(0, 6)}…`).toBe(false);
      expect(audit.includes(secret), `a secret in the audit log: ${secret.slice(0, 6)}…`).toBe(false);
      for (const r of responses) {
        if (r.issued.includes(secret) || (r.issued.some((i) => i.includes(secret)))) continue;
        expect(r.text.includes(secret), `a secret in a response that did not issue it: ${secret.slice(0, 6)}… in ${r.text.slice(0, 120)}`).toBe(false);
      }
    }
    // And no hash leaks either.
    for (const r of responses) expect(r.text).not.toMatch(/\$argon2|token_?hash|totp_?secret/i);
  });
});
