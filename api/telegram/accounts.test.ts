import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Api, errors } from 'telegram';
import { AuthKey } from 'telegram/crypto/AuthKey.js';
import { returnBigInt } from 'telegram/Helpers.js';
import { StringSession } from 'telegram/sessions/index.js';
import { describe, expect, it } from 'vitest';
import { accountFailure, accountPartsOf } from '../../activities/telegram-account.ts';
import { botSecret, botSecretContext, type Bot } from '../../db/bots.ts';
import { createSecretBox } from '../../lib/secret-box.ts';
import { classifyAccountError } from '../../lib/telegram-account.ts';
import { GRAMJS_OPTIONS, incomingOf } from '../../lib/telegram-account-gramjs.ts';
import { LoopbackTelegram } from '../../test/support/telegram-account.ts';
import { HttpError } from '../errors.ts';
import { importSession, loginFailure, logout, readApp, startLogin, submitCode, submitPassword } from './account-login.ts';
import { accountInbound, accountTaskQueue } from './accounts.ts';

const box = createSecretBox([{ id: 'k1', key: randomBytes(32) }]);
/** The state machine flushes the bot row and forgets the account's peers (one delete; checked on the wire, test/telegram/account-wire.test.ts); the bot rows themselves are checked here. */
const em = { flush: async () => undefined, getConnection: () => ({ execute: async () => [] }) } as unknown as EntityManager;
const app = { apiId: 123456, apiHash: '0123456789abcdef0123456789abcdef' };

function newAccount(): Bot {
  const id = randomUUID();
  return { id, name: 'Sales', kind: 'telegram_user', encryptedSecret: box.encrypt('', botSecretContext(id)), encryptedApp: null, encryptedLogin: null, status: 'stopped', lastError: null } as unknown as Bot;
}

async function refused(p: Promise<unknown>): Promise<HttpError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(HttpError);
  return err as HttpError;
}

describe('GramJS StringSession at rest', () => {
  it('survives encryption on the bot row: DC, address and auth key come back intact', async () => {
    const session = new StringSession('');
    session.setDC(2, '149.154.167.51', 443);
    const key = new AuthKey();
    await key.setKey(randomBytes(256));
    session.setAuthKey(key);
    const saved = session.save();
    const id = randomUUID();
    const stored = box.encrypt(saved, botSecretContext(id));
    expect(stored).not.toContain(saved.slice(0, 20));
    const back = new StringSession(botSecret(box, { id, encryptedSecret: stored }));
    await back.load();
    expect(back.dcId).toBe(2);
    expect(back.serverAddress).toBe('149.154.167.51');
    expect(back.authKey?.getKey()?.equals(key.getKey()!)).toBe(true);
    // Bound to its row: another bot's id does not open it.
    expect(() => botSecret(box, { id: randomUUID(), encryptedSecret: stored })).toThrow();
  });

  it('GramJS never sleeps on a flood wait itself', () => {
    expect(GRAMJS_OPTIONS.floodSleepThreshold).toBe(0);
  });
});

describe('flood waits and Telegram errors (as GramJS raises them)', () => {
  const gram = (message: string, code: number) => errors.RPCMessageToError(new Api.RpcError({ errorCode: code, errorMessage: message }), new Api.messages.SendMessage({ peer: 'me', message: 'x' }));

  it('FLOOD_WAIT_X becomes a Temporal retry after X seconds, and a 429 in the login API', () => {
    const flood = gram('FLOOD_WAIT_42', 420);
    expect(flood).toBeInstanceOf(errors.FloodWaitError);
    expect(classifyAccountError(flood)).toMatchObject({ kind: 'flood_wait', seconds: 42 });
    const failure = accountFailure(flood, 'Sales');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe('42s');
    const http = loginFailure(flood, 'sending the login code');
    expect(http.status).toBe(429);
    expect(http.details).toEqual({ retryAfterSeconds: 42 });
  });

  it('login errors name the fix', () => {
    expect(loginFailure(gram('PHONE_CODE_INVALID', 400), 'x')).toMatchObject({ status: 400, code: 'wrong_code' });
    expect(loginFailure(gram('PHONE_CODE_EXPIRED', 400), 'x')).toMatchObject({ status: 410, code: 'code_expired' });
    expect(loginFailure(gram('PASSWORD_HASH_INVALID', 400), 'x')).toMatchObject({ status: 400, code: 'wrong_password' });
    expect(accountFailure(gram('PEER_ID_INVALID', 400), 'Sales').nonRetryable).toBe(true);
    expect(accountFailure(gram('AUTH_KEY_UNREGISTERED', 401), 'Sales').message).toMatch(/sign in again/);
  });
});

