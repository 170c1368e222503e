import type { EntityManager } from '@mikro-orm/postgresql';
import { GrantSchema, UserSchema, type ResourceRole, type ResourceType, type User } from '../../db/accounts.ts';
import { HttpError } from '../errors.ts';
import { PERSONAL_TOKEN_PREFIX, verifyPersonalToken, type PersonalTokenGrant } from './personal-tokens.ts';
import { verifyAccessToken } from './tokens.ts';

/** The signed-in user of a request and their grants, loaded once per request. */
export interface Principal {
  user: User;
  /** Role per resource, keyed by {@link grantKey}. */
  grants: ReadonlyMap<string, ResourceRole>;
  /** Set when a personal access token (`cfp_…`) authenticated the request: its scopes limit it further. */
  token?: PersonalTokenGrant;
}

export const grantKey = (type: ResourceType, id: string): string => `${type}:${id}`;

const unauthenticated = (code: string, message: string) => new HttpError(401, code, message);

/**
 * Resolves `Authorization: Bearer <access token>` (or a personal access token) to a principal. The user is read on
 * every request, so disabling an account or changing a password (which bumps the
 * token version) ends its access tokens at once, not when they expire.
 *
 * @throws {HttpError} 401 naming why the token was refused.
 */
export async function authenticate(em: EntityManager, jwtSecret: string, authorization: string): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) throw unauthenticated('unauthenticated', "The Authorization header must be 'Bearer <accessToken>'.");
  if (match[1].startsWith(PERSONAL_TOKEN_PREFIX)) {
    const { user, token } = await verifyPersonalToken(em, match[1]);
    return { ...(await withGrants(em, user)), token };
  }
  const verified = await verifyAccessToken(jwtSecret, match[1]);
  if (!verified.ok) throw unauthenticated(verified.problem.code, verified.problem.message);
  const user = await em.findOne(UserSchema, { id: verified.claims.userId });
  if (!user || user.tokenVersion !== verified.claims.tokenVersion) {
    throw unauthenticated('token_revoked', 'The access token was revoked (password changed, signed out everywhere or account deleted); sign in again.');
  }
  if (user.status !== 'active') throw unauthenticated('account_disabled', 'This account is disabled; ask an admin to enable it.');
  return withGrants(em, user);
}

async function withGrants(em: EntityManager, user: User): Promise<Principal> {
  const grants = await em.find(GrantSchema, { userId: user.id });
  return { user, grants: new Map(grants.map((g) => [grantKey(g.resourceType, g.resourceId), g.role])) };
}
