// A test-only implementation of OUR port (lib/telegram-account.ts), never of GramJS, for
// the tests that need what the MTProto test server (test/support/mtproto) does not do,
// like a take-over between processes with many sessions (docs/telegram.md, "Tests"). It plays Telegram's side of the login: one account with a
// phone, a code per sendCode (expiring), an optional 2FA password, and FLOOD_WAIT after
// too many codes. Its errors carry Telegram's own error messages in the shape GramJS
// raises them (`errorMessage`, `code`, `seconds`), so the product's classification runs
// on what GramJS would hand it. What it does not exercise: MTProto itself (handshake, DC
// migration, SRP against a real server, updates over the wire).
import type { AccountApp, AccountClient, AccountIncoming, AccountOutgoing, AccountUser, ConnectionEvent, SignInResult } from '../../lib/telegram-account.ts';

export const rpcError = (errorMessage: string, code = 400, seconds?: number) => Object.assign(new Error(errorMessage), { errorMessage, code, ...(seconds !== undefined ? { seconds } : {}) });

export class LoopbackTelegram {
  readonly phone = '+4915100000001';
  readonly user: AccountUser = { id: '777000111', firstName: 'Ada', username: 'ada_test' };
  password: string | undefined;
  codes = new Map<string, { code: string; expired: boolean; session: string }>();
  sessions = new Set<string>();
  revoked: string[] = [];
  awaitingPassword = new Set<string>();
  sendCodes = 0;
  floodAfter = 5;
  sent: { session: string; peerId: string; message: AccountOutgoing }[] = [];
  private seq = 0;
  private handlers = new Map<string, (m: AccountIncoming) => void>();

  /** Telegram delivers a private message to the account (to the client currently connected with this session). */
  deliver(session: string, m: AccountIncoming): void {
    this.handlers.get(session)?.(m);
  }

  factory = (app: AccountApp, session: string): AccountClient => clientOf(this, app, session);

  /** @internal the client registers its message handler for the session it holds. */
  listen(session: string, handler: ((m: AccountIncoming) => void) | undefined): void {
    if (handler) this.handlers.set(session, handler);
    else this.handlers.delete(session);
  }

  nextSeq(): number {
    return ++this.seq;
  }
}

function clientOf(tg: LoopbackTelegram, app: AccountApp, session: string): AccountClient {
  {
    let current = session || `pre-${tg.nextSeq()}`;
    let connectionHandler: ((e: ConnectionEvent) => void) | undefined;
    return {
      async connect() {
        if (app.apiId === 1) throw rpcError('API_ID_INVALID');
      },
      async sendCode(phone) {
        if (phone !== tg.phone) throw rpcError('PHONE_NUMBER_INVALID');
        tg.sendCodes++;
        if (tg.sendCodes > tg.floodAfter) throw rpcError('FLOOD_WAIT_73', 420, 73);
        const n = tg.nextSeq();
        const hash = `hash-${n}`;
        tg.codes.set(hash, { code: String(10000 + n), expired: false, session: current });
        return { phoneCodeHash: hash, codeType: 'app', timeoutSeconds: 120 };
      },
      async signIn(_phone, hash, code): Promise<SignInResult> {
        const c = tg.codes.get(hash);
        if (!c || c.session !== current) throw rpcError('PHONE_CODE_HASH_EMPTY');
        if (c.expired) throw rpcError('PHONE_CODE_EXPIRED');
        if (c.code !== code) throw rpcError('PHONE_CODE_INVALID');
        if (tg.password) {
          tg.awaitingPassword.add(current);
          return { kind: 'password', hint: 'pet' };
        }
        current = `auth-${tg.nextSeq()}`;
        tg.sessions.add(current);
        return { kind: 'done', user: tg.user };
      },
      async checkPassword(password) {
        if (!tg.awaitingPassword.has(current)) throw rpcError('PASSWORD_HASH_INVALID');
        if (password !== tg.password) throw rpcError('PASSWORD_HASH_INVALID');
        current = `auth-${tg.nextSeq()}`;
        tg.sessions.add(current);
        return tg.user;
      },
      async me() {
        if (!tg.sessions.has(current)) throw rpcError('AUTH_KEY_UNREGISTERED', 401);
        return tg.user;
      },
      async sendMessage(peer, message) {
        tg.sent.push({ session: current, peerId: peer.id, message });
        return tg.sent.length;
      },
      async editMessage() {},
      async setTyping() {},
      onMessage(handler) {
        tg.listen(current, handler);
      },
      onConnection(handler) {
        connectionHandler = handler;
        void connectionHandler;
      },
      async logOut() {
        tg.sessions.delete(current);
        tg.revoked.push(current);
      },
      session: () => current,
      async disconnect() {
        tg.listen(current, undefined);
      },
    };
  }
}
