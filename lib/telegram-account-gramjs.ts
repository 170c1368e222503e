// The product's AccountClient: GramJS (npm `telegram`) over MTProto. `floodSleepThreshold: 0`
// so GramJS never sleeps on a FLOOD_WAIT itself: the error reaches our code, which turns it
// into a Temporal retry delay (activities/telegram-account.ts) or a 429 (login API).
// `autoReconnect: false`: the account gateway reconnects with its own backoff and records
// the state in the bot's status / lastError.

import { createHash, createPublicKey } from 'node:crypto';
import { Api, TelegramClient } from 'telegram';
import { _serverKeys } from 'telegram/crypto/RSA.js';
import { Logger, PromisedNetSockets } from 'telegram/extensions/index.js';
import { LogLevel } from 'telegram/extensions/Logger.js';
import { returnBigInt } from 'telegram/Helpers.js';
import { NewMessage, type NewMessageEvent } from 'telegram/events/index.js';
import { EditedMessage, type EditedMessageEvent } from 'telegram/events/EditedMessage.js';
import { UpdateConnectionState } from 'telegram/network/index.js';
import { computeCheck } from 'telegram/Password.js';
import { StringSession } from 'telegram/sessions/index.js';
import type { AccountApp, AccountClient, AccountClientFactory, AccountIncoming, AccountMedia, AccountOutgoing, AccountPeer, AccountUser, ConnectionEvent, SignInResult } from './telegram-account.ts';

/** GramJS options every account client uses. */
export const GRAMJS_OPTIONS = {
  floodSleepThreshold: 0,
  autoReconnect: false,
  connectionRetries: 1,
  receiveUpdates: true,
} as const;

/** A Telegram user (GramJS `Api.User`) as the port's sender profile. */
export function userOf(user: Api.User | undefined, fallbackId: string): AccountUser {
  if (!user) return { id: fallbackId };
  return {
    id: user.id.toString(),
    firstName: user.firstName ?? undefined,
    lastName: user.lastName ?? undefined,
    username: user.username ?? undefined,
    langCode: user.langCode ?? undefined,
    isBot: user.bot ? true : undefined,
  };
}

function mediaOf(media: Api.TypeMessageMedia | undefined): AccountMedia | undefined {
  if (!media) return undefined;
  if (media instanceof Api.MessageMediaPhoto) return { kind: 'photo', id: media.photo?.id.toString() };
  if (media instanceof Api.MessageMediaDocument && media.document instanceof Api.Document) {
    const doc = media.document;
    let kind: AccountMedia['kind'] = 'document';
    let fileName: string | undefined;
    for (const a of doc.attributes) {
      if (a instanceof Api.DocumentAttributeFilename) fileName = a.fileName;
      else if (a instanceof Api.DocumentAttributeAudio) kind = a.voice ? 'voice' : 'audio';
      else if (a instanceof Api.DocumentAttributeVideo) kind = a.roundMessage ? 'video_note' : 'video';
      else if (a instanceof Api.DocumentAttributeAnimated) kind = 'animation';
      else if (a instanceof Api.DocumentAttributeSticker) kind = 'sticker';
    }
    return { kind, id: doc.id.toString(), mimeType: doc.mimeType, fileName, size: Number(doc.size) };
  }
  return { kind: 'other' };
}

/** The chat of a message, Bot API style: a user's id, or `-{id}` for a group (`-100{id}` for a channel/supergroup). */
export function peerIdOf(peer: Api.TypePeer): string {
  if (peer instanceof Api.PeerUser) return peer.userId.toString();
  if (peer instanceof Api.PeerChat) return `-${peer.chatId.toString()}`;
  return `-100${(peer as Api.PeerChannel).channelId.toString()}`;
}

/** The access hash of a message's chat: from the input peer GramJS built out of the update's users/chats, else the private chat's sender. */
function accessHashOf(message: Api.Message, sender: Api.User | undefined): string | undefined {
  let input: unknown;
  try {
    input = message.inputChat;
  } catch {
    input = undefined;
  }
  if (input instanceof Api.InputPeerUser || input instanceof Api.InputPeerChannel) return input.accessHash.toString();
  if (message.peerId instanceof Api.PeerUser && sender?.accessHash && sender.id.equals(message.peerId.userId)) return sender.accessHash.toString();
  return undefined;
}

/**
 * The InputPeer of a chat from its id and stored access hash, so GramJS needs no entity
 * it has seen in this process. A basic group needs no hash; a user or channel without one
 * falls back to GramJS's own lookup (its in-memory cache).
 */
