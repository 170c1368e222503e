import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * What a personal access token may do: `read` everything its user may open, `edit`
 * drafts, chains, bots and credentials, `publish` (and roll back) chains, `runs` start,
 * message and stop sessions. Every scope still stops at its user's roles.
 */
export const tokenScopes = ['read', 'edit', 'publish', 'runs'] as const;
export type TokenScope = (typeof tokenScopes)[number];

/**
 * A personal access token (`cfp_…`) for scripts and AI assistants (MCP), stored as its
 * SHA-256 like refresh tokens. Revoking sets `revokedAt`; the row stays for the audit trail.
 */
export const PersonalTokenSchema = defineEntity({
  name: 'PersonalToken',
  tableName: 'personal_token',
  properties: {
    id: p.uuid().primary(),
    userId: p.uuid().index(),
    name: p.string().length(100),
    tokenHash: p.string().length(64).unique(),
    /** The first characters of the token (`cfp_abcd`), to tell tokens apart in lists. */
    prefix: p.string().length(16),
    scopes: p.json<TokenScope[]>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type PersonalToken = InferEntity<typeof PersonalTokenSchema>;
