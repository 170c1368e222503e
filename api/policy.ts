// The one place that decides who may do what. Routes call `authorize(principal, action,
// resource)` (or `can` to branch); nothing else compares roles.
//
// Global roles: admin may do everything; editor may create and import chains; viewer
// may only open what is shared with them. Per-resource roles (a chain's owner, or a
// Grant): viewer reads, editor also changes the draft, publishes, rolls back and uses
// the simulator, owner also shares and deletes. A resource the user has no role on is
// answered 404, as if it did not exist; a role too small is 403.
//
// Runs take their permissions from their chain: viewers of the chain read its runs,
// editors start, message, cancel, terminate and migrate them. Bots have their own roles
// (owner, or a Grant on the bot): viewer reads, editor changes, owner shares and deletes;
// editors (global) create bots. Credentials have owners and grants too (`use` is stored as
// the viewer role, `manage` as editor): use lists, reads the metadata and uses the
// credential in chains, manage also rotates, renames and changes settings, the owner
// also shares and deletes; editors (global) create credentials.

import type { ResourceRole, ResourceType } from '../db/accounts.ts';
import { grantKey, type Principal } from './auth/principal.ts';
import { HttpError } from './errors.ts';

export type Action =
  /** Own account: me, password, TOTP. */
  | 'account:self'
  | 'node-types:read'
  | 'chain:list'
  | 'chain:create'
  | 'chain:view'
  | 'chain:edit'
  | 'chain:delete'
  | 'chain:share'
  | 'run:list'
  /** Read a run: the viewer role on its chain. */
  | 'run:view'
  /** Start, message, cancel, terminate or migrate runs: the editor role on their chain. */
  | 'run:control'
  | 'bot:list'
  | 'bot:create'
  | 'bot:view'
  | 'bot:edit'
  | 'bot:delete'
  | 'bot:share'
  | 'credential:list'
  /** Store a new credential: global editors and admins. */
  | 'credential:create'
  /** Read a credential's metadata (never its value): the use role. */
  | 'credential:view'
  /** Use it in a chain (`secrets.NAME`, `credentialId`): the use role. */
  | 'credential:use'
  /** Rotate, rename, change settings: the manage role. */
  | 'credential:edit'
  | 'credential:delete'
  | 'credential:share'
  | 'knowledge:list'
  /** Create a knowledge base: global editors and admins. */
  | 'knowledge:create'
  /** Read a base, its documents and ingestion status, query it, use it in chains: the viewer role. */
  | 'knowledge:view'
  /** Upload, re-ingest and delete documents, change settings: the editor role. */
  | 'knowledge:edit'
  | 'knowledge:delete'
  | 'knowledge:share'
  | 'user:manage'
  | 'audit:read'
  /** See the installed plugins, their status, permissions and last errors: every signed-in user. */
  | 'plugin:list'
  /** Enable, disable, approve, change settings of and reload plugins: admins. */
  | 'plugin:manage';

/** A chain or bot as far as the policy cares. */
export interface Resource {
  type: ResourceType;
  id: string;
  ownerId: string | null;
  /** How the caller named it (id or slug), for the 404 message. */
  ref?: string;
  /** Set when the caller reached the chain through one of its runs: a 404 then names the run. */
  run?: string;
}

const rank: Record<ResourceRole, number> = { viewer: 1, editor: 2, owner: 3 };

/** The role each per-resource action needs. */
const needs: Partial<Record<Action, ResourceRole>> = {
  'chain:view': 'viewer',
  'chain:edit': 'editor',
  'chain:delete': 'owner',
  'chain:share': 'owner',
  'run:view': 'viewer',
  'run:control': 'editor',
  'bot:view': 'viewer',
  'bot:edit': 'editor',
  'bot:delete': 'owner',
  'bot:share': 'owner',
  'credential:view': 'viewer',
  'credential:use': 'viewer',
  'credential:edit': 'editor',
  'credential:delete': 'owner',
  'credential:share': 'owner',
  'knowledge:view': 'viewer',
  'knowledge:edit': 'editor',
  'knowledge:delete': 'owner',
  'knowledge:share': 'owner',
};

/** The principal's role on a resource: ownership, else a grant; admins count as owners. */
export function roleOn(principal: Principal, resource: Resource): ResourceRole | null {
  if (principal.user.role === 'admin') return 'owner';
  if (resource.ownerId !== null && resource.ownerId === principal.user.id) return 'owner';
  return principal.grants.get(grantKey(resource.type, resource.id)) ?? null;
}

/** Whether the principal may do `action` (on `resource`, for per-resource actions). */
export function can(principal: Principal, action: Action, resource?: Resource): boolean {
  const { role } = principal.user;
  if (role === 'admin') return true;
  switch (action) {
    case 'account:self':
    case 'node-types:read':
    case 'chain:list':
    case 'run:list':
    case 'bot:list':
    case 'credential:list':
    case 'knowledge:list':
    case 'plugin:list':
      return true;
    case 'chain:create':
    case 'bot:create':
    case 'credential:create':
    case 'knowledge:create':
      return role === 'editor';
    case 'user:manage':
    case 'audit:read':
    case 'plugin:manage':
      return false;
    default: {
      const required = needs[action];
      if (!required || !resource) return false;
      const has = roleOn(principal, resource);
      return has !== null && rank[has] >= rank[required];
    }
  }
}

