import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { AuditEntrySchema } from '../../db/accounts.ts';
import { startApi, type ApiHarness } from './support/api.ts';

let t: ApiHarness;
beforeAll(async () => {
  t = await startApi('proxy');
});
afterAll(async () => t?.close());

const failedLoginIps = async (email: string) =>
  (await t.h.db.orm.em.fork().find(AuditEntrySchema, { action: 'auth.login_failed', actorEmail: email })).map((e) => e.ip);

describe('behind a reverse proxy', () => {
  it('records the forwarded client address only when TRUST_PROXY trusts the proxy', async () => {
    const forwarded = { 'x-forwarded-for': '203.0.113.7' };
    // supertest connects from loopback, like nginx on the same host.
    const trusting = t.appWith({}, undefined, { trustProxy: 'loopback' });
    await request(trusting.app).post('/api/v1/auth/login').set(forwarded).send({ email: 'nobody-a@example.com', password: 'wrong password 123' });
    expect(await failedLoginIps('nobody-a@example.com')).toEqual(['203.0.113.7']);

    const distrusting = t.appWith({}, undefined, { trustProxy: 'false' });
    await request(distrusting.app).post('/api/v1/auth/login').set(forwarded).send({ email: 'nobody-b@example.com', password: 'wrong password 123' });
    const [ip] = await failedLoginIps('nobody-b@example.com');
    expect(ip).not.toBe('203.0.113.7');
    expect(ip).toMatch(/127\.0\.0\.1|::1/);
  });
});
