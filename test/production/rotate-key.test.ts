import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpContext } from '../../api/auth/service.ts';
import { UserSchema } from '../../db/accounts.ts';
import { BotSchema, botSecretContext } from '../../db/bots.ts';
import { CredentialSchema } from '../../db/credential.ts';
import { createCredential, loadCredential } from '../../db/credential-store.ts';
import { createSecretBox } from '../../lib/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../support/stack.ts';
import { runCli } from './support.ts';

let db: TestDatabase;
let dir: string;
const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const oldKey = key('k1');
const newKey = key('k2');
const TOTP = 'JBSWY3DPEHPK3PXP';
const BOT_TOKEN = '123456:AAH-test-token-not-real';

const rotate = (keyList: string) => runCli(['rotate-key'], { cwd: dir, env: { DATABASE_URL: db.url, DATA_DIR: join(dir, 'data'), CHAINFLOW_SECRET_KEY: keyList } });

async function storedValues(): Promise<string[]> {
  const em = db.orm.em.fork();
  const credentials = (await em.find(CredentialSchema, {}, { orderBy: { name: 'asc' } })).map((c) => c.encryptedValue);
  const totp = (await em.find(UserSchema, { totpSecret: { $ne: null } })).map((u) => u.totpSecret ?? '');
  const bots = (await em.find(BotSchema, {})).map((b) => b.encryptedSecret);
  return [...credentials, ...totp, ...bots];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chainflow-rotate-'));
  chmodSync(dir, 0o755);
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('chainflow rotate-key', () => {
  it('re-encrypts credentials, TOTP secrets and bot tokens with the first key, so the old key can be dropped', async () => {
    const old = createSecretBox(oldKey);
    await createCredential(db.orm.em, old, { name: 'openaiKey', kind: 'openai', value: 'sk-old-key-1234' });
    await createCredential(db.orm.em, old, { name: 'partner', kind: 'basic', value: 'pa55word', meta: { username: 'chainflow' } });
    const userId = randomUUID();
    const em = db.orm.em.fork();
    em.create(UserSchema, { id: userId, email: 'totp@example.test', passwordHash: '$argon2id$placeholder', role: 'admin', totpSecret: old.encrypt(TOTP, totpContext(userId)), totpEnabled: true });
    const botId = randomUUID();
    em.create(BotSchema, { id: botId, name: 'Support bot', kind: 'telegram_bot', encryptedSecret: old.encrypt(BOT_TOKEN, botSecretContext(botId)), telegramId: '123456' });
    await em.flush();
    expect((await storedValues()).every((v) => v.startsWith('v1:k1:'))).toBe(true);

    const result = await rotate(`${newKey},${oldKey}`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("current key 'k2'");
    expect(result.stdout).toContain('credential: 2 re-encrypted');
    expect(result.stdout).toContain('TOTP secret: 1 re-encrypted');
    expect(result.stdout).toContain('bot secret: 1 re-encrypted');
    expect(result.stdout).toContain("Every secret now uses key 'k2'");
    expect((await storedValues()).every((v) => v.startsWith('v1:k2:'))).toBe(true);

    // The new key alone decrypts everything; the old key alone no longer does.
    const onlyNew = createSecretBox(newKey);
    expect((await loadCredential(db.orm.em, onlyNew, 'openaiKey')).value).toBe('sk-old-key-1234');
    expect((await loadCredential(db.orm.em, onlyNew, 'partner')).value).toBe('pa55word');
    const user = await db.orm.em.fork().findOneOrFail(UserSchema, { id: userId });
    expect(onlyNew.decrypt(user.totpSecret ?? '', totpContext(userId))).toBe(TOTP);
    const bot = await db.orm.em.fork().findOneOrFail(BotSchema, { id: botId });
    expect(onlyNew.decrypt(bot.encryptedSecret, botSecretContext(botId))).toBe(BOT_TOKEN);
    await expect(loadCredential(db.orm.em, old, 'openaiKey')).rejects.toThrow(/uses key 'k2', which is not configured/);

    // Running it again changes nothing.
    const before = await storedValues();
    const again = await rotate(newKey);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('credential: 0 re-encrypted');
    expect(await storedValues()).toEqual(before);
  });

  it('names the values no configured key decrypts, rotates the rest and fails', async () => {
    const lost = createSecretBox(key('k0'));
    await createCredential(db.orm.em, lost, { name: 'lostKeyValue', kind: 'secret', value: 'nobody-can-read' });
    await createCredential(db.orm.em, createSecretBox(oldKey), { name: 'stillOld', kind: 'secret', value: 'readable' });

    const result = await rotate(`${newKey},${oldKey}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/1 value\(s\) did not decrypt with any configured key and were left as they are: credential 'lostKeyValue'\. Add the key they were encrypted with to CHAINFLOW_SECRET_KEY/);
    expect(result.stderr).not.toContain('nobody-can-read');
    expect((await loadCredential(db.orm.em, createSecretBox(newKey), 'stillOld')).value).toBe('readable');
  });
});
