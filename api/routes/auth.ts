import type { Response } from 'express';
import { adminExists } from '../auth/setup.ts';
import type { AuthOptions } from '../auth/options.ts';
import { login, logout, refresh, register, issueSession, requirePassword, signOutEverywhere, totpContext, userView, type Session } from '../auth/service.ts';
import { hashPassword } from '../auth/passwords.ts';
import { checkTotp, newTotpSecret } from '../auth/totp.ts';
import { HttpError } from '../errors.ts';
import { authorize } from '../policy.ts';
import {
  authStatusSchema,
  loginBodySchema,
  passwordChangeBodySchema,
  refreshBodySchema,
  registerBodySchema,
  sessionSchema,
  totpConfirmBodySchema,
  totpDisableBodySchema,
  totpEnrolBodySchema,
  totpEnrolmentSchema,
  userSchema,
} from '../schemas/auth.ts';
import { defineOperation, type Operation } from './define.ts';

const tags: [string] = ['auth'];

function sendSession(res: Response, status: number, session: Session): void {
  res.set('Cache-Control', 'no-store').status(status).json(session);
}

/** `/auth/*`: accounts and sessions. */
export function authOperations(options: AuthOptions): Operation[] {
  return [
    defineOperation({
      method: 'get',
      path: '/auth/status',
      operationId: 'authStatus',
      summary: 'Registration mode and whether the installation still needs its first admin',
      description:
        'needsSetup is true while no admin exists; the first admin is then made only through the setup link `npm start` prints (POST /auth/register with its setupToken) or `chainflow user create --role admin`, so setupRequiresToken is always true.',
      tags,
      auth: 'public',
      responses: { 200: { description: 'Status', schema: authStatusSchema } },
      handler: async ({ res, em }) => {
        res.json({ registration: options.registration, needsSetup: !(await adminExists(em)), setupRequiresToken: true });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/auth/register',
      operationId: 'register',
      summary: 'Create an account',
      description:
        'While no admin exists, only a registration carrying the one-time setupToken (from the setup link `npm start` prints, or DATA_DIR/setup-token on the server) is accepted: it becomes admin and owner of the chains that have no owner (the seeded examples), and the token is used up; without it the answer is 403 setup_token_required. Later registrations follow REGISTRATION: `invite` (default; an inviteCode from an admin is required, the invite gives the role), `open` (role viewer, or the invite’s role with an inviteCode), `closed` (403; admins create accounts with POST /users).',
      tags,
      auth: 'public',
      rateLimited: 'auth',
      body: registerBodySchema,
      errors: [403, 409],
      responses: { 201: { description: 'Signed in as the new account', schema: sessionSchema } },
      handler: async ({ res, em, body, actor }) => {
        sendSession(res, 201, await register(em, options, body, actor));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/auth/login',
      operationId: 'login',
      summary: 'Sign in with e-mail, password and (when enrolled) a TOTP code',
      description: `${options.maxFailedLogins} wrong passwords or codes in a row lock the account for ${Math.round(options.lockoutSeconds / 60)} minutes (423). Every attempt is audited.`,
      tags,
      auth: 'public',
      rateLimited: 'auth',
      body: loginBodySchema,
      errors: [401, 403, 423],
      responses: { 200: { description: 'Signed in', schema: sessionSchema } },
      handler: async ({ res, em, body, actor }) => {
        sendSession(res, 200, await login(em, options, body, actor));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/auth/refresh',
      operationId: 'refresh',
      summary: 'Exchange a refresh token for a new token pair (rotation)',
      description: 'Each refresh token works once. Presenting a used one again revokes every token of that sign-in (reuse detection) and answers 401 refresh_token_reused.',
      tags,
      auth: 'public',
      rateLimited: 'auth',
      body: refreshBodySchema,
      errors: [401],
      responses: { 200: { description: 'A new pair', schema: sessionSchema } },
      handler: async ({ res, em, body, actor }) => {
        sendSession(res, 200, await refresh(em, options, body.refreshToken, actor));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/auth/logout',
      operationId: 'logout',
      summary: 'End the sign-in a refresh token belongs to',
      description: 'Revokes the refresh token and every token rotated from the same sign-in. Idempotent. Access tokens already issued stay valid until they expire (ACCESS_TOKEN_TTL); change the password to end them at once.',
      tags,
      auth: 'public',
      body: refreshBodySchema,
      responses: { 204: { description: 'Signed out' } },
      handler: async ({ res, em, body, actor }) => {
        await logout(em, body.refreshToken, actor);
        res.status(204).end();
      },
    }),
    defineOperation({
      method: 'get',
      path: '/auth/me',
      operationId: 'me',
      summary: 'The signed-in account',
      tags,
      auth: 'bearer',
      responses: { 200: { description: 'The account', schema: userSchema } },
      handler: ({ res, principal }) => {
        authorize(principal, 'account:self');
        res.json(userView(principal.user));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/auth/password',
      operationId: 'changePassword',
      summary: 'Change the password',
      description: 'Ends every other session (all refresh tokens revoked, all access tokens invalid) and answers with a fresh sign-in.',
      tags,
      auth: 'bearer',
      rateLimited: 'auth',
      body: passwordChangeBodySchema,
      responses: { 200: { description: 'Signed in with the new password', schema: sessionSchema } },
      handler: async ({ res, em, body, principal, actor, audit }) => {
        authorize(principal, 'account:self');
        const user = principal.user;
        await requirePassword(user, body.currentPassword, 'currentPassword');
        user.passwordHash = await hashPassword(body.newPassword);
        await signOutEverywhere(em, user);
        audit({ action: 'auth.password_change', targetType: 'user', targetId: user.id });
        sendSession(res, 200, await issueSession(em, options, user, actor.ip));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/auth/totp/enrol',
      operationId: 'enrolTotp',
      summary: 'Start two-factor enrolment: a new TOTP secret (shown once)',
      description: 'The secret is stored encrypted and only takes effect after POST /auth/totp/confirm with a code from the app.',
      tags,
      auth: 'bearer',
      rateLimited: 'auth',
      body: totpEnrolBodySchema,
      errors: [409],
      responses: { 200: { description: 'The secret and its otpauth:// URI', schema: totpEnrolmentSchema } },
      handler: async ({ res, em, body, principal, audit }) => {
        authorize(principal, 'account:self');
        const user = principal.user;
        if (user.totpEnabled) throw new HttpError(409, 'totp_enabled', 'Two-factor authentication is already on; disable it first to enrol a new device.');
        await requirePassword(user, body.password);
        const { secret, uri } = newTotpSecret(user.email);
        user.totpSecret = options.totpBox.encrypt(secret, totpContext(user.id));
        user.totpLastStep = null;
        audit({ action: 'auth.totp_enrol', targetType: 'user', targetId: user.id });
        await em.flush();
        res.set('Cache-Control', 'no-store').json({ secret, uri });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/auth/totp/confirm',
      operationId: 'confirmTotp',
      summary: 'Finish enrolment with a code from the authenticator app; sign-ins then need a code',
      tags,
      auth: 'bearer',
      rateLimited: 'auth',
      body: totpConfirmBodySchema,
      errors: [409],
      responses: { 200: { description: 'Two-factor authentication is on', schema: userSchema } },
      handler: async ({ res, em, body, principal, audit }) => {
        authorize(principal, 'account:self');
        const user = principal.user;
        if (user.totpEnabled) throw new HttpError(409, 'totp_enabled', 'Two-factor authentication is already on.');
        if (!user.totpSecret) throw new HttpError(409, 'totp_not_enrolled', 'Start with POST /api/v1/auth/totp/enrol.');
        const step = checkTotp(options.totpBox.decrypt(user.totpSecret, totpContext(user.id)), body.code);
        if (step === null) throw new HttpError(400, 'totp_invalid', 'The code does not match; check the device clock and send the current code.', { field: 'code' });
        // One conditional UPDATE turns it on and consumes the step: of parallel confirmations
        // only one wins, and none confirms a secret a concurrent enrolment has replaced.
        const enabled = await em
          .getConnection()
          .execute<{ id: string }[]>(`update app_user set totp_enabled = true, totp_last_step = ? where id = ? and not totp_enabled and totp_secret = ? returning id`, [step, user.id, user.totpSecret]);
        if (enabled.length === 0) throw new HttpError(409, 'totp_enabled', 'Two-factor authentication was turned on (or re-enrolled) by another request meanwhile.');
        await em.refresh(user);
        audit({ action: 'auth.totp_enable', targetType: 'user', targetId: user.id });
        await em.flush();
        res.json(userView(user));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/auth/totp/disable',
      operationId: 'disableTotp',
      summary: 'Turn two-factor authentication off (password and a current code)',
      tags,
      auth: 'bearer',
      rateLimited: 'auth',
      body: totpDisableBodySchema,
      errors: [409],
      responses: { 200: { description: 'Two-factor authentication is off', schema: userSchema } },
      handler: async ({ res, em, body, principal, audit }) => {
        authorize(principal, 'account:self');
        const user = principal.user;
        if (!user.totpEnabled || !user.totpSecret) throw new HttpError(409, 'totp_not_enabled', 'Two-factor authentication is not on.');
        await requirePassword(user, body.password);
        const step = checkTotp(options.totpBox.decrypt(user.totpSecret, totpContext(user.id)), body.code);
        const invalid = new HttpError(400, 'totp_invalid', 'The code is wrong or was already used; send the current code.', { field: 'code' });
        if (step === null) throw invalid;
        // With the password also required, any valid code but the last one used will do. The
        // check and the write are one conditional UPDATE: parallel requests cannot both pass
        // a read of the last step, and of parallel disables only one wins.
        const disabled = await em
          .getConnection()
          .execute<{ id: string }[]>(
            `update app_user set totp_enabled = false, totp_secret = null, totp_last_step = null
              where id = ? and totp_enabled and totp_secret = ? and totp_last_step is distinct from ? returning id`,
            [user.id, user.totpSecret, step],
          );
        if (disabled.length === 0) throw invalid;
        await em.refresh(user);
        audit({ action: 'auth.totp_disable', targetType: 'user', targetId: user.id });
        await em.flush();
        res.json(userView(user));
      },
    }),
  ];
}
