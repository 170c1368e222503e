// The login operations of Telegram user accounts (api/telegram/account-login.ts is the
// state machine). RBAC as for bots: whoever may edit the bot may sign it in or out.

import { z } from 'zod';
import { gramAccountClients } from '../../lib/telegram-account-gramjs.ts';
import { importSession, logout, startLogin, submitCode, submitPassword, type LoginDeps } from '../telegram/account-login.ts';
import { idParamsSchema } from '../schemas/common.ts';
import { announce, loadBot, requireBox, type BotDeps } from './bots.ts';
import { defineOperation, type Operation } from './define.ts';

const tags: [string] = ['bots'];

const appShape = {
  apiId: z.number().int().positive().max(2 ** 31 - 1).meta({ description: 'api_id from my.telegram.org → API development tools' }),
  apiHash: z.string().regex(/^[0-9a-f]{32}$/, 'Use the api_hash from my.telegram.org: 32 hexadecimal characters').meta({ description: 'api_hash (write-only: stored encrypted, never returned)', format: 'password' }),
};

const loginStartSchema = z
  .strictObject({ ...appShape, phone: z.string().regex(/^\+?[0-9]{7,15}$/, "Use the account's phone number in international format, digits only after '+', like +4915112345678").meta({ description: 'The phone number of the account' }) })
  .meta({ id: 'AccountLoginStart' });
const loginCodeSchema = z.strictObject({ code: z.string().regex(/^[0-9]{4,8}$/, 'Use the 4–8 digit code Telegram sent').meta({ description: 'The login code', format: 'password' }) }).meta({ id: 'AccountLoginCode' });
const loginPasswordSchema = z.strictObject({ password: z.string().min(1).max(256).meta({ description: 'The two-step verification password', format: 'password' }) }).meta({ id: 'AccountLoginPassword' });
const sessionImportSchema = z
  .strictObject({ ...appShape, sessionString: z.string().regex(/^[A-Za-z0-9+/=_-]{20,10000}$/, 'Use the string session of the account (GramJS/Telethon StringSession: one line of base64 text)').meta({ description: 'StringSession (write-only)', format: 'password' }) })
  .meta({ id: 'AccountSessionImport' });

const accountUserSchema = z.object({ id: z.string(), firstName: z.string().optional(), lastName: z.string().optional(), username: z.string().optional(), langCode: z.string().optional(), isBot: z.boolean().optional() });
const loginStateSchema = z
  .discriminatedUnion('state', [
    z.object({ state: z.literal('code'), codeType: z.string().meta({ description: 'How Telegram sent the code: app, sms, call…' }), timeoutSeconds: z.number().nullable() }),
    z.object({ state: z.literal('password'), hint: z.string().nullable().meta({ description: 'The password hint the account set' }) }),
    z.object({ state: z.literal('done'), user: accountUserSchema }),
  ])
  .meta({ id: 'AccountLoginState' });
const logoutSchema = z.object({ revoked: z.boolean().meta({ description: 'Telegram revoked the session (false: there was none)' }) }).meta({ id: 'AccountLogout' });

export function accountOperations(deps: BotDeps): Operation[] {
  const login = (): LoginDeps => ({ secretBox: requireBox(deps), accounts: deps.accounts ?? gramAccountClients });
  return [
    defineOperation({
      method: 'post',
      path: '/bots/:id/account/login',
      operationId: 'startAccountLogin',
      summary: 'Sign a user account in: send the login code',
      description: 'Stores the api id/hash (encrypted) and asks Telegram to send a login code to the phone. Next: …/account/login/code. A flood wait answers 429 with the seconds to wait.',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      body: loginStartSchema,
      errors: [404, 409, 429, 502, 503],
      responses: { 200: { description: 'Telegram sent the code', schema: loginStateSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:edit');
        const answer = await startLogin(login(), em, bot, body);
        audit({ action: 'bot.account.login_started', targetType: 'bot', targetId: bot.id, summary: {} });
        res.json(answer);
      },
    }),
    defineOperation({
      method: 'post',
      path: '/bots/:id/account/login/code',
      operationId: 'submitAccountLoginCode',
      summary: 'Sign a user account in: the code',
      description: 'Done, or `password` when the account has two-step verification. A wrong code answers 400 `wrong_code` (send it again), an expired one 410 `code_expired` (start again).',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      body: loginCodeSchema,
      errors: [404, 409, 410, 429, 502, 503],
      responses: { 200: { description: 'The next state', schema: loginStateSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:edit');
        const answer = await submitCode(login(), em, bot, body.code);
        if (answer.state === 'done') {
          audit({ action: 'bot.account.login', targetType: 'bot', targetId: bot.id, summary: { telegramUserId: answer.user.id } });
          await announce(em, bot.id);
        }
        res.json(answer);
      },
    }),
    defineOperation({
      method: 'post',
      path: '/bots/:id/account/login/password',
      operationId: 'submitAccountLoginPassword',
      summary: 'Sign a user account in: the two-step verification password',
      description: 'A wrong password answers 400 `wrong_password`.',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      body: loginPasswordSchema,
      errors: [404, 409, 429, 502, 503],
      responses: { 200: { description: 'Signed in', schema: loginStateSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:edit');
        const answer = await submitPassword(login(), em, bot, body.password);
        audit({ action: 'bot.account.login', targetType: 'bot', targetId: bot.id, summary: { twoStep: true } });
        await announce(em, bot.id);
        res.json(answer);
      },
    }),
    defineOperation({
      method: 'post',
      path: '/bots/:id/account/session',
      operationId: 'importAccountSession',
      summary: 'Import an existing session string of a user account',
      description: 'Checked at Telegram (getMe) before it is stored encrypted.',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      body: sessionImportSchema,
      errors: [404, 429, 502, 503],
      responses: { 200: { description: 'Signed in', schema: loginStateSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:edit');
        const answer = await importSession(login(), em, bot, body);
        audit({ action: 'bot.account.session_imported', targetType: 'bot', targetId: bot.id, summary: {} });
        await announce(em, bot.id);
        res.json(answer);
      },
    }),
    defineOperation({
      method: 'post',
      path: '/bots/:id/account/logout',
      operationId: 'logoutAccount',
      summary: 'Log a user account out (Telegram revokes the session)',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404, 429, 502, 503],
      responses: { 200: { description: 'Logged out', schema: logoutSchema } },
      handler: async ({ res, em, params, principal, audit }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:edit');
        const answer = await logout(login(), em, bot);
        audit({ action: 'bot.account.logout', targetType: 'bot', targetId: bot.id, summary: answer });
        await announce(em, bot.id);
        res.json(answer);
      },
    }),
  ];
}
