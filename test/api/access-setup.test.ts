// Access row 1: exactly one first admin, ever, and only through the one-time setup token
// (or the CLI). Fresh databases per case: the first admin is decided on an empty one.

import { mkdtempSync, readFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.ts';
import { resolveAuthOptions } from '../../api/auth/options.ts';
import { ensureSetupToken, issueSetupToken, setupLink, setupTokenPath } from '../../api/auth/setup.ts';
import { SetupTokenSchema, UserSchema } from '../../db/accounts.ts';
import { createLogger } from '../../lib/logger.ts';
import { createTestDatabase, type TestDatabase } from '../support/stack.ts';
import { checkedAgent, openApiDocument, PASSWORD, startApi, uniqueEmail, type ApiHarness, type CheckedAgent } from './support/api.ts';
import { createResponseValidator } from './support/openapi-check.ts';

let t: ApiHarness;
const dbs: TestDatabase[] = [];

beforeAll(async () => {
  t = await startApi('access-setup');
});
afterAll(async () => {
  for (const db of dbs) await db.drop();
  await t?.close();
});

/** A fresh installation: an empty database and an app on it. */
async function fresh(registration: 'open' | 'invite' | 'closed' = 'invite'): Promise<{ db: TestDatabase; api: CheckedAgent; file: string }> {
  const db = await createTestDatabase();
  dbs.push(db);
  const file = setupTokenPath(mkdtempSync(join(tmpdir(), 'cf-setup-')));
  const auth = resolveAuthOptions({ registration, rateLimitPerMinute: 100_000, setupTokenFile: file });
  const app = createApp({ orm: db.orm, temporal: t.h.client, logger: createLogger('silent', 'test'), taskQueue: t.h.taskQueue, auth });
  return { db, api: checkedAgent(app, createResponseValidator(openApiDocument())), file };
}

const register = (api: CheckedAgent, body: Record<string, unknown> = {}) => api.post('/api/v1/auth/register').send({ email: uniqueEmail('reg'), password: PASSWORD, ...body });
const admins = (db: TestDatabase) => db.orm.em.fork().count(UserSchema, { role: 'admin' });

describe('access row 1: the first admin', () => {
  it('is made exactly once by simultaneous registrations carrying the setup token (the register lock runs in the transaction)', async () => {
    const { db, api } = await fresh('open');
    const setupToken = await issueSetupToken(db.orm.em);
    const results = await Promise.all(Array.from({ length: 4 }, () => register(api, { setupToken })));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(results.map((r) => r.body.user.role).sort()).toEqual(['admin', 'viewer', 'viewer', 'viewer']);
    expect(await admins(db)).toBe(1);
    expect(await db.orm.em.fork().count(SetupTokenSchema, {})).toBe(0);
  });

  it('needs the setup token: without it (even with REGISTRATION=open or closed) a fresh installation answers 403 pointing to the link', async () => {
    for (const mode of ['open', 'closed'] as const) {
      const { db, api, file } = await fresh(mode);
      await issueSetupToken(db.orm.em);
      const status = await api.get('/api/v1/auth/status');
      expect(status.body).toEqual({ registration: mode, needsSetup: true, setupRequiresToken: true });
      const without = await register(api);
      expect(without.status).toBe(403);
      expect(without.body.error).toBe('setup_token_required');
      expect(without.body.message).toContain(file);
      expect(without.body.message).toContain('npm start printed');
      const wrong = await register(api, { setupToken: 'cfs_guessed' });
      expect(wrong.status).toBe(403);
      expect(wrong.body.error).toBe('setup_token_required');
      expect(await db.orm.em.fork().count(UserSchema, {})).toBe(0);
    }
  });

  it('is made with the token written to DATA_DIR/setup-token (0600), which works once and is then removed', async () => {
    const { db, api } = await fresh('invite');
    const dataDir = mkdtempSync(join(tmpdir(), 'cf-data-'));
    const token = await ensureSetupToken(db.orm.em.fork(), dataDir);
    if (!token) throw new Error('no setup token on a fresh installation');
    const file = setupTokenPath(dataDir);
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await ensureSetupToken(db.orm.em.fork(), dataDir)).toBe(token); // a restart prints the same link
    expect(setupLink('http://127.0.0.1:3000/', token)).toBe(`http://127.0.0.1:3000/setup?token=${token}`);
    expect(JSON.stringify(await db.orm.em.fork().find(SetupTokenSchema, {}))).not.toContain(token); // stored hashed

    const first = await register(api, { setupToken: token });
    expect(first.status).toBe(201);
    expect(first.body.user.role).toBe('admin');
    expect((await api.get('/api/v1/auth/status')).body.needsSetup).toBe(false);
    const again = await register(api, { setupToken: token });
    expect(again.status).toBe(403);
    expect(again.body.error).toBe('invite_required');
    expect(await ensureSetupToken(db.orm.em.fork(), dataDir)).toBeNull();
    expect(existsSync(file)).toBe(false);
    expect(await admins(db)).toBe(1);
  });
});
