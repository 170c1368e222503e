// Credentials: look them up, decrypt them, hand the plain values to the code that uses
// them (activities, the webhook check). Nothing here logs or returns a value to a workflow.

import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { SecretBoxError, type SecretBox } from '../lib/secret-box.ts';
import {
  CREDENTIAL_NAME,
  CredentialSchema,
  credentialContext,
  credentialKinds,
  type Credential,
  type CredentialKind,
  type CredentialMeta,
} from './credential.ts';
import { GrantSchema, UserSchema } from './accounts.ts';
import { ChainVersionSchema, RunSchema } from './entities.ts';

/** Secrets shorter than this are not credible secrets; replacing them would mangle text. */
export const MIN_SECRET_LENGTH = 4;

/** A credential problem the chain can route to its `error` port; never contains a value. */
export class CredentialError extends Error {
  override name = 'CredentialError';
  readonly code: 'credential_missing' | 'secret_missing' | 'credential_unreadable' | 'credential_invalid' | 'credential_forbidden';
  constructor(code: CredentialError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** A decrypted credential: for activity code only, never for results, events or logs. */
export interface DecryptedCredential {
  id: string;
  name: string;
  kind: CredentialKind;
  meta: CredentialMeta;
  value: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function decryptRow(box: SecretBox, row: Credential): DecryptedCredential {
  try {
    const value = box.decrypt(row.encryptedValue, credentialContext(row.id));
    return { id: row.id, name: row.name, kind: row.kind, meta: row.meta, value };
  } catch (error) {
    if (error instanceof SecretBoxError) throw new CredentialError('credential_unreadable', `Credential '${row.name}' cannot be decrypted: ${error.message}`);
    throw error;
  }
}

/**
 * For whom a credential is used: the user id of the chain version's publisher, whose
 * access (owner, admin, or a grant on the credential) is checked at every use; null for
 * versions the installation itself published (CLI import, seeded examples): unchecked.
 */
export interface CredentialUse {
  as: string | null;
}

/** Throws `credential_forbidden` unless `use.as` may use every row (owner, admin or grant). */
async function checkUse(em: EntityManager, use: CredentialUse | undefined, rows: Credential[]): Promise<void> {
  if (!use || use.as === null || rows.length === 0) return;
  const user = await em.findOne(UserSchema, { id: use.as }, { fields: ['id', 'role'] });
  if (user?.role === 'admin') return;
  const notOwned = rows.filter((row) => !user || row.ownerId !== user.id);
  if (notOwned.length === 0) return;
  const grants = user ? await em.find(GrantSchema, { userId: user.id, resourceType: 'credential', resourceId: { $in: notOwned.map((row) => row.id) } }) : [];
  const denied = notOwned.find((row) => !grants.some((g) => g.resourceId === row.id));
  if (denied) {
    throw new CredentialError(
      'credential_forbidden',
      `Credential '${denied.name}' is not shared with the user who published this chain version (any more); share it with them (role use), or publish a version that uses another credential`,
    );
  }
}

/**
 * The publisher a credential use is checked for: of the version a node was published in
 * (`sourceVersionId`, stamped on http/llm nodes at publish), else of the version the run
 * is on; undefined when neither is known (activities called outside a stored version).
 */
export async function credentialUseFor(em: EntityManager, where: { sourceVersionId?: unknown; runId: string }): Promise<CredentialUse | undefined> {
  const fork = em.fork();
  let versionId = typeof where.sourceVersionId === 'string' ? where.sourceVersionId : undefined;
  if (versionId === undefined) versionId = (await fork.findOne(RunSchema, { id: where.runId }, { fields: ['id', 'versionId'] }))?.versionId;
  if (versionId === undefined || !UUID.test(versionId)) return undefined;
  const version = await fork.findOne(ChainVersionSchema, { id: versionId }, { fields: ['id', 'createdBy'] });
  return version ? { as: version.createdBy ?? null } : undefined;
}

/**
 * Loads and decrypts one credential by id (a UUID) or by name (names cannot look like a
 * UUID, so an imported chain that refers to credentials by name works too). With `use`,
 * only when that user may use it.
 *
 * @throws {CredentialError} `credential_missing`, `credential_forbidden` or `credential_unreadable`.
 */
export async function loadCredential(em: EntityManager, box: SecretBox, idOrName: string, use?: CredentialUse): Promise<DecryptedCredential> {
  const fork = em.fork();
  const row = await fork.findOne(CredentialSchema, UUID.test(idOrName) ? { id: idOrName } : { name: idOrName });
  if (!row) {
    throw new CredentialError('credential_missing', `Credential '${idOrName}' does not exist; choose another in the node's settings or create it`);
  }
  await checkUse(fork, use, [row]);
  return decryptRow(box, row);
}

/**
 * Resolves `secrets.NAME` references: a credential with that name, decrypted. Every
 * name must exist (a missing secret would otherwise render as '' and fail obscurely).
 * With `use`, only credentials that user may use.
 *
 * @throws {CredentialError} `secret_missing` naming the missing secrets, `credential_forbidden`, or `credential_unreadable`.
 * @example const secrets = await resolveSecrets(em, box, ['apiKey']); // { apiKey: '…' }
 */
export async function resolveSecrets(em: EntityManager, box: SecretBox, names: readonly string[], use?: CredentialUse): Promise<Record<string, string>> {
  const wanted = [...new Set(names)];
  if (wanted.length === 0) return {};
  const fork = em.fork();
  const rows = await fork.find(CredentialSchema, { name: { $in: wanted } });
  const missing = wanted.filter((name) => !rows.some((row) => row.name === name));
  if (missing.length > 0) {
    throw new CredentialError('secret_missing', `No credential named ${missing.map((name) => `'${name}'`).join(', ')} for {{ secrets.${missing[0]} }}; create it or fix the name`);
  }
  await checkUse(fork, use, rows);
  const secrets: Record<string, string> = {};
  for (const row of rows) secrets[row.name] = decryptRow(box, row).value;
  return secrets;
}

/** Every string that would reveal the credential (for redaction): the value, and the Basic pair. */
export function credentialSecretValues(credential: DecryptedCredential): string[] {
  const values = [credential.value];
  if (credential.kind === 'basic') values.push(Buffer.from(`${credential.meta.username ?? ''}:${credential.value}`).toString('base64'));
  return values;
}

export interface NewCredential {
  name: string;
  kind: CredentialKind;
  value: string;
  meta?: CredentialMeta;
  ownerId?: string | null;
}

/** Checks a new credential's name, kind and meta; returns the problem or undefined. */
export function checkCredential(input: NewCredential): string | undefined {
  if (!CREDENTIAL_NAME.test(input.name)) {
    return `Credential name '${input.name.slice(0, 40)}' is invalid; use letters, digits and '_' (not starting with a digit), as in {{ secrets.${input.name.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1') || 'name'} }}`;
  }
  if (UUID.test(input.name)) return 'Credential names cannot look like ids';
  if (!credentialKinds.includes(input.kind)) return `Credential kind '${String(input.kind)}' is unknown; use ${credentialKinds.join(', ')}`;
  if (input.value.length < MIN_SECRET_LENGTH) return `A credential value needs at least ${MIN_SECRET_LENGTH} characters`;
  const meta = input.meta ?? {};
  if (input.kind === 'header' && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,200}$/.test(meta.header ?? '')) {
    return "A 'header' credential needs meta.header, the header's name (e.g. 'X-Api-Key')";
  }
  if (input.kind === 'basic' && (typeof meta.username !== 'string' || meta.username.includes(':'))) {
    return "A 'basic' credential needs meta.username (without ':')";
  }
  if (input.kind === 'openai' && meta.baseUrl !== undefined) {
    try {
      const url = new URL(meta.baseUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    } catch {
      return `meta.baseUrl '${meta.baseUrl.slice(0, 80)}' is not an http(s) URL`;
    }
  }
  return undefined;
}

/**
 * Stores a new credential with its value encrypted (bound to its id). For the control
 * plane and tests; activities only read.
 *
 * @throws {CredentialError} `credential_invalid` when {@link checkCredential} objects.
 */
export async function createCredential(em: EntityManager, box: SecretBox, input: NewCredential): Promise<Credential> {
  const problem = checkCredential(input);
  if (problem) throw new CredentialError('credential_invalid', problem);
  const fork = em.fork();
  const id = randomUUID();
  const row = fork.create(CredentialSchema, {
    id,
    name: input.name,
    kind: input.kind,
    encryptedValue: box.encrypt(input.value, credentialContext(id)),
    meta: input.meta ?? {},
    ownerId: input.ownerId ?? null,
  });
  await fork.flush();
  return row;
}

/**
 * Re-encrypts every credential still encrypted with an older key (key rotation: put
 * the new key first in the key list, run this, then drop the old key). Rows that do not
 * decrypt are left alone and named in `failed`.
 */
export async function rotateCredentials(em: EntityManager, box: SecretBox): Promise<{ rotated: number; failed: string[] }> {
  const fork = em.fork();
  let rotated = 0;
  const failed: string[] = [];
  for (const row of await fork.find(CredentialSchema, {})) {
    if (!box.needsRotation(row.encryptedValue)) continue;
    try {
      row.encryptedValue = box.reencrypt(row.encryptedValue, credentialContext(row.id));
      rotated++;
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      failed.push(row.name);
    }
  }
  await fork.flush();
  return { rotated, failed };
}