export function inputPeerOf(peer: AccountPeer): Api.TypeInputPeer | string {
  if (peer.id.startsWith('-100') && peer.accessHash) return new Api.InputPeerChannel({ channelId: returnBigInt(peer.id.slice(4)), accessHash: returnBigInt(peer.accessHash) });
  if (peer.id.startsWith('-') && !peer.id.startsWith('-100')) return new Api.InputPeerChat({ chatId: returnBigInt(peer.id.slice(1)) });
  if (/^\d+$/.test(peer.id) && peer.accessHash) return new Api.InputPeerUser({ userId: returnBigInt(peer.id), accessHash: returnBigInt(peer.accessHash) });
  return peer.id;
}

/** A GramJS message (and its sender) as the port's incoming message. */
export function incomingOf(message: Api.Message, sender: Api.User | undefined, edited = false): AccountIncoming {
  const peerId = peerIdOf(message.peerId);
  const fromId = message.fromId instanceof Api.PeerUser ? message.fromId.userId.toString() : peerId;
  const reply = message.replyTo instanceof Api.MessageReplyHeader ? message.replyTo.replyToMsgId : undefined;
  return {
    id: message.id,
    peerId,
    text: message.message ?? '',
    date: message.date,
    edited: edited || undefined,
    replyToId: reply ?? undefined,
    media: mediaOf(message.media),
    from: userOf(sender, fromId),
    private: message.peerId instanceof Api.PeerUser,
    accessHash: accessHashOf(message, sender),
  };
}

/**
 * An MTProto server other than Telegram's own (a self-hosted or test server): where every
 * connection of the account clients goes, and the RSA public key it signs the key
 * exchange with. GramJS keeps Telegram's keys in `telegram/crypto/RSA`'s `_serverKeys`
 * (by fingerprint) and lets a client choose its socket class; both are used as GramJS
 * offers them, nothing in GramJS is changed.
 */
export interface MtprotoServer {
  dcId: number;
  host: string;
  port: number;
  /** PEM (PKCS#1 "RSA PUBLIC KEY" or SPKI "PUBLIC KEY"). */
  publicKey: string;
}

/** The MTProto fingerprint of an RSA key: the low 64 bits of SHA-1 over the TL-serialised n and e, as a signed decimal. */
export function rsaFingerprint(publicKeyPem: string): { fingerprint: string; n: string; e: number } {
  const jwk = createPublicKey(publicKeyPem).export({ format: 'jwk' });
  if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e) throw new Error('The MTProto server key is not an RSA public key');
  const n = Buffer.from(jwk.n, 'base64url');
  const e = Buffer.from(jwk.e, 'base64url');
  const tlBytes = (b: Buffer) => {
    const head = b.length < 254 ? Buffer.from([b.length]) : Buffer.from([254, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff]);
    const pad = (4 - ((head.length + b.length) % 4)) % 4;
    return Buffer.concat([head, b, Buffer.alloc(pad)]);
  };
  const digest = createHash('sha1').update(Buffer.concat([tlBytes(n), tlBytes(e)])).digest();
  return { fingerprint: digest.subarray(12, 20).readBigInt64LE().toString(), n: BigInt(`0x${n.toString('hex')}`).toString(), e: Number(BigInt(`0x${e.toString('hex')}`)) };
}

/** GramJS's socket, always connected to the chosen server (GramJS itself dials port 80/443 of the session's address). */
function socketFor(server: MtprotoServer): typeof PromisedNetSockets {
  return class MtprotoServerSocket extends PromisedNetSockets {
    override connect(_port: number, _ip: string) {
      return super.connect(server.port, server.host);
    }
  };
}

class GramAccountClient implements AccountClient {
  readonly client: TelegramClient;
  private readonly app: AccountApp;