describe('incoming message → dialogue signal', () => {
  it('a GramJS private message becomes the bots’ message shape for chat:{botId}:{peerId}', () => {
    const sender = new Api.User({ id: returnBigInt(555), firstName: 'Bob', lastName: 'Ng', username: 'bobng', langCode: 'de', accessHash: returnBigInt(1) });
    const msg = new Api.Message({ id: 91, peerId: new Api.PeerUser({ userId: returnBigInt(555) }), date: 1_700_000_000, message: 'hello\u0000 there', replyTo: new Api.MessageReplyHeader({ replyToMsgId: 90 }) });
    const inbound = accountInbound(incomingOf(msg, sender));
    expect(inbound).toEqual({
      id: '555:91',
      kind: 'text',
      text: 'hello\uFFFD there',
      date: 1_700_000_000,
      from: { id: '555', first_name: 'Bob', last_name: 'Ng', username: 'bobng', language_code: 'de' },
      chat: { id: '555', type: 'private', reply_to_message_id: 90 },
    });
    const edited = accountInbound(incomingOf(msg, sender, true));
    expect(edited.id).toBe('555:91:e1700000000');
    const doc = new Api.Message({
      id: 92, peerId: new Api.PeerUser({ userId: returnBigInt(555) }), date: 1, message: '/start',
      media: new Api.MessageMediaDocument({ document: new Api.Document({ id: returnBigInt(9), accessHash: returnBigInt(0), fileReference: Buffer.alloc(0), date: 1, mimeType: 'audio/ogg', size: returnBigInt(3000), dcId: 2, attributes: [new Api.DocumentAttributeAudio({ duration: 3, voice: true })] }) }),
    });
    expect(accountInbound(incomingOf(doc, sender)).media).toEqual({ kind: 'voice', id: '9', mime_type: 'audio/ogg', file_size: 3000, caption: '/start' });
    expect(accountTaskQueue('b1')).toBe('account:b1');
  });

  it('long replies are split and media go as files', () => {
    const parts = accountPartsOf({ id: 'r1', text: 'a '.repeat(3000), format: 'plain', media: [{ kind: 'photo', url: 'https://example.com/p.jpg', caption: 'P' }] } as never);
    expect(parts.length).toBe(3);
    expect(parts[2]?.file).toEqual({ url: 'https://example.com/p.jpg', caption: 'P' });
  });
});

describe('login state machine', () => {
  it('phone → code → done stores the session encrypted; a wrong code can be retried; logout revokes', async () => {
    const tg = new LoopbackTelegram();
    const deps = { secretBox: box, accounts: tg.factory };
    const bot = newAccount();
    expect(await startLogin(deps, em, bot, { ...app, phone: tg.phone })).toEqual({ state: 'code', codeType: 'app', timeoutSeconds: 120 });
    expect(readApp(box, bot)).toEqual(app);
    expect(bot.encryptedApp).not.toContain(app.apiHash);
    expect((await refused(submitCode(deps, em, bot, '00000'))).code).toBe('wrong_code');
    const code = [...tg.codes.values()][0]!.code;
    const done = await submitCode(deps, em, bot, code);
    expect(done).toEqual({ state: 'done', user: tg.user });
    const session = botSecret(box, bot);
    expect(tg.sessions.has(session)).toBe(true);
    expect(bot.encryptedLogin).toBeNull();
    expect((await refused(submitCode(deps, em, bot, code))).code).toBe('no_login');
    expect(await logout(deps, em, bot)).toEqual({ revoked: true });
    expect(tg.revoked).toEqual([session]);
    expect(botSecret(box, bot)).toBe('');
  });

  it('two-step verification asks for the password; wrong password, expired code and flood wait are clear', async () => {
    const tg = new LoopbackTelegram();
    tg.password = 'correct horse';
    const deps = { secretBox: box, accounts: tg.factory };
    const bot = newAccount();
    await startLogin(deps, em, bot, { ...app, phone: tg.phone });
    const [first] = [...tg.codes.values()];
    first!.expired = true;
    expect((await refused(submitCode(deps, em, bot, first!.code))).status).toBe(410);
    await startLogin(deps, em, bot, { ...app, phone: tg.phone });
    const second = [...tg.codes.values()][1]!;
    expect(await submitCode(deps, em, bot, second.code)).toEqual({ state: 'password', hint: 'pet' });
    expect((await refused(submitCode(deps, em, bot, second.code))).code).toBe('login_step');
    expect((await refused(submitPassword(deps, em, bot, 'wrong'))).code).toBe('wrong_password');
    expect(await submitPassword(deps, em, bot, 'correct horse')).toEqual({ state: 'done', user: tg.user });
    expect(tg.sessions.has(botSecret(box, bot))).toBe(true);
    tg.floodAfter = tg.sendCodes;
    const flood = await refused(startLogin(deps, em, bot, { ...app, phone: tg.phone }));
    expect(flood.status).toBe(429);
    expect(flood.message).toMatch(/73 s/);
    expect((await refused(startLogin(deps, em, newAccount(), { ...app, phone: '+10000000' }))).code).toBe('bad_phone');
  });

  it('imports a session after checking it at Telegram', async () => {
    const tg = new LoopbackTelegram();
    const deps = { secretBox: box, accounts: tg.factory };
    tg.sessions.add('imported-session');
    const bot = newAccount();
    expect((await refused(importSession(deps, em, bot, { ...app, sessionString: 'stale-session' }))).code).toBe('session_invalid');
    expect(botSecret(box, bot)).toBe('');
    expect(await importSession(deps, em, bot, { ...app, sessionString: 'imported-session' })).toEqual({ state: 'done', user: tg.user });
    expect(botSecret(box, bot)).toBe('imported-session');
  });
});
