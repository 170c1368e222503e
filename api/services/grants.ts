import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { GrantSchema, UserSchema, type ResourceRole, type ResourceType, type User } from '../../db/accounts.ts';
import type { Principal } from '../auth/principal.ts';
import { notifyAccessChanged } from '../../db/notify.ts';
import { HttpError } from '../errors.ts';
import type { AuditInput } from './audit.ts';

/** A shared resource (chain or bot) as the sharing routes see it. */
export interface SharedResource {
  type: ResourceType;
  id: string;
  ownerId: string | null;
  /** For messages: `chain "support"`, `bot "Support bot"`. */
  label: string;
  /** Why the owner's access cannot be removed, and what to do instead. */
  ownerRemovalHint: string;
}

export interface ShareBody {
  userId?: string | undefined;
  email?: string | undefined;
  role: ResourceRole;
}

/** One entry of an access list. */
export const grantView = (user: User, role: ResourceRole, source: 'owner' | 'grant', createdAt: Date | null) => ({
  userId: user.id,
  email: user.email,
  name: user.name,
  role,
  source,
  createdAt,
});

/** Who has access: the owner first, then the users it is shared with, by e-mail. */
export async function listAccess(em: EntityManager, resource: SharedResource) {
  const grants = await em.find(GrantSchema, { resourceType: resource.type, resourceId: resource.id });
  const ids = [...new Set([...grants.map((g) => g.userId), ...(resource.ownerId ? [resource.ownerId] : [])])];
  const users = new Map((ids.length ? await em.find(UserSchema, { id: { $in: ids } }) : []).map((u) => [u.id, u]));
  const owner = resource.ownerId ? users.get(resource.ownerId) : undefined;
  const shared = grants.flatMap((g) => {
    const user = users.get(g.userId);
    return user && g.userId !== resource.ownerId ? [grantView(user, g.role, 'grant', g.createdAt)] : [];
  });
  const items = [...(owner ? [grantView(owner, 'owner', 'owner', null)] : []), ...shared.sort((a, b) => a.email.localeCompare(b.email))];
  return { items, total: items.length };
}

/** Shares a resource with a user, or changes the role of an existing share; audited. */
export async function shareResource(em: EntityManager, principal: Principal, resource: SharedResource, body: ShareBody, audit: (entry: AuditInput) => void) {
  const user = await em.findOne(UserSchema, body.userId ? { id: body.userId } : { email: String(body.email).toLowerCase() });
  if (!user) throw new HttpError(404, 'user_not_found', `No user ${body.userId ?? body.email}; they must have an account first (POST /api/v1/users or an invite).`);
  if (user.id === resource.ownerId) throw new HttpError(409, 'already_owner', `${user.email} owns ${resource.label} already.`);
  let grant = await em.findOne(GrantSchema, { userId: user.id, resourceType: resource.type, resourceId: resource.id });
  const before = grant?.role ?? null;
  if (grant) grant.role = body.role;
  else grant = em.create(GrantSchema, { id: randomUUID(), userId: user.id, resourceType: resource.type, resourceId: resource.id, role: body.role, createdBy: principal.user.id });
  audit({ action: `${resource.type}.share`, targetType: resource.type, targetId: resource.id, summary: { user: user.email, userId: user.id, before: { role: before }, after: { role: body.role } } });
  await em.flush();
  await notifyAccessChanged(em, user.id);
  return grantView(user, grant.role, 'grant', grant.createdAt);
}

/** Stops sharing a resource with a user; the owner's access cannot be removed. Audited. */
export async function unshareResource(em: EntityManager, resource: SharedResource, userId: string, audit: (entry: AuditInput) => void): Promise<void> {
  if (userId === resource.ownerId) throw new HttpError(409, 'owner_cannot_be_removed', resource.ownerRemovalHint);
  const grant = await em.findOne(GrantSchema, { userId, resourceType: resource.type, resourceId: resource.id });
  if (!grant) throw new HttpError(404, 'grant_not_found', `${resource.label[0]?.toUpperCase()}${resource.label.slice(1)} is not shared with user ${userId}.`);
  em.remove(grant);
  audit({ action: `${resource.type}.unshare`, targetType: resource.type, targetId: resource.id, summary: { userId, before: { role: grant.role } } });
  await em.flush();
  await notifyAccessChanged(em, userId);
}
