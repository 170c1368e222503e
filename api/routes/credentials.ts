import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { CredentialSchema, credentialContext, type Credential, type CredentialMeta } from '../../db/credential.ts';
import { checkCredential, createCredential, CredentialError, MIN_SECRET_LENGTH } from '../../db/credential-store.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { outboundUrlProblem } from '../../activities/ssrf.ts';
import { HttpError } from '../errors.ts';
import type { Principal } from '../auth/principal.ts';
import { authorize, credentialGrantRole, credentialRoleName, visibleCredentials, type Action } from '../policy.ts';
import { escapeLike, idParamsSchema } from '../schemas/common.ts';
import {
  createCredentialBodySchema,
  credentialGrantListSchema,
  credentialGrantParamsSchema,
  credentialGrantViewSchema,
  credentialListQuerySchema,
  credentialListSchema,
  credentialSchema,
  credentialShareBodySchema,
  forceQuerySchema,
  updateCredentialBodySchema,
} from '../schemas/credentials.ts';
import { listAccess, shareResource, unshareResource, type SharedResource } from '../services/grants.ts';
import { defineOperation, type Operation } from './define.ts';

const tags: [string] = ['credentials'];

export interface CredentialDeps {
  /** Encrypts values; without it, storing one answers 503. */
  secretBox?: SecretBox | undefined;
  /** HTTP_ALLOW_PRIVATE: hosts and ranges an `openai` credential's baseUrl may point at despite the SSRF guard. */
  httpAllowPrivate?: readonly string[] | undefined;
}

