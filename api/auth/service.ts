// Accounts and sessions: register, login (with lock-out and TOTP), refresh with rotation
// and reuse detection, logout, password change. Routes (api/routes/auth.ts) are thin
// over these; the CLI can reuse them.

import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ChainSchema } from '../../db/entities.ts';
import { InviteSchema, RefreshTokenSchema, UserSchema, type GlobalRole, type Invite, type User } from '../../db/accounts.ts';
import { notifyAccessChanged } from '../../db/notify.ts';
import { HttpError } from '../errors.ts';
import { recordAudit, type AuditActor } from '../services/audit.ts';
import type { AuthOptions } from './options.ts';
import { burnVerification, hashPassword, verifyPassword } from './passwords.ts';
import { opaqueToken, signAccessToken, tokenHash } from './tokens.ts';
import { checkTotp } from './totp.ts';
import { adminExists, consumeSetupTokens, isSetupToken } from './setup.ts';

/** A user as the API shows it: never the password hash or the TOTP secret. */
export interface UserView {
  id: string;
  email: string;
  name: string;
  role: GlobalRole;
  status: User['status'];
  totpEnabled: boolean;
  lockedUntil: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
}

export function userView(user: User): UserView {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    status: user.status,
    totpEnabled: user.totpEnabled,
    lockedUntil: user.lockedUntil && user.lockedUntil > new Date() ? user.lockedUntil : null,
    lastLoginAt: user.lastLoginAt ?? null,
    createdAt: user.createdAt,
  };
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  user: UserView;
}

/** Associated data binding an encrypted TOTP secret to its user. */
export const totpContext = (userId: string) => `totp:${userId}`;

const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** Starts (or, with a family id, continues) a session: an access token and a stored refresh token. */
export async function issueSession(em: EntityManager, options: AuthOptions, user: User, ip: string | null, familyId: string = randomUUID()): Promise<Session> {
  const refreshToken = opaqueToken('cfr');
  em.create(RefreshTokenSchema, {
    id: randomUUID(),
    userId: user.id,
    familyId,
    tokenHash: tokenHash(refreshToken),
    expiresAt: new Date(Date.now() + options.refreshTokenTtlSeconds * 1000),
    usedAt: null,
    revokedAt: null,
    ip,
  });
  await em.flush();
  const { token } = await signAccessToken(options.jwtSecret, { userId: user.id, tokenVersion: user.tokenVersion }, options.accessTokenTtlSeconds);
  return { accessToken: token, refreshToken, expiresIn: options.accessTokenTtlSeconds, user: userView(user) };
}

export interface NewUser {
  email: string;
  password: string;
  name?: string | undefined;
  role: GlobalRole;
}

/** Creates a user (409 when the address is taken); flushed by the caller. */
export async function createUser(em: EntityManager, input: NewUser): Promise<User> {
  const email = normalizeEmail(input.email);
  if (await em.findOne(UserSchema, { email })) {
    throw new HttpError(409, 'email_taken', `An account with e-mail ${email} exists; sign in, or use another address.`, { field: 'email' });
  }
  return em.create(UserSchema, {
    id: randomUUID(),
    email,
    name: input.name?.trim() ?? '',
    passwordHash: await hashPassword(input.password),
    role: input.role,
    status: 'active',
    tokenVersion: 0,
    failedLogins: 0,
    lockedUntil: null,
    totpSecret: null,
    totpEnabled: false,
    totpLastStep: null,
    lastLoginAt: null,
  });
}

export interface RegisterInput {
  email: string;
  password: string;
  name?: string | undefined;
  inviteCode?: string | undefined;
  setupToken?: string | undefined;
}

/** Takes the lock that decides the first admin once, on the transaction's own connection. */
export async function lockRegistration(tx: EntityManager): Promise<void> {
  // Without the transaction context the lock would be taken (and at once released) on
  // another pooled connection, and simultaneous first registrations would all see no admin.
  await tx.getConnection().execute(`select pg_advisory_xact_lock(hashtext('chainflow:register'))`, [], 'run', tx.getTransactionContext());
}

