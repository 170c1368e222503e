// Signing a Telegram user account in, as a small state machine kept on the bot row so
// that any API replica can take the next step:
//
//   (none) --start{apiId, apiHash, phone}--> code --code--> done
//                                             code --code (2FA on)--> password --password--> done
//   import{apiId, apiHash, sessionString} --> done        logout: done --> (none), revoked at Telegram
//
// The step in progress (phone, phone_code_hash, the pre-login StringSession whose auth key
// the code is bound to) is encrypted in `bot.encrypted_login`; the api id/hash in
// `bot.encrypted_app`; the finished session replaces `bot.encrypted_secret`. Telegram's
// answers become clear 4xx: a wrong code (400, try again), an expired code (410, start
// again), a wrong password (400), a flood wait (429 with Retry-After). Nothing secret (code,
// password, hash, session) appears in an answer, a log line or the audit entry.

import type { EntityManager } from '@mikro-orm/postgresql';
import { botAppContext, botLoginContext, botSecret, botSecretContext, type Bot } from '../../db/bots.ts';
import { forgetAccountPeers } from '../../db/telegram.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { classifyAccountError, type AccountApp, type AccountClient, type AccountClientFactory, type AccountUser } from '../../lib/telegram-account.ts';
import { HttpError } from '../errors.ts';

export type LoginStep = 'code' | 'password';

interface PendingLogin {
  step: LoginStep;
  phone: string;
  phoneCodeHash: string;
  /** The StringSession of the connection that asked for the code (its auth key). */
  session: string;
  startedAt: number;
}

export interface LoginDeps {
  secretBox: SecretBox;
  accounts: AccountClientFactory;
}

export type LoginAnswer =
  | { state: 'code'; codeType: string; timeoutSeconds: number | null }
  | { state: 'password'; hint: string | null }
  | { state: 'done'; user: AccountUser };

export function readApp(box: SecretBox, bot: Bot): AccountApp | null {
  if (!bot.encryptedApp) return null;
  return JSON.parse(box.decrypt(bot.encryptedApp, botAppContext(bot.id))) as AccountApp;
}

function readPending(box: SecretBox, bot: Bot): PendingLogin | null {
  if (!bot.encryptedLogin) return null;
  return JSON.parse(box.decrypt(bot.encryptedLogin, botLoginContext(bot.id))) as PendingLogin;
}

function writePending(box: SecretBox, bot: Bot, pending: PendingLogin | null): void {
  bot.encryptedLogin = pending ? box.encrypt(JSON.stringify(pending), botLoginContext(bot.id)) : null;
}

function requireUserAccount(bot: Bot): void {
  if (bot.kind !== 'telegram_user') throw new HttpError(400, 'not_a_user_account', `Bot "${bot.name}" is a telegram_bot; logins are for telegram_user accounts (a bot has its token from @BotFather).`);
}

/** Telegram's refusal as an HTTP error that names the fix. */
export function loginFailure(err: unknown, during: string): HttpError {
  const e = classifyAccountError(err);
  switch (e.kind) {
    case 'wrong_code':
      return new HttpError(400, 'wrong_code', 'body.code: Telegram does not accept this code; check the code Telegram sent and send it again.', { field: 'body.code' });
    case 'code_expired':
      return new HttpError(410, 'code_expired', 'The login code expired; start the login again (POST …/account/login) for a new code.');
    case 'wrong_password':
      return new HttpError(400, 'wrong_password', 'body.password: this is not the account\'s two-step verification password; try again.', { field: 'body.password' });
    case 'flood_wait':
      return new HttpError(429, 'flood_wait', `Telegram asks to wait ${e.seconds ?? 0} s before ${during} again (${e.telegram}).`, { retryAfterSeconds: e.seconds ?? 0 });
    case 'bad_phone':
      return new HttpError(400, 'bad_phone', `body.phone: Telegram refuses this phone number (${e.telegram}); use the account's number in international format, like +4915112345678.`, { field: 'body.phone' });
    case 'bad_api_id':
      return new HttpError(400, 'bad_api_id', `body.apiId: Telegram refuses this api id/hash (${e.telegram}); copy both from my.telegram.org → API development tools.`, { field: 'body.apiId' });
    case 'unauthorized':
      return new HttpError(400, 'session_invalid', `The session is not signed in at Telegram (${e.telegram}); sign in again or import a current session string.`);
    case 'network':
      return new HttpError(503, 'telegram_unreachable', `Telegram could not be reached while ${during}; try again.`);
    default:
      return new HttpError(502, 'telegram_error', `Telegram refused ${during} (${e.telegram}).`);
  }
}

