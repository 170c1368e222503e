// `chainflow user create | reset-password | list` as real processes against a real
// database: prompt-free accounts for provisioning and for locked-out admins.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../api/auth/passwords.ts';
import { AuditEntrySchema, RefreshTokenSchema, SetupTokenSchema, UserSchema } from '../../db/accounts.ts';
import { ensureSetupToken, setupTokenPath } from '../../api/auth/setup.ts';
import { ChainSchema } from '../../db/entities.ts';
import { createTestDatabase, type TestDatabase } from '../support/stack.ts';

const BIN = fileURLToPath(new URL('../../bin/chainflow.js', import.meta.url));
let db: TestDatabase;
let dir: string;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function chainflow(...args: string[]): Promise<Result> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', LOG_LEVEL: 'warn', DATABASE_URL: db.url, DATA_DIR: join(dir, 'data') };
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

const user = (email: string) => db.orm.em.fork().findOneOrFail(UserSchema, { email });
const printedPassword = (stdout: string) => /^password: (\S+)$/m.exec(stdout)?.[1];

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'chainflow-user-'));
});
afterAll(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('chainflow user', () => {
  it('refuses a first account that is not an admin', async () => {
    const res = await chainflow('user', 'create', '--email', 'viewer-first@example.com', '--role', 'viewer');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/first account must be an admin/);
    expect(await db.orm.em.fork().count(UserSchema, {})).toBe(0);
  });

  it('creates the first admin with a generated password printed once, who then owns the unowned chains (access row 1: and the setup link stops working)', async () => {
    const em = db.orm.em.fork();
    em.create(ChainSchema, { id: randomUUID(), slug: 'seeded-example', name: 'Seeded', draftGraph: {}, ownerId: null });
    await em.flush();
    const setupToken = await ensureSetupToken(db.orm.em.fork(), join(dir, 'data'));
    expect(setupToken).toBeTruthy();
    const res = await chainflow('user', 'create', '--email', 'Root@Example.com', '--role', 'admin', '--name', 'Root');
    expect(res.code, res.stderr).toBe(0);
    expect(await db.orm.em.fork().count(SetupTokenSchema, {})).toBe(0);
    expect(existsSync(setupTokenPath(join(dir, 'data')))).toBe(false);
    expect(res.stdout).toMatch(/^created admin root@example\.com \(id [0-9a-f-]{36}\)$/m);
    const password = printedPassword(res.stdout);
    expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    const root = await user('root@example.com');
    expect(root).toMatchObject({ role: 'admin', name: 'Root', status: 'active' });
    expect(await verifyPassword(root.passwordHash, password!)).toBe(true);
    expect((await db.orm.em.fork().findOneOrFail(ChainSchema, { slug: 'seeded-example' })).ownerId).toBe(root.id);
    const audit = await db.orm.em.fork().find(AuditEntrySchema, { targetId: root.id });
    expect(audit.map((a) => a.action).sort()).toEqual(['chain.claim', 'user.create']);
    expect(JSON.stringify(audit)).not.toContain(password!);
  });

  it('creates an account with the given password, which it does not print', async () => {
    const res = await chainflow('user', 'create', '--email', 'ed@example.com', '--role', 'editor', '--password', 'a long given password');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).not.toMatch(/password:/);
    expect(res.stdout).not.toContain('a long given password');
    expect(await verifyPassword((await user('ed@example.com')).passwordHash, 'a long given password')).toBe(true);
  });

  it('refuses a taken address, an unknown role and a short password, naming the problem', async () => {
    const taken = await chainflow('user', 'create', '--email', 'ed@example.com', '--role', 'viewer');
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toMatch(/ed@example\.com exists/);
    const role = await chainflow('user', 'create', '--email', 'x@example.com', '--role', 'owner');
    expect(role.stderr).toMatch(/--role must be one of admin, editor, viewer/);
    const short = await chainflow('user', 'create', '--email', 'x@example.com', '--role', 'viewer', '--password', 'short');
    expect(short.stderr).toMatch(/--password: Use at least 10 characters/);
    const missing = await chainflow('user', 'reset-password');
    expect(missing.stderr).toMatch(/--email is required/);
    expect(await db.orm.em.fork().count(UserSchema, {})).toBe(2);
  });

  it('resets a password: prints the new one, ends every session and lifts a lock-out', async () => {
    const before = await user('ed@example.com');
    const em = db.orm.em.fork();
    em.create(RefreshTokenSchema, { id: randomUUID(), userId: before.id, familyId: randomUUID(), tokenHash: randomUUID().replaceAll('-', '').padEnd(64, '0'), expiresAt: new Date(Date.now() + 86_400_000), usedAt: null, revokedAt: null, ip: null });
    await em.nativeUpdate(UserSchema, { id: before.id }, { failedLogins: 5, lockedUntil: new Date(Date.now() + 600_000) });
    await em.flush();
    const res = await chainflow('user', 'reset-password', '--email', 'ed@example.com');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/every session of the account has ended and the lock-out is lifted/);
    const password = printedPassword(res.stdout)!;
    const after = await user('ed@example.com');
    expect(await verifyPassword(after.passwordHash, password)).toBe(true);
    expect(await verifyPassword(after.passwordHash, 'a long given password')).toBe(false);
    expect(after.tokenVersion).toBe(before.tokenVersion + 1);
    expect(after.lockedUntil).toBeNull();
    expect(await db.orm.em.fork().count(RefreshTokenSchema, { userId: before.id, revokedAt: null })).toBe(0);
    const unknown = await chainflow('user', 'reset-password', '--email', 'nobody@example.com');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/No account with e-mail nobody@example\.com/);
  });

  it('lists every account with its role and status', async () => {
    const res = await chainflow('user', 'list');
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^EMAIL\s+ROLE\s+STATUS\s+2FA\s+LAST SIGN-IN\s+CREATED$/);
    expect(lines[1]).toMatch(/^ed@example\.com\s+editor\s+active\s+off\s+-\s+\d{4}-/);
    expect(lines[2]).toMatch(/^root@example\.com\s+admin\s+active/);
    expect(lines.at(-1)).toBe('2 users');
  });

  it('is listed in chainflow help', async () => {
    const res = await chainflow('help');
    expect(res.stdout).toMatch(/user create --email <address> --role admin\|editor\|viewer/);
    expect(res.stdout).toMatch(/user reset-password --email <address>/);
    expect(res.stdout).toMatch(/user list/);
  });
});
