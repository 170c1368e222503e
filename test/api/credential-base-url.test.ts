// Issue 11 row 2, the API half: an `openai` credential whose baseUrl the worker's SSRF
// guard would refuse is refused when it is saved (400 naming the field), unless the
// operator allow-listed the target; nothing is stored on a refusal.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialSchema } from '../../db/credential.ts';
import { bearer, registerAdmin, startApi, type Account, type ApiHarness } from './support/api.ts';

let t: ApiHarness;
let admin: Account;

beforeAll(async () => {
  t = await startApi('credential-base-url');
  admin = await registerAdmin(t.api);
});
afterAll(async () => {
  await t?.close();
});

const count = () => t.h.db.orm.em.fork().count(CredentialSchema, {});

describe('robustness row 2: a credential baseUrl is checked when it is saved', () => {
  it.each([
    ['loopback', 'http://127.0.0.1:11434/v1', /127\.0\.0\.1 is a loopback address/],
    ['loopback in another spelling', 'http://0x7f.1:8080/v1', /loopback/],
    ['localhost by name', 'http://localhost:8000/v1', /resolves to .*loopback/],
    ['cloud metadata', 'http://169.254.169.254/latest', /cloud metadata/],
    ['a private range', 'https://10.1.2.3/v1', /private/],
    ['user info', 'https://user:pw@api.example.com/v1', /user name or password/],
  ])('refuses %s on create and on update, changing nothing', async (_label, baseUrl, message) => {
    const before = await count();
    const created = await t.api.post('/api/v1/credentials').set(bearer(admin.token)).send({ name: `llm_${before}`, kind: 'openai', value: 'sk-some-key-1234', meta: { baseUrl } });
    expect(created.status, created.text).toBe(400);
    expect(created.body).toMatchObject({ error: 'invalid_credential', details: { field: 'body.meta.baseUrl' } });
    expect(created.body.message).toMatch(message);
    expect(created.body.message).toMatch(/^body\.meta\.baseUrl: /);
    expect(await count()).toBe(before);
  });

  it('refuses a private baseUrl on update and keeps the old one', async () => {
    const created = await t.api.post('/api/v1/credentials').set(bearer(admin.token)).send({ name: 'public_llm', kind: 'openai', value: 'sk-some-key-1234', meta: { baseUrl: 'https://api.openai.com/v1' } });
    expect(created.status, created.text).toBe(201);
    const updated = await t.api.patch(`/api/v1/credentials/${created.body.id}`).set(bearer(admin.token)).send({ meta: { baseUrl: 'http://[::1]:9000/v1' } });
    expect(updated.status, updated.text).toBe(400);
    expect(updated.body).toMatchObject({ error: 'invalid_credential', details: { field: 'body.meta.baseUrl' } });
    const row = await t.h.db.orm.em.fork().findOneOrFail(CredentialSchema, { id: created.body.id });
    expect(row.meta).toEqual({ baseUrl: 'https://api.openai.com/v1' });
  });

  it('accepts a private target the operator allow-listed (HTTP_ALLOW_PRIVATE)', async () => {
    const allowed = t.appWith({}, undefined, { httpAllowPrivate: ['127.0.0.1/32'] });
    const created = await allowed.api.post('/api/v1/credentials').set(bearer(admin.token)).send({ name: 'local_llm', kind: 'openai', value: 'sk-some-key-1234', meta: { baseUrl: 'http://127.0.0.1:11434/v1' } });
    expect(created.status, created.text).toBe(201);
  });
});
