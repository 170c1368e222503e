// The narrow port between Chainflow and a Telegram user account (MTProto). The product
// implements it with GramJS (lib/telegram-account-gramjs.ts); everything else — the login
// state machine, the account gateway (lease, worker on `account:{botId}`), delivery and
// the update → signal mapping — talks to this interface only, so it can be exercised
// offline. Errors cross the port as GramJS raises them (RPC errors with `errorMessage`,
// `code` and, for flood waits, `seconds`); {@link classifyAccountError} reads them.

/** The app credentials from my.telegram.org ("API development tools"). */
export interface AccountApp {
  apiId: number;
  apiHash: string;
}

/** A Telegram user as the account sees it (sender profile of an incoming message). */
export interface AccountUser {
  id: string;
  firstName?: string | undefined;
  lastName?: string | undefined;
  username?: string | undefined;
  /** Telegram sends `lang_code` for users of the account's own chats only rarely; kept when present. */
  langCode?: string | undefined;
  isBot?: boolean | undefined;
}

/** Media of an incoming message, by kind (GramJS has no Bot API file id; `id` is the MTProto photo/document id). */
export interface AccountMedia {
  kind: 'photo' | 'document' | 'voice' | 'audio' | 'video' | 'video_note' | 'animation' | 'sticker' | 'other';
  id?: string | undefined;
  mimeType?: string | undefined;
  fileName?: string | undefined;
  size?: number | undefined;
}

/** One incoming message of a private chat (or a chosen group). */
export interface AccountIncoming {
  /** Telegram's message id in this chat. */
  id: number;
  /** The chat: the user's id for private chats; `-{id}` for groups (Bot API style). */
  peerId: string;
  text: string;
  /** Epoch seconds. */
  date: number;
  edited?: boolean | undefined;
  replyToId?: number | undefined;
  media?: AccountMedia | undefined;
  from: AccountUser;
  private: boolean;
  /** The chat's access hash (a user's or a channel's; none for a basic group) as Telegram gave it with the message. */
  accessHash?: string | undefined;
}

/**
 * A chat to send to: its id (as {@link AccountIncoming.peerId}) and, when known, its access
 * hash — MTProto needs both for a user or a channel, and the client forgets them on restart.
 */
export interface AccountPeer {
  id: string;
  accessHash?: string | undefined;
}

/** One outgoing part. */
export interface AccountOutgoing {
  text: string;
  parseMode?: 'html' | 'markdown' | undefined;
  replyToId?: number | undefined;
  /** A file by URL (Telegram fetches nothing for user accounts: the client uploads it). */
  file?: { url: string; caption?: string | undefined } | undefined;
  disablePreview?: boolean | undefined;
}

export type SignInResult = { kind: 'done'; user: AccountUser } | { kind: 'password'; hint?: string | undefined };

export type ConnectionEvent = { state: 'connected' } | { state: 'disconnected'; error?: string | undefined };

/** One account's MTProto client. */
export interface AccountClient {
  connect(): Promise<void>;
  /** auth.sendCode: Telegram sends a login code to the phone (or another session). */
  sendCode(phone: string): Promise<{ phoneCodeHash: string; codeType: string; timeoutSeconds?: number | undefined }>;
  /** auth.signIn with the code; `password` when two-step verification is on. */
  signIn(phone: string, phoneCodeHash: string, code: string): Promise<SignInResult>;
  /** auth.checkPassword (SRP) with the 2FA password. */
  checkPassword(password: string): Promise<AccountUser>;
  /** users.getFullUser(self): who the session belongs to (fails when it is not authorized). */
  me(): Promise<AccountUser>;
  sendMessage(peer: AccountPeer, message: AccountOutgoing): Promise<number>;
  editMessage(peer: AccountPeer, messageId: number, message: AccountOutgoing): Promise<void>;
  setTyping(peer: AccountPeer): Promise<void>;
  onMessage(handler: (message: AccountIncoming) => void): void;
  onConnection(handler: (event: ConnectionEvent) => void): void;
  /** auth.logOut: Telegram revokes the session (its auth key). */
  logOut(): Promise<void>;
  /** The StringSession now (changes after login and DC migration). */
  session(): string;
  disconnect(): Promise<void>;
}

