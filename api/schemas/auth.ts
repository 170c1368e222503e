import { z } from 'zod';
import { globalRoles, userStatuses } from '../../db/accounts.ts';
import { dateTime, nullableDateTime } from './common.ts';

export const emailSchema = z.email({ message: 'Use an e-mail address like ann@example.com' }).max(254).meta({ example: 'ann@example.com' });
export const newPasswordSchema = z
  .string()
  .min(10, 'Use at least 10 characters')
  .max(200, 'Use at most 200 characters')
  .meta({ description: 'At least 10 characters', format: 'password' });
const passwordSchema = z.string().min(1, 'Send the password').max(200).meta({ format: 'password' });
const totpCodeSchema = z.string().regex(/^\d{6}$/, 'Send the 6-digit code from your authenticator app').meta({ example: '123456' });

export const registerBodySchema = z
  .strictObject({
    email: emailSchema,
    password: newPasswordSchema,
    name: z.string().max(200).optional(),
    inviteCode: z.string().min(1).max(200).optional().meta({ description: 'Needed when REGISTRATION=invite (from an admin)' }),
    setupToken: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ description: 'The one-time setup token of a fresh installation (the setup link `npm start` prints, or DATA_DIR/setup-token): only a registration carrying it becomes the first admin' }),
  })
  .meta({ id: 'RegisterRequest' });

export const loginBodySchema = z
  .strictObject({
    email: emailSchema,
    password: passwordSchema,
    totp: totpCodeSchema.optional().meta({ description: 'Required when the account has two-factor authentication' }),
  })
  .meta({ id: 'LoginRequest' });

export const refreshBodySchema = z.strictObject({ refreshToken: z.string().min(10, 'Send the refreshToken of the last sign-in or refresh').max(200) }).meta({ id: 'RefreshRequest' });

export const passwordChangeBodySchema = z.strictObject({ currentPassword: passwordSchema, newPassword: newPasswordSchema }).meta({ id: 'PasswordChangeRequest' });
export const totpEnrolBodySchema = z.strictObject({ password: passwordSchema });
export const totpConfirmBodySchema = z.strictObject({ code: totpCodeSchema });
export const totpDisableBodySchema = z.strictObject({ password: passwordSchema, code: totpCodeSchema });

export const userSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: z.enum(globalRoles),
    status: z.enum(userStatuses),
    totpEnabled: z.boolean(),
    lockedUntil: nullableDateTime.meta({ description: 'Set while the account is locked after failed sign-ins' }),
    lastLoginAt: nullableDateTime,
    createdAt: dateTime,
  })
  .meta({ id: 'User' });

export const sessionSchema = z
  .object({
    accessToken: z.string().meta({ description: 'JWT (HS256) for Authorization: Bearer; short-lived (ACCESS_TOKEN_TTL)' }),
    refreshToken: z.string().meta({ description: 'Opaque, single use: exchange it at /auth/refresh for a new pair' }),
    expiresIn: z.number().int().meta({ description: 'Seconds until the access token expires' }),
    user: userSchema,
  })
  .meta({ id: 'Session' });

export const totpEnrolmentSchema = z
  .object({
    secret: z.string().meta({ description: 'Base32 secret, shown once; enter it or scan the URI' }),
    uri: z.string().meta({ description: 'otpauth:// URI for a QR code' }),
  })
  .meta({ id: 'TotpEnrolment' });

export const authStatusSchema = z
  .object({
    registration: z.enum(['open', 'invite', 'closed']),
    needsSetup: z.boolean().meta({ description: 'No admin exists yet: the first admin registers through the setup link (with its setupToken) or is made with `chainflow user create --role admin`' }),
    setupRequiresToken: z.literal(true).meta({ description: 'Always true: becoming the first admin needs the one-time setup token; registrations without it are refused while needsSetup is true' }),
  })
  .meta({ id: 'AuthStatus' });