/** A credential as the API shows it: never the value, not even a part of it. */
const credentialView = (row: Credential) => ({
  id: row.id,
  name: row.name,
  kind: row.kind,
  meta: row.meta,
  hasValue: true as const,
  ownerId: row.ownerId ?? null,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

function requireBox(deps: CredentialDeps): SecretBox {
  if (!deps.secretBox) throw new HttpError(503, 'secret_key_missing', 'Credential values are stored encrypted, and this API has no key: set CHAINFLOW_SECRET_KEY and restart it.');
  return deps.secretBox;
}

/** The credential with this id if the principal may do `action` on it; 404 (missing or not shared) or 403. */
async function findCredential(em: EntityManager, principal: Principal | null, id: string, action: Action): Promise<Credential> {
  const row = await em.findOne(CredentialSchema, { id });
  authorize(principal, 'credential:list');
  if (!row) throw new HttpError(404, 'credential_not_found', `No credential with id "${id}".`);
  authorize(principal, action, { type: 'credential', id: row.id, ownerId: row.ownerId ?? null, ref: id });
  return row;
}

const sharedCredential = (row: Credential): SharedResource => ({
  type: 'credential',
  id: row.id,
  ownerId: row.ownerId ?? null,
  label: `credential '${row.name}'`,
  ownerRemovalHint: "The owner's access cannot be removed; share the credential with someone else instead.",
});

/** An access-list entry with the credential role names (use, manage, owner). */
const credentialGrant = <T extends { role: Parameters<typeof credentialRoleName>[0] }>(entry: T) => ({ ...entry, role: credentialRoleName(entry.role) });

/** The field a {@link checkCredential} problem is about. */
const fieldOf = (problem: string) => (/meta/.test(problem) ? 'body.meta' : /value/.test(problem) ? 'body.value' : /kind/.test(problem) ? 'body.kind' : 'body.name');
const invalid = (problem: string) => new HttpError(400, 'invalid_credential', `${fieldOf(problem)}: ${problem}`, { field: fieldOf(problem) });

/** An `openai` baseUrl the worker's SSRF guard would refuse (loopback, private, metadata…), refused now. */
async function checkBaseUrl(deps: CredentialDeps, kind: string, meta: CredentialMeta): Promise<void> {
  if (kind !== 'openai' || meta.baseUrl === undefined) return;
  const problem = await outboundUrlProblem(meta.baseUrl, { allow: deps.httpAllowPrivate ?? [] });
  if (problem) throw new HttpError(400, 'invalid_credential', `body.meta.baseUrl: ${problem}`, { field: 'body.meta.baseUrl' });
}

const nameTaken = (name: string) => new HttpError(409, 'credential_exists', `A credential named '${name}' exists; pick another name or update that one.`, { field: 'body.name' });

/**
 * Chains whose draft or active version refer to the credential: by id or name in a
 * node's credential setting, or as {{ secrets.NAME }} (`byName` only: what a rename breaks).
 */
async function usersOf(em: EntityManager, row: Credential, byName = false): Promise<string[]> {
  const refs = byName ? row.name : `${row.id}|${row.name}`;
  const pattern = `"credentialId": "(${refs})"|secrets\\.${row.name}([^A-Za-z0-9_]|$)`;
  const rows = await em.getConnection().execute<{ slug: string }[]>(
    `select c.slug from chain c left join chain_version v on v.id = c.active_version_id
      where c.draft_graph::text ~ ? or coalesce(v.graph::text, '') ~ ? order by c.slug`,
    [pattern, pattern],
  );
  return rows.map((r) => r.slug);
}

function inUse(row: Credential, chains: string[], what: string): HttpError {
  return new HttpError(
    409,
    'credential_in_use',
    `Credential '${row.name}' is used by chain${chains.length > 1 ? 's' : ''} ${chains.map((s) => `"${s}"`).join(', ')}; change ${chains.length > 1 ? 'them' : 'it'} first, or ${what} with ?force=true.`,
    { chains },
  );
}

/**
 * `/credentials`: secrets the chains use by id or name (LLM keys, HTTP tokens, webhook
 * secrets). Values are write-only: encrypted at rest, decrypted only inside activities,
 * never in a response, log, audit entry or error. Each has an owner and grants (`use`,
 * `manage`), like chains and bots; admins see and use all.
 */
export function credentialOperations(deps: CredentialDeps): Operation[] {
  return [
    defineOperation({
      method: 'get',
      path: '/credentials',
      operationId: 'listCredentials',
      summary: 'List the credentials you may use (names, kinds and settings; never values)',
      description: 'Yours, those shared with you (use or manage) and, for admins, all.',
      tags,
      auth: 'bearer',
      query: credentialListQuerySchema,
      responses: { 200: { description: 'A page of credentials, by name', schema: credentialListSchema } },
      handler: async ({ res, em, query, principal }) => {
        authorize(principal, 'credential:list');
        const where: Record<string, unknown> = {};
        const visible = visibleCredentials(principal);
        if (!visible.all) where.$or = [{ ownerId: visible.ownerId }, ...(visible.ids.length ? [{ id: { $in: visible.ids } }] : [])];
        if (query.q) where.name = { $ilike: `%${escapeLike(query.q)}%` };
        if (query.kind) where.kind = query.kind;
        const [rows, total] = await em.findAndCount(CredentialSchema, where, { orderBy: { name: 'asc' }, offset: query.offset, limit: query.limit });
        res.json({ items: rows.map(credentialView), total });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/credentials',
      operationId: 'createCredential',
      summary: 'Store a credential (the value is encrypted and never shown again)',
      description: 'Editors and admins create credentials; the creator owns it and may share it (use or manage). Names are unique in the installation. Needs CHAINFLOW_SECRET_KEY (503 without it).',
      tags,
      auth: 'bearer',
      body: createCredentialBodySchema,
      errors: [409, 503],
      responses: { 201: { description: 'The credential, without its value', schema: credentialSchema } },
      handler: async ({ res, em, body, principal, audit }) => {
        authorize(principal, 'credential:create');
        const box = requireBox(deps);
        const meta = (body.meta ?? {}) as CredentialMeta;
        const problem = checkCredential({ name: body.name, kind: body.kind, value: body.value, meta });
        if (problem) throw invalid(problem);
        await checkBaseUrl(deps, body.kind, meta);
        if (await em.findOne(CredentialSchema, { name: body.name })) throw nameTaken(body.name);
        let row: Credential;
        try {
          row = await createCredential(em, box, { name: body.name, kind: body.kind, value: body.value, meta, ownerId: principal.user.id });
        } catch (err) {
          if (err instanceof UniqueConstraintViolationException) throw nameTaken(body.name);
          if (err instanceof CredentialError) throw invalid(err.message);
          throw err;
        }
        audit({ action: 'credential.create', targetType: 'credential', targetId: row.id, summary: { after: { name: row.name, kind: row.kind, meta: row.meta } } });
        await em.flush();
        res.status(201).json(credentialView(row));
      },
    }),
    defineOperation({
      method: 'get',
      path: '/credentials/:id',
      operationId: 'getCredential',
      summary: 'One credential (never its value)',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404],
      responses: { 200: { description: 'The credential, without its value', schema: credentialSchema } },
      handler: async ({ res, em, params, principal }) => {
        res.json(credentialView(await findCredential(em, principal, params.id, 'credential:view')));
      },
    }),
    defineOperation({
      method: 'patch',
      path: '/credentials/:id',
      operationId: 'updateCredential',
      summary: 'Rotate a credential’s value, rename it, or replace its settings',
      description: 'Needs the manage role on it (or ownership). A rename is refused (409 credential_in_use) while chains refer to the old name, unless force=true.',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      query: forceQuerySchema,
      body: updateCredentialBodySchema,
      errors: [404, 409, 503],
      responses: { 200: { description: 'The credential, without its value', schema: credentialSchema } },
      handler: async ({ res, em, params, query, body, principal, audit }) => {
        const row = await findCredential(em, principal, params.id, 'credential:edit');
        const name = body.name ?? row.name;
        const meta = (body.meta ?? row.meta) as CredentialMeta;
        // The stored value passed these checks when it was stored: only a new one is measured.
        const problem = checkCredential({ name, kind: row.kind, meta, value: body.value ?? 'x'.repeat(MIN_SECRET_LENGTH) });
        if (problem) throw invalid(problem);
        if (body.meta !== undefined) await checkBaseUrl(deps, row.kind, meta);
        if (name !== row.name) {
          if (await em.findOne(CredentialSchema, { name, id: { $ne: row.id } })) throw nameTaken(name);
          const users = await usersOf(em, row, true);
          if (users.length && query.force !== 'true') throw inUse(row, users, 'rename it');
        }
        const box = body.value !== undefined ? requireBox(deps) : undefined;
        const before = { name: row.name, meta: row.meta };
        row.name = name;
        row.meta = meta;
        if (box && body.value !== undefined) row.encryptedValue = box.encrypt(body.value, credentialContext(row.id));
        audit({ action: 'credential.update', targetType: 'credential', targetId: row.id, summary: { before, after: { name: row.name, meta: row.meta }, ...(box ? { rotated: true } : {}) } });
        try {
          await em.flush();
        } catch (err) {
          if (err instanceof UniqueConstraintViolationException) throw nameTaken(name);
          throw err;
        }
        res.json(credentialView(row));
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/credentials/:id',
      operationId: 'deleteCredential',
      summary: 'Delete a credential',
      description: "Only its owner and admins. Refused (409 credential_in_use) while a chain's draft or active version refers to it (by id, by name, or as {{ secrets.NAME }}), unless force=true.",
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      query: forceQuerySchema,
      errors: [404, 409],
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ res, em, params, query, principal, audit }) => {
        const row = await findCredential(em, principal, params.id, 'credential:delete');
        const users = await usersOf(em, row);
        if (users.length && query.force !== 'true') throw inUse(row, users, 'delete it');
        em.remove(row);
        audit({ action: 'credential.delete', targetType: 'credential', targetId: row.id, summary: { before: { name: row.name, kind: row.kind }, usedBy: users } });
        await em.flush();
        res.status(204).end();
      },
    }),
    defineOperation({
      method: 'get',
      path: '/credentials/:id/grants',
      operationId: 'listCredentialGrants',
      summary: 'Who may use a credential: its owner and the users it is shared with',
      tags: ['sharing'],
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404],
      responses: { 200: { description: 'Owner first, then grants by e-mail', schema: credentialGrantListSchema } },
      handler: async ({ res, em, params, principal }) => {
        const row = await findCredential(em, principal, params.id, 'credential:view');
        const access = await listAccess(em, sharedCredential(row));
        res.json({ items: access.items.map(credentialGrant), total: access.total });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/credentials/:id/grants',
      operationId: 'shareCredential',
      summary: 'Share a credential with a user (use or manage); changes the role of an existing share',
      description: 'use: the user may list it, read its settings and use it in chains they publish; manage: also rotate, rename and change its settings. Only the owner and admins share. Taking a share away also stops the versions that user published before from using it.',
      tags: ['sharing'],
      auth: 'bearer',
      params: idParamsSchema,
      body: credentialShareBodySchema,
      errors: [404, 409],
      responses: { 200: { description: 'The user’s access', schema: credentialGrantViewSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const row = await findCredential(em, principal, params.id, 'credential:share');
        const view = await shareResource(em, principal, sharedCredential(row), { ...body, role: credentialGrantRole(body.role) }, audit);
        res.json(credentialGrant(view));
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/credentials/:id/grants/:userId',
      operationId: 'unshareCredential',
      summary: 'Stop sharing a credential with a user',
      description: 'Chain versions that user published stop using it at once (their nodes fail with credential_forbidden).',
      tags: ['sharing'],
      auth: 'bearer',
      params: credentialGrantParamsSchema,
      errors: [404, 409],
      responses: { 204: { description: 'Removed' } },
      handler: async ({ res, em, params, principal, audit }) => {
        const row = await findCredential(em, principal, params.id, 'credential:share');
        await unshareResource(em, sharedCredential(row), params.userId, audit);
        res.status(204).end();
      },
    }),
  ];
}
