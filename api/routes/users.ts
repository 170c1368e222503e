import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ChainSchema } from '../../db/entities.ts';
import { BotSchema } from '../../db/bots.ts';
import { GrantSchema, InviteSchema, RefreshTokenSchema, UserSchema, type Invite, type User } from '../../db/accounts.ts';
import { notifyAccessChanged } from '../../db/notify.ts';
import { hashPassword } from '../auth/passwords.ts';
import { createUser, signOutEverywhere, userView } from '../auth/service.ts';
import { opaqueToken, tokenHash } from '../auth/tokens.ts';
import { HttpError } from '../errors.ts';
import { recordAudit } from '../services/audit.ts';
import { authorize } from '../policy.ts';
import { userSchema } from '../schemas/auth.ts';
import { escapeLike, idParamsSchema } from '../schemas/common.ts';
import {
  createdInviteSchema,
  createInviteBodySchema,
  createUserBodySchema,
  inviteListQuerySchema,
  inviteListSchema,
  updateUserBodySchema,
  userListQuerySchema,
  userListSchema,
} from '../schemas/users.ts';
import { defineOperation, type Operation } from './define.ts';

const tags: [string] = ['users'];

async function findUser(em: EntityManager, id: string): Promise<User> {
  const user = await em.findOne(UserSchema, { id });
  if (!user) throw new HttpError(404, 'user_not_found', `No user with id ${id}.`);
  return user;
}

/** 409 when the change would leave no active admin. */
async function keepAnAdmin(em: EntityManager, user: User, what: string): Promise<void> {
  if (user.role !== 'admin' || user.status !== 'active') return;
  const admins = await em.count(UserSchema, { role: 'admin', status: 'active' });
  if (admins <= 1) throw new HttpError(409, 'last_admin', `Cannot ${what} the last active admin; make another user admin first.`);
}

const inviteView = (invite: Invite) => ({
  id: invite.id,
  role: invite.role,
  email: invite.email ?? null,
  createdBy: invite.createdBy ?? null,
  createdAt: invite.createdAt,
  expiresAt: invite.expiresAt,
  usedAt: invite.usedAt ?? null,
  usedBy: invite.usedBy ?? null,
});