/** The 403 of a registration while no admin exists and no valid setup token came with it. */
export function setupTokenRequired(options: Pick<AuthOptions, 'setupTokenFile'>, given: boolean): HttpError {
  const where = options.setupTokenFile ?? 'DATA_DIR/setup-token';
  return new HttpError(
    403,
    'setup_token_required',
    `${given ? 'The setup token is wrong or was already used. ' : ''}This installation has no admin yet: the first admin registers through the setup link that npm start printed (/setup?token=…; the token is in ${where} on the server), or is made with \`chainflow user create --role admin\`.`,
    { field: 'setupToken' },
  );
}

/**
 * Registers an account. While no admin exists, only a registration carrying the valid
 * one-time setup token is accepted: it becomes admin and owner of every chain that has
 * none (the seeded examples), and the setup token is used up. Later ones follow
 * REGISTRATION: `invite` (a valid invite code is required; its role), `open` (viewer,
 * or the invite's role when a code is given), `closed` (403: admins create accounts).
 */
export async function register(em: EntityManager, options: AuthOptions, input: RegisterInput, actor: AuditActor): Promise<Session> {
  const user = await em.transactional(async (tx) => {
    await lockRegistration(tx);
    const first = !(await adminExists(tx));
    let role: GlobalRole = 'viewer';
    let via: 'setup-token' | 'open' | 'invite' = 'open';
    let invite: Invite | null = null;
    if (first) {
      if (!input.setupToken || !(await isSetupToken(tx, input.setupToken))) throw setupTokenRequired(options, Boolean(input.setupToken));
      role = 'admin';
      via = 'setup-token';
    } else if (options.registration === 'closed') {
      throw new HttpError(403, 'registration_closed', 'Registration is closed on this installation; ask an admin to create your account.');
    } else if (input.inviteCode) {
      invite = await tx.findOne(InviteSchema, { codeHash: tokenHash(input.inviteCode.trim()) });
      if (!invite || invite.usedAt || invite.expiresAt <= new Date()) {
        throw new HttpError(403, 'invite_invalid', 'The invite code is unknown, used or expired; ask an admin for a new one.', { field: 'inviteCode' });
      }
      if (invite.email && invite.email !== normalizeEmail(input.email)) {
        throw new HttpError(403, 'invite_invalid', 'This invite code is for another e-mail address.', { field: 'inviteCode' });
      }
      role = invite.role;
      via = 'invite';
    } else if (options.registration === 'invite') {
      throw new HttpError(403, 'invite_required', 'Registration needs an invite code here; ask an admin for one and send it as inviteCode.', { field: 'inviteCode' });
    }
    const created = await createUser(tx, { email: input.email, password: input.password, name: input.name, role });
    created.lastLoginAt = new Date();
    if (invite) {
      invite.usedAt = new Date();
      invite.usedBy = created.id;
    }
    const who: AuditActor = { id: created.id, email: created.email, ip: actor.ip };
    recordAudit(tx, who, { action: 'auth.register', targetType: 'user', targetId: created.id, summary: { after: { email: created.email, role, via } } });
    if (first) {
      await tx.flush();
      await consumeSetupTokens(tx);
      const claimed = await tx.nativeUpdate(ChainSchema, { ownerId: null }, { ownerId: created.id });
      if (claimed > 0) recordAudit(tx, who, { action: 'chain.claim', targetType: 'user', targetId: created.id, summary: { chains: claimed, reason: 'first admin owns the chains that had no owner' } });
    }
    await tx.flush();
    return created;
  });
  if (user.role === 'admin' && options.setupTokenFile) rmSync(options.setupTokenFile, { force: true });
  return issueSession(em, options, user, actor.ip);
}

export interface LoginInput {
  email: string;
  password: string;
  totp?: string | undefined;
}

/**
 * Signs in. Wrong passwords and TOTP codes count towards the lock-out
 * (`maxFailedLogins` in a row lock the account for `lockoutSeconds`); every attempt is
 * audited. An unknown address costs as much time as a wrong password.
 */
