import { z } from 'zod';
import { CREDENTIAL_NAME, credentialKinds } from '../../db/credential.ts';
import { emailSchema } from './auth.ts';
import { dateTime, listOf, pagingShape, uuidSchema } from './common.ts';

const nameSchema = z
  .string()
  .regex(CREDENTIAL_NAME, "Use letters, digits and '_' (not starting with a digit), up to 100: the name is {{ secrets.NAME }} in templates")
  .meta({ description: 'Unique; {{ secrets.NAME }} in templates, or a credential reference by name in node settings', example: 'openai_key' });

const valueSchema = z.string().min(1).max(10_000).meta({ description: 'The secret (write-only: never returned)', format: 'password' });

const metaSchema = z
  .record(z.string().min(1).max(100), z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]))
  .refine((m) => Object.keys(m).length <= 50, 'At most 50 settings')
  .meta({
    description:
      'Non-secret settings per kind: openai → baseUrl, organization, project, stream; basic → username; header → header (its name). Never put secrets here: meta is shown to every editor.',
  });

export const credentialSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(credentialKinds),
    meta: z.record(z.string(), z.unknown()),
    hasValue: z.literal(true).meta({ description: 'The value is stored (encrypted); it is never returned' }),
    ownerId: z.uuid().nullable().meta({ description: 'Who created it (its owner: shares and deletes it)' }),
    createdAt: dateTime,
    updatedAt: dateTime,
  })
  .meta({ id: 'Credential' });

export const credentialListSchema = listOf(credentialSchema, 'CredentialList');

export const credentialListQuerySchema = z.strictObject({
  q: z.string().max(100).optional().meta({ description: 'Part of the name' }),
  kind: z.enum(credentialKinds).optional(),
  ...pagingShape,
});

export const createCredentialBodySchema = z
  .strictObject({
    name: nameSchema,
    kind: z.enum(credentialKinds).meta({ description: 'openai (API key), bearer (token), basic (password), header (header value), secret (plain value for {{ secrets.NAME }})' }),
    value: valueSchema,
    meta: metaSchema.optional(),
  })
  .meta({ id: 'CreateCredentialRequest' });

export const updateCredentialBodySchema = z
  .strictObject({
    name: nameSchema.optional().meta({ description: 'Rename; chains that use the old name must be changed (409 credential_in_use unless force=true)' }),
    value: valueSchema.optional().meta({ description: 'Rotate: the new secret (write-only)', format: 'password' }),
    meta: metaSchema.optional().meta({ description: 'Replaces the settings' }),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'Send at least one of name, value, meta' })
  .meta({ id: 'UpdateCredentialRequest' });

export const forceQuerySchema = z.strictObject({
  force: z.enum(['true', 'false']).default('false').meta({ description: 'true: go ahead although chains use the credential (they fail until fixed)' }),
});

/** Roles on a credential: `use` (list, read the settings, use in chains), `manage` (also rotate, rename, change settings). */
export const credentialGrantRoles = ['use', 'manage'] as const;

export const credentialShareBodySchema = z
  .strictObject({
    userId: z.uuid().optional(),
    email: emailSchema.optional(),
    role: z.enum(credentialGrantRoles).meta({ description: 'use: list it, read its settings and use it in chains; manage: also rotate, rename and change settings' }),
  })
  .refine((b) => (b.userId === undefined) !== (b.email === undefined), { message: 'Send either userId or email', path: ['userId'] })
  .meta({ id: 'CredentialShareRequest' });

export const credentialGrantViewSchema = z
  .object({
    userId: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: z.enum(['owner', ...credentialGrantRoles]),
    source: z.enum(['owner', 'grant']).meta({ description: "'owner': the credential's owner; 'grant': shared" }),
    createdAt: dateTime.nullable(),
  })
  .meta({ id: 'CredentialGrant' });
export const credentialGrantListSchema = listOf(credentialGrantViewSchema, 'CredentialGrantList');
export const credentialGrantParamsSchema = z.strictObject({ id: uuidSchema, userId: uuidSchema });