const verbs: Record<Action, string> = {
  'account:self': 'use this account',
  'node-types:read': 'read the node types',
  'chain:list': 'list chains',
  'chain:create': 'create or import chains',
  'chain:view': 'open this chain',
  'chain:edit': 'change, publish or simulate this chain',
  'chain:delete': 'delete this chain',
  'chain:share': 'share this chain',
  'run:list': 'list runs',
  'run:view': 'open this run',
  'run:control': 'start, message, cancel, terminate or migrate runs of this chain',
  'bot:list': 'list bots',
  'bot:create': 'create bots',
  'bot:view': 'open this bot',
  'bot:edit': 'change this bot',
  'bot:delete': 'delete this bot',
  'bot:share': 'share this bot',
  'credential:list': 'list credentials',
  'credential:create': 'create credentials',
  'credential:view': 'open this credential',
  'credential:use': 'use this credential',
  'credential:edit': 'change this credential',
  'credential:delete': 'delete this credential',
  'credential:share': 'share this credential',
  'knowledge:list': 'list knowledge bases',
  'knowledge:create': 'create knowledge bases',
  'knowledge:view': 'open or query this knowledge base',
  'knowledge:edit': 'change the documents of this knowledge base',
  'knowledge:delete': 'delete this knowledge base',
  'knowledge:share': 'share this knowledge base',
  'user:manage': 'manage users and invites',
  'audit:read': 'read the audit log',
  'plugin:list': 'list plugins',
  'plugin:manage': 'enable, approve, configure or reload plugins',
};

/**
 * Throws unless the principal may do `action`: 401 without a principal, 404 for a
 * resource they have no role on, 403 otherwise (the message names the role needed).
 */
export function authorize(principal: Principal | null, action: Action, resource?: Resource): asserts principal is Principal {
  if (!principal) throw new HttpError(401, 'unauthenticated', 'Sign in first: send Authorization: Bearer <accessToken> (POST /api/v1/auth/login).');
  if (can(principal, action, resource)) return;
  if (resource) {
    const has = roleOn(principal, resource);
    if (has === null && resource.run !== undefined) throw new HttpError(404, 'run_not_found', `No run with id "${resource.run}".`);
    if (has === null) throw new HttpError(404, `${resource.type}_not_found`, `No ${resource.type} with id${resource.type === 'chain' ? ' or slug' : ''} "${resource.ref ?? resource.id}".`);
    const where = resource.run !== undefined ? "on this run's chain" : `on this ${resource.type}`;
    const required = needs[action];
    const name = (r: ResourceRole | undefined) => (resource.type === 'credential' && r ? credentialRoleName(r) : r);
    throw new HttpError(403, 'forbidden', `You may not ${verbs[action]}: it needs the ${name(required)} role ${where} and you are ${name(has)}. Ask its owner or an admin.`, {
      required: name(required),
      role: name(has),
    });
  }
  const hint = action === 'chain:create' || action === 'bot:create' || action === 'credential:create' || action === 'knowledge:create' ? 'ask an admin for the editor role' : 'ask an admin';
  throw new HttpError(403, 'forbidden', `You may not ${verbs[action]} with the ${principal.user.role} role; ${hint}.`, { role: principal.user.role });
}

/**
 * Which chains a principal may see in lists, as a filter: all for admins, otherwise
 * those they own or have a grant on.
 */
export function visibleChains(principal: Principal): { all: true } | { all: false; ownerId: string; ids: string[] } {
  return visible(principal, 'chain');
}

/** The API's name of a credential role: `use` (stored as viewer), `manage` (editor), `owner`. */
export function credentialRoleName(role: ResourceRole): 'use' | 'manage' | 'owner' {
  return role === 'viewer' ? 'use' : role === 'editor' ? 'manage' : 'owner';
}

/** The stored role of a credential grant role. */
export function credentialGrantRole(role: 'use' | 'manage'): ResourceRole {
  return role === 'use' ? 'viewer' : 'editor';
}

/** Which credentials a principal may see in lists (as {@link visibleChains}). */
export function visibleCredentials(principal: Principal): { all: true } | { all: false; ownerId: string; ids: string[] } {
  return visible(principal, 'credential');
}

/** Which knowledge bases a principal may see in lists (as {@link visibleChains}). */
export function visibleKnowledgeBases(principal: Principal): { all: true } | { all: false; ownerId: string; ids: string[] } {
  return visible(principal, 'knowledge_base');
}

/** Which bots a principal may see in lists (as {@link visibleChains}). */
export function visibleBots(principal: Principal): { all: true } | { all: false; ownerId: string; ids: string[] } {
  return visible(principal, 'bot');
}

function visible(principal: Principal, type: ResourceType): { all: true } | { all: false; ownerId: string; ids: string[] } {
  if (principal.user.role === 'admin') return { all: true };
  const ids: string[] = [];
  const prefix = `${type}:`;
  for (const key of principal.grants.keys()) if (key.startsWith(prefix)) ids.push(key.slice(prefix.length));
  return { all: false, ownerId: principal.user.id, ids };
}