export async function login(em: EntityManager, options: AuthOptions, input: LoginInput, actor: AuditActor): Promise<Session> {
  const email = normalizeEmail(input.email);
  const user = await em.findOne(UserSchema, { email });
  const fail = async (reason: string, error: HttpError, target: User | null = user): Promise<never> => {
    recordAudit(em, { id: target?.id ?? null, email, ip: actor.ip }, { action: 'auth.login_failed', targetType: 'user', targetId: target?.id ?? null, summary: { reason } });
    await em.flush();
    throw error;
  };
  const invalid = new HttpError(401, 'invalid_credentials', 'The e-mail or the password is wrong.');
  if (!user) {
    await burnVerification(input.password);
    return fail('unknown_email', invalid);
  }
  // Each attempt reserves its failure up front, in one conditional UPDATE: parallel
  // guesses cannot all pass a read of the counter and then verify (at most
  // maxFailedLogins attempts are ever checked before the lock), and none gets through a lock.
  const conn = em.getConnection();
  const [reserved] = await conn.execute<{ failed_logins: number }[]>(
    `update app_user set failed_logins = failed_logins + 1
      where id = ? and failed_logins < ? and (locked_until is null or locked_until <= clock_timestamp())
      returning failed_logins`,
    [user.id, options.maxFailedLogins],
  );
  if (!reserved) {
    const [row] = await conn.execute<{ locked_until: Date | string | null }[]>(`select locked_until from app_user where id = ?`, [user.id]);
    const until = row?.locked_until ? new Date(row.locked_until) : null;
    // Not locked yet, but the last allowed attempts are being checked right now.
    return fail('locked', lockedError(until && until > new Date() ? until : new Date(Date.now() + options.lockoutSeconds * 1000)));
  }
  const countFailure = async (reason: string, error: HttpError): Promise<never> => {
    if (reserved.failed_logins < options.maxFailedLogins) return fail(reason, error);
    const [locked] = await conn.execute<{ locked_until: Date | string }[]>(
      `update app_user set failed_logins = 0, locked_until = clock_timestamp() + make_interval(secs => ?) where id = ? returning locked_until`,
      [options.lockoutSeconds, user.id],
    );
    const until = new Date(locked?.locked_until ?? Date.now() + options.lockoutSeconds * 1000);
    recordAudit(em, { id: user.id, email, ip: actor.ip }, { action: 'auth.locked', targetType: 'user', targetId: user.id, summary: { until, after: options.maxFailedLogins } });
    return fail(reason, lockedError(until));
  };
  /** Gives the reserved attempt back: the password was right, the sign-in stops for another reason. */
  const release = () => conn.execute(`update app_user set failed_logins = greatest(failed_logins - 1, 0) where id = ?`, [user.id], 'run');
  if (!(await verifyPassword(user.passwordHash, input.password))) return countFailure('bad_password', invalid);
  if (user.status !== 'active') {
    await release();
    return fail('disabled', new HttpError(403, 'account_disabled', 'This account is disabled; ask an admin to enable it.'));
  }
  if (user.totpEnabled) {
    if (!input.totp) {
      await release();
      return fail('totp_required', new HttpError(401, 'totp_required', 'This account uses two-factor authentication: send the 6-digit code from your authenticator app as totp.', { field: 'totp' }));
    }
    const step = user.totpSecret ? checkTotp(options.totpBox.decrypt(user.totpSecret, totpContext(user.id)), input.totp) : null;
    // The step is consumed atomically: of two parallel sign-ins with the same code, one wins.
    const consumed =
      step === null
        ? []
        : await conn.execute<{ id: string }[]>(`update app_user set totp_last_step = ? where id = ? and (totp_last_step is null or totp_last_step < ?) returning id`, [step, user.id, step]);
    if (step === null || consumed.length === 0) {
      return countFailure('bad_totp', new HttpError(401, 'totp_invalid', 'The two-factor code is wrong or was already used; wait for the next code and try again.', { field: 'totp' }));
    }
  }
  await conn.execute(`update app_user set failed_logins = 0, locked_until = null where id = ?`, [user.id], 'run');
  await em.refresh(user);
  user.lastLoginAt = new Date();
  recordAudit(em, { id: user.id, email, ip: actor.ip }, { action: 'auth.login', targetType: 'user', targetId: user.id, summary: { totp: user.totpEnabled } });
  return issueSession(em, options, user, actor.ip);
}

