// `chainflow user create|reset-password|list`: account administration from the shell,
// prompt-free (for provisioning scripts and for the admin who locked themselves out).
// The database is found like `chainflow import` finds it.

import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { globalRoles, UserSchema, type GlobalRole } from '../db/accounts.ts';
import { ChainSchema } from '../db/entities.ts';
import { createOrm } from '../db/orm.ts';
import { createUser, lockRegistration, signOutEverywhere } from '../api/auth/service.ts';
import { consumeSetupTokens, setupTokenPath } from '../api/auth/setup.ts';
import { hashPassword } from '../api/auth/passwords.ts';
import { emailSchema, newPasswordSchema } from '../api/schemas/auth.ts';
import { HttpError } from '../api/errors.ts';
import { recordAudit, type AuditActor } from '../api/services/audit.ts';
import { resolveDatabaseUrl } from './import-export.ts';

const USAGE = `Usage:
  chainflow user create --email <address> --role admin|editor|viewer [--password <password>] [--name <name>]
  chainflow user reset-password --email <address> [--password <password>]
  chainflow user list
Without --password a random one is generated and printed once.`;

/** The command line acts as nobody in particular; audit entries say `via: cli`. */
const CLI_ACTOR: AuditActor = { id: null, email: null, ip: null };

/** A password of 20 URL-safe random characters (120 bits). */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

class UsageError extends Error {
  override name = 'UsageError';
}

function options(args: string[]) {
  try {
    return parseArgs({
      args,
      options: { email: { type: 'string' }, role: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
      allowPositionals: false,
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
}

function requireEmail(value: string | undefined): string {
  if (value === undefined) throw new UsageError(`--email is required.\n${USAGE}`);
  const parsed = emailSchema.safeParse(value.trim());
  if (!parsed.success) throw new UsageError(`--email: use an e-mail address like ann@example.com.`);
  return parsed.data.toLowerCase();
}

function checkPassword(value: string | undefined): { password: string; generated: boolean } {
  if (value === undefined) return { password: generatePassword(), generated: true };
  const parsed = newPasswordSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`--password: ${parsed.error.issues[0]?.message ?? 'invalid'} (or leave it out to get a generated one).`);
  return { password: parsed.data, generated: false };
}

const pad = (text: string, width: number) => text.padEnd(width);
const day = (date: Date | null | undefined) => (date ? date.toISOString().replace('T', ' ').slice(0, 16) : '-');

/** `chainflow user <create|reset-password|list> …` */
export async function userCommand(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'create' && sub !== 'reset-password' && sub !== 'list') throw new UsageError(`${sub ? `Unknown user command "${sub}".\n` : ''}${USAGE}`);
  const values = options(rest);
  // Check the arguments before touching the database.
  let role: GlobalRole | undefined;
  if (sub === 'create') {
    if (!globalRoles.includes(values.role as GlobalRole)) throw new UsageError(`--role must be one of ${globalRoles.join(', ')}.\n${USAGE}`);
    role = values.role as GlobalRole;
  }
  const email = sub === 'list' ? undefined : requireEmail(values.email);
  const secret = sub === 'list' ? undefined : checkPassword(values.password);

  const orm = await createOrm({ url: await resolveDatabaseUrl(config), poolMax: 2 });
  try {
    const em = orm.em.fork();
    if (sub === 'list') {
      const users = await em.find(UserSchema, {}, { orderBy: { email: 'asc' } });
      const width = Math.max(5, ...users.map((u) => u.email.length)) + 2;
      const lines = [`${pad('EMAIL', width)}${pad('ROLE', 8)}${pad('STATUS', 10)}${pad('2FA', 5)}${pad('LAST SIGN-IN', 18)}CREATED`];
      for (const u of users) {
        lines.push(`${pad(u.email, width)}${pad(u.role, 8)}${pad(u.status, 10)}${pad(u.totpEnabled ? 'on' : 'off', 5)}${pad(day(u.lastLoginAt), 18)}${day(u.createdAt)}`);
      }
      process.stdout.write(`${lines.join('\n')}\n${users.length} user${users.length === 1 ? '' : 's'}\n`);
      return;
    }
    if (!email || !secret) return;

    if (sub === 'create' && role) {
      const user = await em.transactional(async (tx) => {
        // Same lock as web registration (on the transaction's connection): the first account is decided once.
        await lockRegistration(tx);
        const first = (await tx.count(UserSchema, {})) === 0;
        if (first && role !== 'admin') throw new UsageError('The first account must be an admin (--role admin): it administers the installation.');
        const created = await createUser(tx, { email, password: secret.password, name: values.name, role });
        recordAudit(tx, CLI_ACTOR, { action: 'user.create', targetType: 'user', targetId: created.id, summary: { after: { email: created.email, role }, via: 'cli' } });
        await tx.flush();
        // An admin exists now: the setup link of a fresh installation stops working.
        if (role === 'admin') await consumeSetupTokens(tx, setupTokenPath(config.dataDir));
        if (first) {
          const claimed = await tx.nativeUpdate(ChainSchema, { ownerId: null }, { ownerId: created.id });
          if (claimed > 0) recordAudit(tx, CLI_ACTOR, { action: 'chain.claim', targetType: 'user', targetId: created.id, summary: { chains: claimed, reason: 'first admin owns the chains that had no owner', via: 'cli' } });
          await tx.flush();
        }
        return created;
      });
      process.stdout.write(`created ${user.role} ${user.email} (id ${user.id})\n`);
      if (secret.generated) process.stdout.write(`password: ${secret.password}\n(shown once; sign in and change it)\n`);
      return;
    }

    const user = await em.findOne(UserSchema, { email });
    if (!user) throw new Error(`No account with e-mail ${email}; \`chainflow user list\` shows them.`);
    user.passwordHash = await hashPassword(secret.password);
    const unlocked = Boolean(user.lockedUntil && user.lockedUntil > new Date());
    user.failedLogins = 0;
    user.lockedUntil = null;
    await signOutEverywhere(em, user);
    recordAudit(em, CLI_ACTOR, { action: 'user.update', targetType: 'user', targetId: user.id, summary: { change: 'password reset', sessionsEnded: true, unlocked, via: 'cli' } });
    await em.flush();
    process.stdout.write(`reset the password of ${user.email}; every session of the account has ended${unlocked ? ' and the lock-out is lifted' : ''}\n`);
    if (secret.generated) process.stdout.write(`password: ${secret.password}\n(shown once; sign in and change it)\n`);
  } catch (err) {
    if (err instanceof HttpError) throw new Error(err.message, { cause: err });
    throw err;
  } finally {
    await orm.close();
  }
}
