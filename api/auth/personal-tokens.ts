// Personal access tokens (`cfp_…`): long-lived bearer tokens for scripts and AI
// assistants (MCP, docs/mcp.md). Shown once, stored as SHA-256, limited by scopes on top
// of their user's roles, optionally expiring, revoked at once. principal.ts hands every
// `cfp_` bearer token to `verifyPersonalToken`; routes/define.ts asks `requireScopes`.

import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { UserSchema, type User } from '../../db/accounts.ts';
import { notifyAccessChanged } from '../../db/notify.ts';
import { PersonalTokenSchema, tokenScopes, type PersonalToken, type TokenScope } from '../../db/personal-tokens.ts';
import { HttpError } from '../errors.ts';
import type { AuditActor } from '../services/audit.ts';
import { recordAudit } from '../services/audit.ts';
import { opaqueToken, tokenHash } from './tokens.ts';

export { tokenScopes, type TokenScope };

/** Every personal access token starts with this. */
export const PERSONAL_TOKEN_PREFIX = 'cfp_';

/** What a principal authenticated by a personal access token carries besides its user. */
export interface PersonalTokenGrant {
  id: string;
  scopes: readonly TokenScope[];
  expiresAt: Date | null;
}

const refused = (code: string, message: string) => new HttpError(401, code, message);

/**
 * The user and grant behind a `cfp_` token; 401 when it is unknown, revoked, expired or
 * its account is disabled. Checked against the database on every request, so revoking
 * ends access at once.
 */
export async function verifyPersonalToken(em: EntityManager, token: string): Promise<{ user: User; token: PersonalTokenGrant }> {
  const row = await em.findOne(PersonalTokenSchema, { tokenHash: tokenHash(token) });
  if (!row) throw refused('token_invalid', 'The personal access token is not valid; create a new one with POST /api/v1/auth/tokens.');
  if (row.revokedAt) throw refused('token_revoked', 'The personal access token was revoked; create a new one with POST /api/v1/auth/tokens.');
  const now = new Date();
  if (row.expiresAt && row.expiresAt <= now) throw refused('token_expired', 'The personal access token has expired; create a new one with POST /api/v1/auth/tokens.');
  const user = await em.findOne(UserSchema, { id: row.userId });
  if (!user) throw refused('token_revoked', 'The account of this personal access token was deleted.');
  if (user.status !== 'active') throw refused('account_disabled', 'This account is disabled; ask an admin to enable it.');
  // Last use to the minute: one write a minute per token, not one per request.
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
    await em.nativeUpdate(PersonalTokenSchema, { id: row.id }, { lastUsedAt: now });
  }
  return { user, token: { id: row.id, scopes: row.scopes, expiresAt: row.expiresAt ?? null } };
}

/**
 * Operations a personal access token may not call at all: managing tokens and the
 * account's password and second factor need a signed-in session, so a leaked token
 * cannot mint more tokens or lock its owner out.
 */
const sessionOnly = new Set(['createPersonalToken', 'listPersonalTokens', 'revokePersonalToken', 'changePassword', 'enrolTotp', 'confirmTotp', 'disableTotp']);

/** Scopes an operation needs beyond the default (GET → read, other methods → edit). */
const operationScopes: Record<string, readonly TokenScope[]> = {
  validateChain: ['read'],
  publishChain: ['publish'],
  rollbackChain: ['publish'],
  importChain: ['edit', 'publish'],
  startRun: ['runs'],
  cancelRuns: ['runs'],
  migrateRuns: ['runs'],
  sendRunMessage: ['runs'],
  cancelRun: ['runs'],
  terminateRun: ['runs'],
};

/** The scopes a personal access token needs for an operation, or 'session' when none suffices. */
export function scopesFor(op: { method: string; operationId: string }): readonly TokenScope[] | 'session' {
  if (sessionOnly.has(op.operationId)) return 'session';
  return operationScopes[op.operationId] ?? (op.method === 'get' ? ['read'] : ['edit']);
}

/** Operation ids named in the scope tables (a test checks each still exists). */
export const scopedOperationIds = [...sessionOnly, ...Object.keys(operationScopes)];

/**
 * Throws 403 unless a principal's token has the scopes an operation needs. Session
 * principals (no token) pass: their limits are their roles.
 */
export function requireScopes(principal: { token?: PersonalTokenGrant | undefined }, op: { method: string; operationId: string }): void {
  const grant = principal.token;
  if (!grant) return;
  const needed = scopesFor(op);
  if (needed === 'session') {
    throw new HttpError(403, 'session_required', 'Personal access tokens cannot do this; sign in (POST /api/v1/auth/login) and use the session’s access token.');
  }
  const missing = needed.filter((s) => !grant.scopes.includes(s));
  if (missing.length) {
    throw new HttpError(403, 'insufficient_scope', `This personal access token lacks the ${missing.map((s) => `'${s}'`).join(' and ')} scope; create a token with ${missing.length > 1 ? 'them' : 'it'}.`, {
      required: needed,
      scopes: grant.scopes,
    });
  }
}

/** Whether a principal may read with its credentials (sessions always; tokens with the read scope). */
export function canRead(principal: { token?: PersonalTokenGrant | undefined }): boolean {
  return !principal.token || principal.token.scopes.includes('read');
}

/** A token as lists show it: never the token or its hash. */
export function personalTokenView(row: PersonalToken) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt ?? null,
    lastUsedAt: row.lastUsedAt ?? null,
    revokedAt: row.revokedAt ?? null,
  };
}

export interface NewPersonalToken {
  name: string;
  scopes: readonly TokenScope[];
  expiresAt?: Date | null | undefined;
}

/** Creates a token for a user (audited); the plain token is returned once and never stored. */
export async function createPersonalToken(em: EntityManager, user: User, input: NewPersonalToken, actor: AuditActor): Promise<{ token: string; row: PersonalToken }> {
  const token = opaqueToken('cfp');
  const scopes = tokenScopes.filter((s) => input.scopes.includes(s));
  const row = em.create(PersonalTokenSchema, {
    id: randomUUID(),
    userId: user.id,
    name: input.name,
    tokenHash: tokenHash(token),
    prefix: token.slice(0, 12),
    scopes,
    expiresAt: input.expiresAt ?? null,
    lastUsedAt: null,
    revokedAt: null,
  });
  recordAudit(em, actor, { action: 'auth.token_create', targetType: 'personal_token', targetId: row.id, summary: { after: { name: row.name, scopes, expiresAt: row.expiresAt } } });
  await em.flush();
  return { token, row };
}

/** A user's tokens, newest first (revoked ones included, marked). */
export async function listPersonalTokens(em: EntityManager, user: User): Promise<PersonalToken[]> {
  return em.find(PersonalTokenSchema, { userId: user.id }, { orderBy: { createdAt: 'desc', id: 'asc' } });
}

/** Revokes one of the user's tokens (audited; idempotent); 404 for another user's or an unknown id. */
export async function revokePersonalToken(em: EntityManager, user: User, id: string, actor: AuditActor): Promise<void> {
  const row = await em.findOne(PersonalTokenSchema, { id, userId: user.id });
  if (!row) throw new HttpError(404, 'token_not_found', `No personal access token with id "${id}" among yours; list them with GET /api/v1/auth/tokens.`);
  if (row.revokedAt) return;
  row.revokedAt = new Date();
  recordAudit(em, actor, { action: 'auth.token_revoke', targetType: 'personal_token', targetId: row.id, summary: { before: { name: row.name, scopes: row.scopes } } });
  // Live-event sockets opened with the token re-authenticate and close (api/live/).
  await notifyAccessChanged(em, user.id);
}
