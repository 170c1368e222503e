import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';

const ISSUER = 'chainflow';
const AUDIENCE = 'chainflow-api';

/** What an access token says: whose it is and the user's token version when it was made. */
export interface AccessClaims {
  userId: string;
  tokenVersion: number;
}

const keyOf = (secret: string): Uint8Array => new TextEncoder().encode(secret);

/** Signs a short-lived HS256 access token. */
export async function signAccessToken(secret: string, claims: AccessClaims, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ tv: claims.tokenVersion })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .setJti(randomUUID())
    .sign(keyOf(secret));
  return { token, expiresAt: new Date((now + ttlSeconds) * 1000) };
}

/** Why a token was refused; the message is safe to show. */
export type TokenProblem = { code: 'token_expired' | 'token_invalid'; message: string };

/** Verifies an access token's signature, issuer, audience and expiry. */
export async function verifyAccessToken(secret: string, token: string): Promise<{ ok: true; claims: AccessClaims } | { ok: false; problem: TokenProblem }> {
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
    if (typeof payload.sub !== 'string' || typeof payload.tv !== 'number') {
      return { ok: false, problem: { code: 'token_invalid', message: 'The access token lacks its subject; sign in again.' } };
    }
    return { ok: true, claims: { userId: payload.sub, tokenVersion: payload.tv } };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return { ok: false, problem: { code: 'token_expired', message: 'The access token has expired; get a new one with POST /api/v1/auth/refresh.' } };
    return { ok: false, problem: { code: 'token_invalid', message: 'The access token is not valid; sign in again.' } };
  }
}

/** A random opaque token (refresh tokens, invite codes) with a readable prefix. */
export function opaqueToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 (hex) of an opaque token: what the database keeps. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
