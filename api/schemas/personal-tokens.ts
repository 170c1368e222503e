import { z } from 'zod';
import { tokenScopes } from '../../db/personal-tokens.ts';
import { dateTime, idParamsSchema, listOf, nullableDateTime } from './common.ts';

export const tokenScopeSchema = z.enum(tokenScopes).meta({
  description: "read: open what the user may open; edit: change drafts, chains, bots, credentials (and simulate); publish: publish, roll back, import; runs: start, message and stop sessions",
});

export const createPersonalTokenBodySchema = z
  .strictObject({
    name: z.string().trim().min(1, 'Name the token (e.g. "Claude Desktop")').max(100).meta({ example: 'Claude Desktop' }),
    scopes: z.array(tokenScopeSchema).min(1, "Give the token at least one scope, e.g. ['read']").max(tokenScopes.length),
    expiresAt: z.iso
      .datetime({ offset: true, message: 'Use an ISO 8601 date-time like 2027-01-31T00:00:00Z' })
      .refine((t) => new Date(t).getTime() > Date.now(), 'Pick a time in the future (or leave expiresAt out for a token that does not expire)')
      .optional()
      .meta({ description: 'When the token stops working; omit for no expiry' }),
  })
  .meta({ id: 'CreatePersonalTokenRequest' });

export const personalTokenSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().meta({ description: 'The first characters of the token, to tell tokens apart' }),
    scopes: z.array(tokenScopeSchema),
    createdAt: dateTime,
    expiresAt: nullableDateTime,
    lastUsedAt: nullableDateTime.meta({ description: 'Last request made with it (to the minute)' }),
    revokedAt: nullableDateTime,
  })
  .meta({ id: 'PersonalToken' });

export const createdPersonalTokenSchema = personalTokenSchema
  .extend({ token: z.string().meta({ description: 'The token (cfp_…), shown only in this response; send it as Authorization: Bearer' }) })
  .meta({ id: 'CreatedPersonalToken' });

export const personalTokenListSchema = listOf(personalTokenSchema, 'PersonalTokenList');
export const personalTokenParamsSchema = idParamsSchema;
