import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialError, createCredential, loadCredential, resolveSecrets, rotateCredentials } from '../../db/credential-store.ts';
import { CredentialSchema } from '../../db/credential.ts';
import { createSecretBox } from '../../lib/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../support/stack.ts';

let db: TestDatabase;
const oldKey = { id: 'k1', key: randomBytes(32) };
const newKey = { id: 'k2', key: randomBytes(32) };
const box = createSecretBox([oldKey]);

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

async function rejection(promise: Promise<unknown>): Promise<CredentialError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CredentialError);
  return error as CredentialError;
}

describe('credentials', () => {
  it('are stored encrypted by migration 0002 and read back decrypted', async () => {
    const created = await createCredential(db.orm.em, box, { name: 'weather_key', kind: 'header', value: 'wx-secret-value', meta: { header: 'X-Api-Key' } });
    const rows = await db.orm.em.getConnection().execute<Array<{ encrypted_value: string; meta: unknown; kind: string }>>('select encrypted_value, meta, kind from credential where id = ?', [created.id]);
    expect(rows[0]?.encrypted_value).toMatch(/^v1:k1:/);
    expect(rows[0]?.encrypted_value).not.toContain('wx-secret-value');
    expect(rows[0]).toMatchObject({ kind: 'header', meta: { header: 'X-Api-Key' } });

    expect(await loadCredential(db.orm.em, box, created.id)).toEqual({ id: created.id, name: 'weather_key', kind: 'header', meta: { header: 'X-Api-Key' }, value: 'wx-secret-value' });
    expect((await loadCredential(db.orm.em, box, 'weather_key')).value).toBe('wx-secret-value');
    expect(await resolveSecrets(db.orm.em, box, ['weather_key', 'weather_key'])).toEqual({ weather_key: 'wx-secret-value' });
    expect(await resolveSecrets(db.orm.em, box, [])).toEqual({});
  });

  it('name every missing secret, without values', async () => {
    await createCredential(db.orm.em, box, { name: 'present_one', kind: 'secret', value: 'value-present' });
    const error = await rejection(resolveSecrets(db.orm.em, box, ['present_one', 'absent_a', 'absent_b']));
    expect(error.code).toBe('secret_missing');
    expect(error.message).toContain("'absent_a', 'absent_b'");
    expect(error.message).not.toContain('value-present');
    expect((await rejection(loadCredential(db.orm.em, box, 'ghost'))).code).toBe('credential_missing');
  });

  it('refuse a value moved to another row (the id is authenticated)', async () => {
    const a = await createCredential(db.orm.em, box, { name: 'row_a', kind: 'secret', value: 'value-of-a' });
    const b = await createCredential(db.orm.em, box, { name: 'row_b', kind: 'secret', value: 'value-of-b' });
    const em = db.orm.em.fork();
    const rowB = await em.findOneOrFail(CredentialSchema, { id: b.id });
    rowB.encryptedValue = a.encryptedValue;
    await em.flush();
    const error = await rejection(loadCredential(db.orm.em, box, b.id));
    expect(error.code).toBe('credential_unreadable');
    expect(error.message).toContain("'row_b'");
    expect(error.message).not.toContain('value-of-a');
  });

  it('survive key rotation: old values decrypt, re-encryption moves them to the new key', async () => {
    const created = await createCredential(db.orm.em, box, { name: 'rotated', kind: 'bearer', value: 'rotate-me-please' });
    const rotated = createSecretBox([newKey, oldKey]);
    expect((await loadCredential(db.orm.em, rotated, created.id)).value).toBe('rotate-me-please');

    const outcome = await rotateCredentials(db.orm.em, rotated);
    expect(outcome.rotated).toBeGreaterThan(0);
    // The row tampered with above cannot be decrypted, so it is named, not rotated.
    expect(outcome.failed).toEqual(['row_b']);
    expect(await rotateCredentials(db.orm.em, rotated)).toEqual({ rotated: 0, failed: ['row_b'] });
    const newOnly = createSecretBox([newKey]);
    expect((await loadCredential(db.orm.em, newOnly, created.id)).value).toBe('rotate-me-please');
    expect((await rejection(loadCredential(db.orm.em, box, created.id))).message).toMatch(/key 'k2', which is not configured/);
  });

  it('check names, kinds and meta on creation', async () => {
    const invalid = async (input: Parameters<typeof createCredential>[2]) => (await rejection(createCredential(db.orm.em, box, input))).message;
    expect(await invalid({ name: 'has-dash', kind: 'secret', value: 'long enough' })).toMatch(/secrets\.has_dash/);
    expect(await invalid({ name: 'short', kind: 'secret', value: 'ab' })).toMatch(/at least 4/);
    expect(await invalid({ name: 'hdr', kind: 'header', value: 'long enough' })).toMatch(/meta\.header/);
    expect(await invalid({ name: 'basic_no_user', kind: 'basic', value: 'long enough' })).toMatch(/meta\.username/);
    expect(await invalid({ name: 'bad_url', kind: 'openai', value: 'long enough', meta: { baseUrl: 'ftp://x' } })).toMatch(/baseUrl/);
    await createCredential(db.orm.em, box, { name: 'dupe', kind: 'secret', value: 'long enough' });
    await expect(createCredential(db.orm.em, box, { name: 'dupe', kind: 'secret', value: 'long enough' })).rejects.toThrow(/credential_name_unique/);
  });
});
