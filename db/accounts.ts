import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

// The control plane's entities (DESIGN.md › Contracts: User, RefreshToken, Grant,
// AuditEntry; Invite carries the invite-only registration flow). Ids are UUIDs made by
// the application, except AuditEntry, a bigserial so entries keep their order.

/** Installation-wide roles: admin manages everything, editor creates chains, viewer reads what is shared. */
export const globalRoles = ['admin', 'editor', 'viewer'] as const;
export type GlobalRole = (typeof globalRoles)[number];

/** Roles on one resource (a chain or a bot). */
export const resourceRoles = ['owner', 'editor', 'viewer'] as const;
export type ResourceRole = (typeof resourceRoles)[number];

/**
 * Resources a grant can name. Credential grants use two of the roles: `viewer` is the
 * API's `use` (list, read the metadata, use in chains), `editor` is `manage` (also rotate,
 * rename, change settings); only the owner (and admins) share and delete.
 */
export const resourceTypes = ['chain', 'bot', 'credential', 'knowledge_base'] as const;
export type ResourceType = (typeof resourceTypes)[number];

export const userStatuses = ['active', 'disabled'] as const;
export type UserStatus = (typeof userStatuses)[number];

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'app_user',
  properties: {
    id: p.uuid().primary(),
    /** Lower-cased; unique. */
    email: p.string().length(254).unique(),
    name: p.string().length(200).default(''),
    /** argon2id PHC string. */
    passwordHash: p.text(),
    role: p.enum(globalRoles),
    status: p.enum(userStatuses).default('active'),
    /** Part of every access token; bumping it (password change, disable) invalidates them at once. */
    tokenVersion: p.integer().default(0),
    /** Consecutive failed logins; reset by a successful one. */
    failedLogins: p.integer().default(0),
    lockedUntil: p.datetime().nullable(),
    /** TOTP secret, encrypted with the secret box (`totp:<userId>` as associated data). */
    totpSecret: p.text().nullable(),
    totpEnabled: p.boolean().default(false),
    /** Time step of the last accepted TOTP code: a code is accepted once. */
    totpLastStep: p.bigint('number').nullable(),
    lastLoginAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type User = InferEntity<typeof UserSchema>;

/**
 * An opaque refresh token, stored as its SHA-256. Each login starts a family; each
 * refresh rotates the token within the family. Presenting a rotated token again means
 * it leaked: the whole family is revoked.
 */
export const RefreshTokenSchema = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_token',
  properties: {
    id: p.uuid().primary(),
    userId: p.uuid().index(),
    familyId: p.uuid().index(),
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    /** Set when the token was exchanged for a new one. */
    usedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    ip: p.string().length(64).nullable(),
  },
});
export type RefreshToken = InferEntity<typeof RefreshTokenSchema>;

/** A user's role on one chain or bot (the owner of a chain is also `chain.ownerId`). */
export const GrantSchema = defineEntity({
  name: 'Grant',
  tableName: 'access_grant',
  uniques: [{ properties: ['userId', 'resourceType', 'resourceId'] }],
  indexes: [{ properties: ['resourceType', 'resourceId'] }],
  properties: {
    id: p.uuid().primary(),
    userId: p.uuid(),
    resourceType: p.enum(resourceTypes),
    resourceId: p.uuid(),
    role: p.enum(resourceRoles),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type Grant = InferEntity<typeof GrantSchema>;

/** An admin-made invitation (REGISTRATION=invite): a one-time code, stored as its SHA-256. */
export const InviteSchema = defineEntity({
  name: 'Invite',
  tableName: 'invite',
  properties: {
    id: p.uuid().primary(),
    codeHash: p.string().length(64).unique(),
    role: p.enum(globalRoles),
    /** When set, only this address may use the code. */
    email: p.string().length(254).nullable(),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    usedBy: p.uuid().nullable(),
  },
});
export type Invite = InferEntity<typeof InviteSchema>;

/**
 * A one-time setup token of a fresh installation, stored as its SHA-256 (any API replica
 * accepts it). The registration that carries it becomes the first admin; once an admin
 * exists (by that registration or `chainflow user create --role admin`) every row is deleted.
 */
export const SetupTokenSchema = defineEntity({
  name: 'SetupToken',
  tableName: 'setup_token',
  properties: {
    id: p.uuid().primary(),
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type SetupToken = InferEntity<typeof SetupTokenSchema>;

/** One change or login, who did it, from where; summaries never hold secrets. */
export const AuditEntrySchema = defineEntity({
  name: 'AuditEntry',
  tableName: 'audit_entry',
  indexes: [{ properties: ['at'] }, { properties: ['actorId', 'at'] }, { properties: ['targetType', 'targetId'] }, { properties: ['action'] }],
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    at: p.datetime().onCreate(() => new Date()),
    actorId: p.uuid().nullable(),
    /** The actor's (or, for failed logins, the attempted) e-mail at the time. */
    actorEmail: p.string().length(254).nullable(),
    /** `noun.verb`, e.g. `chain.publish`, `auth.login_failed`. */
    action: p.string().length(60),
    targetType: p.string().length(30).nullable(),
    targetId: p.string().length(300).nullable(),
    /** `{before?, after?, …}` with secrets removed. */
    summary: p.json<Record<string, unknown>>(),
    ip: p.string().length(64).nullable(),
  },
});
export type AuditEntry = InferEntity<typeof AuditEntrySchema>;

export const accountEntities = [UserSchema, RefreshTokenSchema, GrantSchema, InviteSchema, AuditEntrySchema, SetupTokenSchema];