  constructor(app: AccountApp, session: string, server?: MtprotoServer) {
    this.app = app;
    const stringSession = new StringSession(session);
    if (server && !session) stringSession.setDC(server.dcId, server.host, server.port);
    this.client = new TelegramClient(stringSession, app.apiId, app.apiHash, {
      ...GRAMJS_OPTIONS,
      // GramJS logs at info by default (its own format, on stdout); ours goes through pino.
      baseLogger: new Logger(LogLevel.NONE),
      ...(server ? { networkSocket: socketFor(server) } : {}),
    });
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async sendCode(phone: string) {
    const sent = await this.client.invoke(new Api.auth.SendCode({ phoneNumber: phone, apiId: this.app.apiId, apiHash: this.app.apiHash, settings: new Api.CodeSettings({}) }));
    if (!(sent instanceof Api.auth.SentCode)) throw Object.assign(new Error('Telegram answered sendCode without a code hash'), { errorMessage: 'SENT_CODE_UNEXPECTED' });
    return { phoneCodeHash: sent.phoneCodeHash, codeType: sent.type.className.replace(/^auth\.SentCodeType/, '').toLowerCase(), timeoutSeconds: sent.timeout ?? undefined };
  }

  async signIn(phone: string, phoneCodeHash: string, code: string): Promise<SignInResult> {
    try {
      const auth = await this.client.invoke(new Api.auth.SignIn({ phoneNumber: phone, phoneCodeHash, phoneCode: code }));
      if (auth instanceof Api.auth.AuthorizationSignUpRequired) throw Object.assign(new Error('No Telegram account has this phone number'), { errorMessage: 'PHONE_NUMBER_UNOCCUPIED' });
      return { kind: 'done', user: userOf(auth.user instanceof Api.User ? auth.user : undefined, '') };
    } catch (err) {
      if ((err as { errorMessage?: string }).errorMessage !== 'SESSION_PASSWORD_NEEDED') throw err;
      const pwd = await this.client.invoke(new Api.account.GetPassword());
      return { kind: 'password', hint: pwd.hint ?? undefined };
    }
  }

  async checkPassword(password: string): Promise<AccountUser> {
    const pwd = await this.client.invoke(new Api.account.GetPassword());
    const auth = await this.client.invoke(new Api.auth.CheckPassword({ password: await computeCheck(pwd, password) }));
    if (!(auth instanceof Api.auth.Authorization)) throw Object.assign(new Error('Telegram asks to sign up'), { errorMessage: 'PHONE_NUMBER_UNOCCUPIED' });
    return userOf(auth.user instanceof Api.User ? auth.user : undefined, '');
  }

  async me(): Promise<AccountUser> {
    return userOf(await this.client.getMe(), '');
  }

  async sendMessage(peer: AccountPeer, m: AccountOutgoing): Promise<number> {
    const peerId = inputPeerOf(peer);
    const common = { parseMode: m.parseMode ?? false, ...(m.replyToId !== undefined ? { replyTo: m.replyToId } : {}) } as const;
    const sent = m.file
      ? await this.client.sendFile(peerId, { file: m.file.url, caption: m.file.caption ?? m.text, ...common })
      : await this.client.sendMessage(peerId, { message: m.text, linkPreview: !m.disablePreview, ...common });
    return sent.id;
  }

  async editMessage(peer: AccountPeer, messageId: number, m: AccountOutgoing): Promise<void> {
    await this.client.editMessage(inputPeerOf(peer), { message: messageId, text: m.text, parseMode: m.parseMode ?? false, linkPreview: !m.disablePreview });
  }

  async setTyping(peer: AccountPeer): Promise<void> {
    await this.client.invoke(new Api.messages.SetTyping({ peer: inputPeerOf(peer), action: new Api.SendMessageTypingAction() }));
  }

  onMessage(handler: (message: AccountIncoming) => void): void {
    const deliver = async (message: Api.Message, edited: boolean) => {
      const sender = await message.getSender().catch(() => undefined);
      handler(incomingOf(message, sender instanceof Api.User ? sender : undefined, edited));
    };
    this.client.addEventHandler((e: NewMessageEvent) => void deliver(e.message, false), new NewMessage({ incoming: true }));
    this.client.addEventHandler((e: EditedMessageEvent) => void deliver(e.message, true), new EditedMessage({ incoming: true }));
  }

  onConnection(handler: (event: ConnectionEvent) => void): void {
    this.client.addEventHandler((update: unknown) => {
      if (!(update instanceof UpdateConnectionState)) return;
      if (update.state === UpdateConnectionState.connected) handler({ state: 'connected' });
      else handler({ state: 'disconnected', error: update.state === UpdateConnectionState.broken ? 'MTProto connection broken' : 'MTProto connection closed' });
    });
  }

  async logOut(): Promise<void> {
    await this.client.invoke(new Api.auth.LogOut());
  }

  session(): string {
    return (this.client.session as StringSession).save();
  }

  async disconnect(): Promise<void> {
    await this.client.destroy();
  }
}

/** The product's factory: one GramJS client per account, to Telegram's servers. */
export const gramAccountClients: AccountClientFactory = (app, session) => new GramAccountClient(app, session);

/** The factory for another MTProto server (TELEGRAM_MTPROTO_SERVER): its key is added to the ones GramJS trusts. */
export function gramAccountClientsFor(server: MtprotoServer | undefined): AccountClientFactory {
  if (!server) return gramAccountClients;
  const key = rsaFingerprint(server.publicKey);
  _serverKeys.set(key.fingerprint, { n: returnBigInt(key.n), e: key.e });
  return (app, session) => new GramAccountClient(app, session, server);
}
