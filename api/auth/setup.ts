// The one-time setup token of a fresh installation: only the registration that carries
// it becomes the first admin. Stored hashed in PostgreSQL (every API replica accepts
// it) and written to DATA_DIR/setup-token (0600), from where `npm start` prints the
// setup link. Once an admin exists, every token is deleted.

import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { SetupTokenSchema, UserSchema } from '../../db/accounts.ts';
import { opaqueToken, tokenHash } from './tokens.ts';

/** Where a data dir keeps the setup token. */
export const setupTokenPath = (dataDir: string): string => join(dataDir, 'setup-token');

/** The link that makes the first admin. */
export const setupLink = (publicUrl: string, token: string): string => `${publicUrl.replace(/\/+$/, '')}/setup?token=${encodeURIComponent(token)}`;

/** Whether the installation has an admin (then no setup token is valid). */
export async function adminExists(em: EntityManager): Promise<boolean> {
  return (await em.count(UserSchema, { role: 'admin' })) > 0;
}

/**
 * Stores a new setup token (hashed) and returns it. Earlier tokens stay valid until an
 * admin exists, so API replicas that each made one do not invalidate each other's.
 */
export async function issueSetupToken(em: EntityManager): Promise<string> {
  const token = opaqueToken('cfs');
  const fork = em.fork();
  fork.create(SetupTokenSchema, { id: randomUUID(), tokenHash: tokenHash(token) });
  await fork.flush();
  return token;
}

/** Whether `token` is a stored setup token (there is no admin yet when any is stored). */
export async function isSetupToken(em: EntityManager, token: string): Promise<boolean> {
  return (await em.count(SetupTokenSchema, { tokenHash: tokenHash(token.trim()) })) > 0;
}

/** Invalidates every setup token (an admin exists now); removes the file when given. */
export async function consumeSetupTokens(em: EntityManager, file?: string): Promise<void> {
  await em.nativeDelete(SetupTokenSchema, {});
  if (file) rmSync(file, { force: true });
}

/**
 * At start: with no admin, the setup token of `DATA_DIR/setup-token` when it is still
 * stored, else a new one written there (mode 0600). With an admin: null, and the file
 * and any stored token are removed.
 */
export async function ensureSetupToken(em: EntityManager, dataDir: string): Promise<string | null> {
  const file = setupTokenPath(dataDir);
  if (await adminExists(em)) {
    await consumeSetupTokens(em, file);
    return null;
  }
  let existing: string | undefined;
  try {
    existing = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing && (await isSetupToken(em, existing))) return existing;
  const token = await issueSetupToken(em);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}