export type AccountClientFactory = (app: AccountApp, session: string) => AccountClient;

/** What a Telegram error means for the platform. */
export type AccountErrorKind =
  | 'wrong_code'
  | 'code_expired'
  | 'wrong_password'
  | 'password_needed'
  | 'flood_wait'
  | 'bad_phone'
  | 'bad_api_id'
  | 'unauthorized'
  | 'peer_invalid'
  | 'bad_request'
  | 'network'
  | 'other';

export interface AccountError {
  kind: AccountErrorKind;
  /** Telegram's error message (`PHONE_CODE_INVALID`, `FLOOD_WAIT_42`…): never a secret. */
  telegram: string;
  /** For flood waits: seconds Telegram asks to wait. */
  seconds?: number;
}

const BY_MESSAGE: Record<string, AccountErrorKind> = {
  PHONE_CODE_INVALID: 'wrong_code',
  PHONE_CODE_EMPTY: 'wrong_code',
  PHONE_CODE_EXPIRED: 'code_expired',
  PHONE_CODE_HASH_EMPTY: 'code_expired',
  PASSWORD_HASH_INVALID: 'wrong_password',
  SESSION_PASSWORD_NEEDED: 'password_needed',
  PHONE_NUMBER_INVALID: 'bad_phone',
  PHONE_NUMBER_BANNED: 'bad_phone',
  PHONE_NUMBER_UNOCCUPIED: 'bad_phone',
  API_ID_INVALID: 'bad_api_id',
  API_ID_PUBLISHED_FLOOD: 'bad_api_id',
  AUTH_KEY_UNREGISTERED: 'unauthorized',
  AUTH_KEY_INVALID: 'unauthorized',
  SESSION_REVOKED: 'unauthorized',
  SESSION_EXPIRED: 'unauthorized',
  USER_DEACTIVATED: 'unauthorized',
  USER_DEACTIVATED_BAN: 'unauthorized',
  PEER_ID_INVALID: 'peer_invalid',
  USER_IS_BLOCKED: 'peer_invalid',
  INPUT_USER_DEACTIVATED: 'peer_invalid',
};

/**
 * Reads an error as GramJS raises it: an RPCError (`errorMessage`, `code`), a
 * FloodWaitError / FloodTestPhoneWaitError / SlowModeWaitError (`seconds`), or a
 * connection error. Works on the shape, so errors from any GramJS copy classify alike.
 */
export function classifyAccountError(err: unknown): AccountError {
  const e = (err ?? {}) as { errorMessage?: unknown; code?: unknown; seconds?: unknown; message?: unknown };
  const message = typeof e.errorMessage === 'string' ? e.errorMessage : '';
  const seconds = typeof e.seconds === 'number' ? e.seconds : /^(?:FLOOD_WAIT|FLOOD_PREMIUM_WAIT|SLOWMODE_WAIT|FLOOD_TEST_PHONE_WAIT)_(\d+)$/.exec(message)?.[1];
  if (e.code === 420 || seconds !== undefined) {
    const s = Number(seconds ?? 0);
    return { kind: 'flood_wait', telegram: message || `FLOOD_WAIT_${s}`, seconds: Number.isFinite(s) ? s : 0 };
  }
  const known = BY_MESSAGE[message];
  if (known) return { kind: known, telegram: message };
  if (message) return { kind: e.code === 401 ? 'unauthorized' : e.code === 400 ? 'bad_request' : 'other', telegram: message };
  const text = typeof e.message === 'string' ? e.message : String(err);
  if (/timeout|ECONN|EPIPE|disconnect|closed|not connected|network/i.test(text)) return { kind: 'network', telegram: 'CONNECTION' };
  return { kind: 'other', telegram: 'UNKNOWN' };
}
