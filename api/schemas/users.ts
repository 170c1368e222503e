import { z } from 'zod';
import { globalRoles, userStatuses } from '../../db/accounts.ts';
import { dateTime, listOf, nullableDateTime, pagingShape } from './common.ts';
import { emailSchema, newPasswordSchema, userSchema } from './auth.ts';

export const userListQuerySchema = z.strictObject({
  q: z.string().max(200).optional().meta({ description: 'Part of the e-mail or name' }),
  role: z.enum(globalRoles).optional(),
  status: z.enum(userStatuses).optional(),
  ...pagingShape,
});

export const userListSchema = listOf(userSchema, 'UserList');

export const createUserBodySchema = z
  .strictObject({
    email: emailSchema,
    password: newPasswordSchema.meta({ description: 'Initial password; tell it to the user out of band' }),
    name: z.string().max(200).optional(),
    role: z.enum(globalRoles),
  })
  .meta({ id: 'CreateUserRequest' });

export const updateUserBodySchema = z
  .strictObject({
    name: z.string().max(200).optional(),
    role: z.enum(globalRoles).optional(),
    status: z.enum(userStatuses).optional().meta({ description: 'disabled ends every session of the user at once' }),
    unlock: z.literal(true).optional().meta({ description: 'Lift a lock-out after failed sign-ins' }),
    resetTotp: z.literal(true).optional().meta({ description: 'Turn two-factor authentication off (lost device)' }),
    password: newPasswordSchema.optional().meta({ description: 'Set a new password; ends every session of the user' }),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'Send at least one of name, role, status, unlock, resetTotp, password' })
  .meta({ id: 'UpdateUserRequest' });

export const inviteSchema = z
  .object({
    id: z.uuid(),
    role: z.enum(globalRoles),
    email: z.string().nullable(),
    createdBy: z.uuid().nullable(),
    createdAt: dateTime,
    expiresAt: dateTime,
    usedAt: nullableDateTime,
    usedBy: z.uuid().nullable(),
  })
  .meta({ id: 'Invite' });

export const inviteListSchema = listOf(inviteSchema, 'InviteList');

export const createInviteBodySchema = z
  .strictObject({
    role: z.enum(globalRoles).default('editor'),
    email: emailSchema.optional().meta({ description: 'Only this address may use the code' }),
    expiresInDays: z.number().int().min(1).max(90).default(7),
  })
  .meta({ id: 'CreateInviteRequest' });

export const createdInviteSchema = z
  .object({
    invite: inviteSchema,
    code: z.string().meta({ description: 'The invite code, shown once: send it to the person to register with' }),
  })
  .meta({ id: 'CreatedInvite' });

export const inviteListQuerySchema = z.strictObject({ ...pagingShape });