/** `/users` and `/invites`: account administration (admins only). */
export function userOperations(): Operation[] {
  return [
    defineOperation({
      method: 'get',
      path: '/users',
      operationId: 'listUsers',
      summary: 'List users',
      tags,
      auth: 'bearer',
      query: userListQuerySchema,
      responses: { 200: { description: 'A page of users, by e-mail', schema: userListSchema } },
      handler: async ({ res, em, query, principal }) => {
        authorize(principal, 'user:manage');
        const where: Record<string, unknown> = {};
        if (query.q) where.$or = [{ email: { $ilike: `%${escapeLike(query.q)}%` } }, { name: { $ilike: `%${escapeLike(query.q)}%` } }];
        if (query.role) where.role = query.role;
        if (query.status) where.status = query.status;
        const [users, total] = await em.findAndCount(UserSchema, where, { orderBy: { email: 'asc' }, offset: query.offset, limit: query.limit });
        res.json({ items: users.map(userView), total });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/users',
      operationId: 'createUser',
      summary: 'Create a user with a role and an initial password',
      tags,
      auth: 'bearer',
      body: createUserBodySchema,
      errors: [409],
      responses: { 201: { description: 'Created', schema: userSchema } },
      handler: async ({ res, em, body, principal, audit }) => {
        authorize(principal, 'user:manage');
        const user = await createUser(em, body);
        audit({ action: 'user.create', targetType: 'user', targetId: user.id, summary: { after: { email: user.email, role: user.role } } });
        await em.flush();
        res.status(201).json(userView(user));
      },
    }),
    defineOperation({
      method: 'get',
      path: '/users/:id',
      operationId: 'getUser',
      summary: 'One user',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404],
      responses: { 200: { description: 'The user', schema: userSchema } },
      handler: async ({ res, em, params, principal }) => {
        authorize(principal, 'user:manage');
        res.json(userView(await findUser(em, params.id)));
      },
    }),
    defineOperation({
      method: 'patch',
      path: '/users/:id',
      operationId: 'updateUser',
      summary: 'Change a user’s role or status, unlock them, reset their TOTP or set a password',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      body: updateUserBodySchema,
      errors: [404, 409],
      responses: { 200: { description: 'The updated user', schema: userSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        authorize(principal, 'user:manage');
        const user = await findUser(em, params.id);
        const before = { name: user.name, role: user.role, status: user.status, locked: Boolean(user.lockedUntil && user.lockedUntil > new Date()), totpEnabled: user.totpEnabled };
        if ((body.role && body.role !== 'admin') || body.status === 'disabled') await keepAnAdmin(em, user, body.status === 'disabled' ? 'disable' : 'demote');
        if (body.name !== undefined) user.name = body.name.trim();
        if (body.role) user.role = body.role;
        let endSessions = false;
        if (body.status) {
          if (body.status === 'disabled' && user.status === 'active') endSessions = true;
          user.status = body.status;
        }
        if (body.unlock) {
          user.lockedUntil = null;
          user.failedLogins = 0;
        }
        if (body.resetTotp) {
          user.totpEnabled = false;
          user.totpSecret = null;
          user.totpLastStep = null;
        }
        if (body.password) {
          user.passwordHash = await hashPassword(body.password);
          endSessions = true;
        }
        if (endSessions) await signOutEverywhere(em, user);
        const after = { name: user.name, role: user.role, status: user.status, locked: Boolean(user.lockedUntil && user.lockedUntil > new Date()), totpEnabled: user.totpEnabled };
        audit({ action: 'user.update', targetType: 'user', targetId: user.id, summary: { before, after, passwordSet: Boolean(body.password) } });
        await em.flush();
        await notifyAccessChanged(em, user.id);
        res.json(userView(user));
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/users/:id',
      operationId: 'deleteUser',
      summary: 'Delete a user; the chains they own pass to the admin who deletes them',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404, 409],
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ res, em, params, principal, actor }) => {
        authorize(principal, 'user:manage');
        const user = await findUser(em, params.id);
        if (user.id === principal.user.id) throw new HttpError(409, 'cannot_delete_self', 'You cannot delete your own account; ask another admin.');
        await keepAnAdmin(em, user, 'delete');
        await em.transactional(async (tx) => {
          const transferred = await tx.nativeUpdate(ChainSchema, { ownerId: user.id }, { ownerId: principal.user.id });
          const botsTransferred = await tx.nativeUpdate(BotSchema, { ownerId: user.id }, { ownerId: principal.user.id });
          await tx.nativeDelete(GrantSchema, { userId: user.id });
          await tx.nativeDelete(RefreshTokenSchema, { userId: user.id });
          await tx.nativeDelete(UserSchema, { id: user.id });
          recordAudit(tx, actor, { action: 'user.delete', targetType: 'user', targetId: user.id, summary: { before: { email: user.email, role: user.role }, chainsTransferred: transferred, botsTransferred } });
          await notifyAccessChanged(tx, user.id);
        });
        res.status(204).end();
      },
    }),
    defineOperation({
      method: 'get',
      path: '/invites',
      operationId: 'listInvites',
      summary: 'List invites (newest first)',
      tags,
      auth: 'bearer',
      query: inviteListQuerySchema,
      responses: { 200: { description: 'A page of invites', schema: inviteListSchema } },
      handler: async ({ res, em, query, principal }) => {
        authorize(principal, 'user:manage');
        const [invites, total] = await em.findAndCount(InviteSchema, {}, { orderBy: { createdAt: 'desc' }, offset: query.offset, limit: query.limit });
        res.json({ items: invites.map(inviteView), total });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/invites',
      operationId: 'createInvite',
      summary: 'Create a one-time invite code for registration (REGISTRATION=invite or open)',
      description: 'The code is returned once and stored only as its hash. The person registers with POST /auth/register and inviteCode, and gets the invite’s role.',
      tags,
      auth: 'bearer',
      body: createInviteBodySchema,
      responses: { 201: { description: 'The invite and its code', schema: createdInviteSchema } },
      handler: async ({ res, em, body, principal, audit }) => {
        authorize(principal, 'user:manage');
        const code = opaqueToken('cfi');
        const invite = em.create(InviteSchema, {
          id: randomUUID(),
          codeHash: tokenHash(code),
          role: body.role,
          email: body.email?.toLowerCase() ?? null,
          createdBy: principal.user.id,
          expiresAt: new Date(Date.now() + body.expiresInDays * 24 * 3600 * 1000),
          usedAt: null,
          usedBy: null,
        });
        audit({ action: 'invite.create', targetType: 'invite', targetId: invite.id, summary: { after: { role: invite.role, email: invite.email, expiresAt: invite.expiresAt } } });
        await em.flush();
        res.status(201).set('Cache-Control', 'no-store').json({ invite: inviteView(invite), code });
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/invites/:id',
      operationId: 'deleteInvite',
      summary: 'Withdraw an invite',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404],
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ res, em, params, principal, audit }) => {
        authorize(principal, 'user:manage');
        const invite = await em.findOne(InviteSchema, { id: params.id });
        if (!invite) throw new HttpError(404, 'invite_not_found', `No invite with id ${params.id}.`);
        em.remove(invite);
        audit({ action: 'invite.delete', targetType: 'invite', targetId: invite.id, summary: { before: { role: invite.role, email: invite.email, used: Boolean(invite.usedAt) } } });
        await em.flush();
        res.status(204).end();
      },
    }),
  ];
}