async function withClient<T>(deps: LoginDeps, app: AccountApp, session: string, during: string, run: (c: AccountClient) => Promise<T>): Promise<T> {
  const client = deps.accounts(app, session);
  try {
    await client.connect();
    return await run(client);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw loginFailure(err, during);
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}

/** Step 1: stores the app, asks Telegram to send a code to the phone. */
export async function startLogin(deps: LoginDeps, em: EntityManager, bot: Bot, input: { apiId: number; apiHash: string; phone: string }): Promise<LoginAnswer> {
  requireUserAccount(bot);
  const app = { apiId: input.apiId, apiHash: input.apiHash };
  const { sent, session } = await withClient(deps, app, '', 'sending the login code', async (c) => ({ sent: await c.sendCode(input.phone), session: c.session() }));
  bot.encryptedApp = deps.secretBox.encrypt(JSON.stringify(app), botAppContext(bot.id));
  writePending(deps.secretBox, bot, { step: 'code', phone: input.phone, phoneCodeHash: sent.phoneCodeHash, session, startedAt: Date.now() });
  await em.flush();
  return { state: 'code', codeType: sent.codeType, timeoutSeconds: sent.timeoutSeconds ?? null };
}

function pendingAt(deps: LoginDeps, bot: Bot, step: LoginStep): { pending: PendingLogin; app: AccountApp } {
  requireUserAccount(bot);
  const pending = readPending(deps.secretBox, bot);
  const app = readApp(deps.secretBox, bot);
  if (!pending || !app) throw new HttpError(409, 'no_login', 'No login is in progress for this account; start one with POST …/account/login (apiId, apiHash, phone).');
  if (pending.step !== step) {
    throw new HttpError(409, 'login_step', pending.step === 'password' ? 'The code was accepted; this account has two-step verification: send its password to …/account/login/password.' : 'Telegram waits for the login code first: send it to …/account/login/code.');
  }
  return { pending, app };
}

function finish(deps: LoginDeps, bot: Bot, session: string): void {
  bot.encryptedSecret = deps.secretBox.encrypt(session, botSecretContext(bot.id));
  writePending(deps.secretBox, bot, null);
  bot.status = 'stopped';
  bot.lastError = null;
}

/** Step 2: the code. Done, or two-step verification asks for the password next. */
export async function submitCode(deps: LoginDeps, em: EntityManager, bot: Bot, code: string): Promise<LoginAnswer> {
  const { pending, app } = pendingAt(deps, bot, 'code');
  const { result, session } = await withClient(deps, app, pending.session, 'checking the login code', async (c) => ({ result: await c.signIn(pending.phone, pending.phoneCodeHash, code), session: c.session() }));
  if (result.kind === 'password') {
    writePending(deps.secretBox, bot, { ...pending, step: 'password', session });
    await em.flush();
    return { state: 'password', hint: result.hint ?? null };
  }
  finish(deps, bot, session);
  await em.flush();
  await forgetAccountPeers(em.getConnection(), bot.id);
  return { state: 'done', user: result.user };
}

/** Step 3 (two-step verification on): the password. */
export async function submitPassword(deps: LoginDeps, em: EntityManager, bot: Bot, password: string): Promise<LoginAnswer> {
  const { pending, app } = pendingAt(deps, bot, 'password');
  const { user, session } = await withClient(deps, app, pending.session, 'checking the password', async (c) => ({ user: await c.checkPassword(password), session: c.session() }));
  finish(deps, bot, session);
  await em.flush();
  await forgetAccountPeers(em.getConnection(), bot.id);
  return { state: 'done', user };
}

/** Import: an existing StringSession (GramJS/Telethon), checked with getMe before it is stored. */
export async function importSession(deps: LoginDeps, em: EntityManager, bot: Bot, input: { apiId: number; apiHash: string; sessionString: string }): Promise<LoginAnswer> {
  requireUserAccount(bot);
  const app = { apiId: input.apiId, apiHash: input.apiHash };
  const { user, session } = await withClient(deps, app, input.sessionString, 'checking the session', async (c) => ({ user: await c.me(), session: c.session() }));
  bot.encryptedApp = deps.secretBox.encrypt(JSON.stringify(app), botAppContext(bot.id));
  finish(deps, bot, session);
  await em.flush();
  await forgetAccountPeers(em.getConnection(), bot.id);
  return { state: 'done', user };
}

/** Logout: Telegram revokes the session (auth.logOut); the stored session and any login in progress are dropped. */
export async function logout(deps: LoginDeps, em: EntityManager, bot: Bot): Promise<{ revoked: boolean }> {
  requireUserAccount(bot);
  const app = readApp(deps.secretBox, bot);
  const session = botSecret(deps.secretBox, bot);
  let revoked = false;
  if (app && session !== '') {
    await withClient(deps, app, session, 'logging out', async (c) => {
      try {
        await c.logOut();
      } catch (err) {
        // Already revoked at Telegram (logged out elsewhere): nothing left to revoke.
        if (classifyAccountError(err).kind !== 'unauthorized') throw err;
      }
    });
    revoked = true;
  }
  bot.encryptedSecret = deps.secretBox.encrypt('', botSecretContext(bot.id));
  writePending(deps.secretBox, bot, null);
  bot.status = 'stopped';
  bot.lastError = null;
  await em.flush();
  await forgetAccountPeers(em.getConnection(), bot.id);
  return { revoked };
}