function lockedError(until: Date): HttpError {
  return new HttpError(423, 'account_locked', `Too many failed sign-ins: the account is locked until ${until.toISOString()}. Try again then, or ask an admin to unlock it.`, {
    lockedUntil: until.toISOString(),
  });
}

/**
 * Exchanges a refresh token for a new pair (rotation). A token that was already
 * exchanged is a stolen or replayed one: its whole family (every token of that sign-in)
 * is revoked and the caller must sign in again.
 */
export async function refresh(em: EntityManager, options: AuthOptions, token: string, actor: AuditActor): Promise<Session> {
  const row = await em.findOne(RefreshTokenSchema, { tokenHash: tokenHash(token) });
  if (!row) throw new HttpError(401, 'refresh_token_invalid', 'The refresh token is not known; sign in again.');
  if (row.revokedAt) throw new HttpError(401, 'refresh_token_revoked', 'The refresh token was revoked (signed out or reused); sign in again.');
  const reuse = async (): Promise<never> => {
    await revokeFamily(em, row.familyId);
    recordAudit(em, { id: row.userId, email: null, ip: actor.ip }, { action: 'auth.refresh_reused', targetType: 'user', targetId: row.userId, summary: { family: row.familyId } });
    await em.flush();
    throw new HttpError(401, 'refresh_token_reused', 'This refresh token was already used, so it may have been stolen: every session of that sign-in was ended. Sign in again.');
  };
  if (row.usedAt) return reuse();
  if (row.expiresAt <= new Date()) throw new HttpError(401, 'refresh_token_expired', 'The refresh token has expired; sign in again.');
  // Claim the token atomically: of two concurrent refreshes only one wins, the other is a reuse.
  const claimed = await em.nativeUpdate(RefreshTokenSchema, { id: row.id, usedAt: null, revokedAt: null }, { usedAt: new Date() });
  if (claimed !== 1) return reuse();
  const user = await em.findOne(UserSchema, { id: row.userId });
  if (!user || user.status !== 'active') throw new HttpError(401, 'account_disabled', 'This account is disabled or deleted; ask an admin.');
  return issueSession(em, options, user, actor.ip, row.familyId);
}

/** Revokes every live token of a sign-in. */
export async function revokeFamily(em: EntityManager, familyId: string): Promise<number> {
  return em.nativeUpdate(RefreshTokenSchema, { familyId, revokedAt: null }, { revokedAt: new Date() });
}

/** Revokes every refresh token of a user and invalidates their access tokens. */
export async function signOutEverywhere(em: EntityManager, user: User): Promise<void> {
  user.tokenVersion += 1;
  await em.nativeUpdate(RefreshTokenSchema, { userId: user.id, revokedAt: null }, { revokedAt: new Date() });
  await notifyAccessChanged(em, user.id);
}

/** Ends the sign-in a refresh token belongs to (idempotent: unknown tokens are ignored). */
export async function logout(em: EntityManager, token: string, actor: AuditActor): Promise<void> {
  const row = await em.findOne(RefreshTokenSchema, { tokenHash: tokenHash(token) });
  if (!row) return;
  await revokeFamily(em, row.familyId);
  recordAudit(em, { id: row.userId, email: actor.email, ip: actor.ip }, { action: 'auth.logout', targetType: 'user', targetId: row.userId, summary: {} });
  await em.flush();
}

/** Verifies a user's password or answers 403 naming the field. */
export async function requirePassword(user: User, password: string, field = 'password'): Promise<void> {
  if (!(await verifyPassword(user.passwordHash, password))) {
    throw new HttpError(403, 'wrong_password', `The ${field === 'password' ? 'password' : 'current password'} is wrong.`, { field });
  }
}
