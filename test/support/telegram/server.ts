// Our own Telegram Bot API server for tests and local trials: loopback HTTP speaking the real
// protocol (`/bot{token}/{method}`, `/file/bot{token}/{path}`), with state (bots, chats, update
// queues, webhooks, files), test users that drive it, and injectable faults.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { ApiError, Params } from './request.ts';
import { FileStore } from './files.ts';
import { METHODS } from './methods.ts';
import { TestGroup, TestUser, type TestGroupOptions, type TestUserOptions } from './users.ts';
import type { BotCommand, Chat, Message, ReplyMarkup, Update, UpdateType, User } from './types.ts';
import { Faults, type FaultRule, type FaultHandle, type Quirks, QUIRKY } from './faults.ts';
import { SendPacer, TELEGRAM_LIMITS, type SendLimits } from './limits.ts';

/** A bot registered on the server. */
export interface TestBot {
  readonly id: number;
  readonly token: string;
  readonly username: string;
  readonly firstName: string;
}

export interface WebhookState {
  url: string;
  secretToken: string | undefined;
  maxConnections: number;
  allowedUpdates: UpdateType[] | undefined;
  lastErrorDate: number | undefined;
  lastErrorMessage: string | undefined;
  delivering: boolean;
  retryTimer: NodeJS.Timeout | undefined;
  failures: number;
}

interface Poller {
  finish(result: Update[] | ApiError): void;
}

/** A callback query a user made, and the bot's answer once it came. */
export interface CallbackRecord {
  id: string;
  botId: number;
  userId: number;
  data: string;
  message: Message;
  answer: CallbackAnswer | undefined;
}

export interface CallbackAnswer {
  text?: string;
  show_alert: boolean;
  url?: string;
  cache_time?: number;
}

/** One message of a chat as the transcript keeps it: every version, and the full markup sent. */
export interface TranscriptEntry {
  /** Order across the whole server (for "messages after X"). */
  seq: number;
  from: 'user' | 'bot';
  /** The current version (after edits). */
  message: Message;
  /** Every version, the first as sent. */
  versions: Message[];
  /** The reply_markup as sent (reply keyboards and remove_keyboard are not part of `message`). */
  markup: ReplyMarkup | undefined;
  deleted: boolean;
}

export interface ChatActionRecord {
  seq: number;
  action: string;
}

export interface Conversation {
  botId: number;
  chat: Chat;
  nextMessageId: number;
  entries: TranscriptEntry[];
  actions: ChatActionRecord[];
  chatInstance: string;
}

export interface BotState extends TestBot {
  user: User;
  updates: Update[];
  nextUpdateId: number;
  allowedUpdates: UpdateType[] | undefined;
  poller: Poller | undefined;
  webhook: WebhookState | undefined;
  commands: Map<string, BotCommand[]>;
  /** Users who wrote to the bot (it may write to them). */
  startedBy: Set<number>;
  blockedBy: Set<number>;
}

/** A call the server answered, for assertions (`server.calls.filter(c => c.method === 'answerCallbackQuery')`). */
export interface CallRecord {
  botId: number | undefined;
  method: string;
  params: Record<string, unknown>;
  status: number;
  /** Telegram's description when the call failed. */
  description: string | undefined;
}

export interface TelegramTestServerOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Delays between webhook delivery attempts, in ms (the last one repeats). Default 100, 200, 400, 800, 1600. */
  webhookRetryDelaysMs?: number[];
  /** Start in a mode that differs from Telegram's (see {@link Quirks}); `'quirky'` turns all of them on. */
  quirks?: Quirks | 'quirky';
  /** Answer 429 above these send rates; `'telegram'` is Telegram's documented limits. Off by default. */
  sendLimits?: SendLimits | 'telegram';
}

export interface WaitOptions {
  /** Milliseconds; default 5000. */
  timeout?: number;
  /** Named in the timeout error. */
  what?: string;
}

const DEFAULT_UPDATES: UpdateType[] = ['message', 'edited_message', 'callback_query', 'my_chat_member'];
const now = (): number => Math.floor(Date.now() / 1000);

/**
 * A stateful Bot API server on loopback.
 *
 * @example
 * const server = await TelegramTestServer.start();
 * const bot = server.createBot({ username: 'greeter_bot' });
 * const alice = server.createUser({ first_name: 'Alice', language_code: 'en' });
 * // point grammY at it: new Bot(bot.token, { client: { apiRoot: server.apiRoot } })
 * await alice.sendCommand(bot, '/start');
 * const reply = await alice.nextMessage({ timeout: 5000 });
 */
export class TelegramTestServer {
  readonly files = new FileStore();
  readonly faults: Faults;
  /** Send-rate limits (sendMessage, sendPhoto, …), when enabled. */
  readonly pacer: SendPacer | undefined;
  readonly calls: CallRecord[] = [];
  readonly bots = new Map<number, BotState>();
  readonly users = new Map<number, TestUser>();
  readonly chats = new Map<number, Chat>();
  readonly groups = new Map<number, TestGroup>();
  readonly callbacks = new Map<string, CallbackRecord>();
  /** Emits `change` after every state change (waiting helpers listen to it). */
  readonly events = new EventEmitter();
  private readonly conversations = new Map<string, Conversation>();
  private readonly byToken = new Map<string, BotState>();
  private readonly http: Server;
  private readonly retryDelays: number[];
  private nextBotId = 7_000_000_001;
  private nextUserId = 100_000_001;
  private nextGroupId = 4_000_000_001;
  private seq = 0;
  private port = 0;
  private closed = false;

  private constructor(opts: TelegramTestServerOptions) {
    this.faults = new Faults(opts.quirks === 'quirky' ? QUIRKY : (opts.quirks ?? {}));
    this.pacer = opts.sendLimits ? new SendPacer(opts.sendLimits === 'telegram' ? TELEGRAM_LIMITS : opts.sendLimits) : undefined;
    this.retryDelays = opts.webhookRetryDelaysMs ?? [100, 200, 400, 800, 1600];
    this.events.setMaxListeners(0);
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.reply(res, err instanceof ApiError ? err : new ApiError(500, 'Internal Server Error'));
      });
    });
    this.http.keepAliveTimeout = 1000;
  }

  /** Starts a server listening on 127.0.0.1. */
  static async start(opts: TelegramTestServerOptions = {}): Promise<TelegramTestServer> {
    const server = new TelegramTestServer(opts);
    await new Promise<void>((resolve, reject) => {
      server.http.once('error', reject);
      server.http.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    server.port = (server.http.address() as AddressInfo).port;
    return server;
  }

  /** The value for grammY's `client.apiRoot` and `TELEGRAM_API_ROOT`. */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops answering: pending long polls end, webhook retries stop. */
  async close(): Promise<void> {
    this.closed = true;
    for (const bot of this.bots.values()) {
      bot.poller?.finish([]);
      if (bot.webhook?.retryTimer) clearTimeout(bot.webhook.retryTimer);
    }
    // Let the ended polls write their answers before the connections go.
    await new Promise((resolve) => setImmediate(resolve));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ------------------------------------------------------------ setup API

  /** Registers a bot; `token` may be fixed (it must look like Telegram's `{id}:{secret}`). */
  createBot(opts: { username: string; firstName?: string; token?: string }): TestBot {
    let id: number;
    let token: string;
    if (opts.token) {
      const m = /^(\d{1,20}):[A-Za-z0-9_-]{20,}$/.exec(opts.token);
      if (!m) throw new Error(`createBot: token "${opts.token.slice(0, 4)}…" must look like "123456:ABC-DEF…" (digits, a colon, 20+ letters, digits, _ or -)`);
      id = Number(m[1]);
      token = opts.token;
    } else {
      id = this.nextBotId++;
      token = `${id}:AA${randomBytes(25).toString('base64url').slice(0, 33)}`;
    }
    if (this.byToken.has(token) || this.bots.has(id)) throw new Error(`createBot: a bot with id ${id} exists already`);
    const firstName = opts.firstName ?? (opts.username.replace(/_?bot$/i, '') || opts.username);
    const bot: BotState = {
      id, token, username: opts.username, firstName,
      user: { id, is_bot: true, first_name: firstName, username: opts.username },
      updates: [], nextUpdateId: 1 + Math.floor(Math.random() * 100_000) * 1000, allowedUpdates: undefined,
      poller: undefined, webhook: undefined, commands: new Map(), startedBy: new Set(), blockedBy: new Set(),
    };
    this.bots.set(id, bot);
    this.byToken.set(token, bot);
    return { id, token, username: bot.username, firstName };
  }

  /** A test user; drive it with `user.send(bot, text)`, `user.press(…)`, `user.nextMessage()`. */
  createUser(opts: TestUserOptions): TestUser {
    const user = new TestUser(this, this.nextUserId++, opts);
    this.users.set(user.id, user);
    this.chats.set(user.id, user.chat);
    return user;
  }

  /** A group chat (`type: 'supergroup'` for a supergroup) with these members. */
  createGroup(opts: TestGroupOptions): TestGroup {
    const n = this.nextGroupId++;
    const id = opts.type === 'supergroup' ? -(1_000_000_000_000 + n) : -n;
    const group = new TestGroup(this, id, opts);
    this.groups.set(id, group);
    this.chats.set(id, group.chat);
    return group;
  }

  /** Turns on (or off, with `{}`) the behaviour of a server that differs from Telegram's. */
  setQuirks(quirks: Quirks | 'quirky'): void {
    this.faults.quirks = quirks === 'quirky' ? QUIRKY : quirks;
  }

  /** Injects a fault (429, 5xx, slow answers, bodies that are not Telegram-shaped, dropped connections). */
  inject(rule: FaultRule): FaultHandle {
    return this.faults.add(rule);
  }

  // ------------------------------------------------------------ state API (tests and methods)

  bot(ref: TestBot | number | string): BotState {
    const bot = typeof ref === 'string' ? this.byToken.get(ref) : this.bots.get(typeof ref === 'number' ? ref : ref.id);
    if (!bot) throw new Error(`no such bot: ${typeof ref === 'object' ? ref.username : String(ref).split(':')[0]}`);
    return bot;
  }

  conversation(botId: number, chatId: number): Conversation {
    const key = `${botId}:${chatId}`;
    let c = this.conversations.get(key);
    if (!c) {
      const chat = this.chats.get(chatId);
      if (!chat) throw new Error(`no such chat: ${chatId}`);
      c = { botId, chat, nextMessageId: 1, entries: [], actions: [], chatInstance: String(BigInt.asIntN(64, BigInt(`0x${randomBytes(8).toString('hex')}`))) };
      this.conversations.set(key, c);
    }
    return c;
  }

  /** Every message of one chat with one bot, in order, with edits and deletions. */
  transcript(bot: TestBot, chat: { id: number }): TranscriptEntry[] {
    return this.conversations.get(`${bot.id}:${chat.id}`)?.entries ?? [];
  }

  /** Chat actions (`typing`, …) the bot sent to a chat. */
  chatActions(bot: TestBot, chat: { id: number }): string[] {
    return (this.conversations.get(`${bot.id}:${chat.id}`)?.actions ?? []).map((a) => a.action);
  }

  /** The commands stored for a scope and language, as getMyCommands would answer. */
  commands(bot: TestBot, scope: Record<string, unknown> = { type: 'default' }, languageCode = ''): BotCommand[] {
    return this.bot(bot).commands.get(commandsKey(scope, languageCode)) ?? [];
  }

  /** Updates waiting for the bot (not yet confirmed by `offset` or delivered to its webhook). */
  pendingUpdates(bot: TestBot): Update[] {
    return [...this.bot(bot).updates];
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** Signals a state change to the waiting helpers. */
  changed(): void {
    this.events.emit('change');
  }

  /** Adds a message to a conversation's transcript. */
  record(conv: Conversation, from: 'user' | 'bot', message: Message, markup?: ReplyMarkup): TranscriptEntry {
    const entry: TranscriptEntry = { seq: this.nextSeq(), from, message, versions: [message], markup, deleted: false };
    conv.entries.push(entry);
    this.changed();
    return entry;
  }

  /** Queues an update for a bot (delivered by getUpdates or to its webhook). */
  enqueue(botId: number, update: Omit<Update, 'update_id'>): Update {
    const bot = this.bot(botId);
    const full: Update = { update_id: bot.nextUpdateId++, ...update };
    bot.updates.push(full);
    if (bot.webhook) this.pumpWebhook(bot);
    else if (bot.poller) {
      const ready = this.deliverable(bot, 100);
      if (ready.length > 0) bot.poller.finish(ready);
    }
    this.changed();
    return full;
  }

  /** Updates the bot's allowed_updates lets through, dropping the others (as Telegram does). */
  deliverable(bot: BotState, limit: number): Update[] {
    const allowed = new Set(bot.webhook?.allowedUpdates ?? bot.allowedUpdates ?? DEFAULT_UPDATES);
    bot.updates = bot.updates.filter((u) => Object.keys(u).some((k) => k !== 'update_id' && allowed.has(k as UpdateType)));
    return bot.updates.slice(0, limit);
  }

  /**
   * Resolves once `predicate` returns a truthy value, re-checking on every state change.
   *
   * @example
   * await server.waitFor(() => server.transcript(bot, alice.chat).length >= 2, { what: 'the second message' });
   */
  waitFor<T>(predicate: () => T | undefined | null | false, opts: WaitOptions = {}): Promise<T> {
    const timeout = opts.timeout ?? 5000;
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        let value: T | undefined | null | false;
        try {
          value = predicate();
        } catch (err) {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
          return true;
        }
        if (!value) return false;
        done();
        resolve(value);
        return true;
      };
      const onChange = (): void => {
        check();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`waitFor: ${opts.what ?? 'the condition'} did not happen within ${timeout} ms`));
      }, timeout);
      const done = (): void => {
        clearTimeout(timer);
        this.events.off('change', onChange);
      };
      this.events.on('change', onChange);
      check();
    });
  }

  // ------------------------------------------------------------ long polling

  /** Answers a getUpdates call now or when an update arrives or `timeout` passes. */
  poll(bot: BotState, limit: number, timeoutSec: number, res: ServerResponse): Promise<Update[]> {
    if (bot.poller) bot.poller.finish(new ApiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'));
    const ready = this.deliverable(bot, limit);
    if (ready.length > 0 || timeoutSec <= 0 || this.faults.quirks.ignoreTimeout) return Promise.resolve(ready);
    return new Promise<Update[]>((resolve, reject) => {
      const poller: Poller = {
        finish: (result) => {
          if (bot.poller !== poller) return;
          bot.poller = undefined;
          clearTimeout(timer);
          res.off('close', onClose);
          if (result instanceof ApiError) reject(result);
          else resolve(result.slice(0, limit));
        },
      };
      const onClose = (): void => {
        if (bot.poller === poller) {
          bot.poller = undefined;
          clearTimeout(timer);
        }
      };
      const timer = setTimeout(() => poller.finish(this.deliverable(bot, limit)), timeoutSec * 1000);
      // The response closes early when the client gives up (bot.stop() aborts its poll).
      res.on('close', onClose);
      bot.poller = poller;
      this.changed();
    });
  }

  // ------------------------------------------------------------ webhooks

  /** Delivers the bot's pending updates to its webhook, one at a time, retrying failures. */
  pumpWebhook(bot: BotState): void {
    const hook = bot.webhook;
    if (!hook || hook.delivering || hook.retryTimer || this.closed) return;
    const update = this.deliverable(bot, 1)[0];
    if (!update) return;
    hook.delivering = true;
    void this.deliverToWebhook(bot, hook, update).then((ok) => {
      hook.delivering = false;
      if (bot.webhook !== hook) return;
      if (ok) {
        hook.failures = 0;
        bot.updates = bot.updates.filter((u) => u !== update);
        this.changed();
        this.pumpWebhook(bot);
        return;
      }
      const delay = this.retryDelays[Math.min(hook.failures, this.retryDelays.length - 1)] ?? 1000;
      hook.failures++;
      this.changed();
      hook.retryTimer = setTimeout(() => {
        hook.retryTimer = undefined;
        this.pumpWebhook(bot);
      }, delay);
    });
  }

  private async deliverToWebhook(bot: BotState, hook: WebhookState, update: Update): Promise<boolean> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (hook.secretToken) headers['x-telegram-bot-api-secret-token'] = hook.secretToken;
    try {
      const res = await fetch(hook.url, { method: 'POST', headers, body: JSON.stringify(update), signal: AbortSignal.timeout(10_000), redirect: 'manual' });
      const body = await res.text();
      if (res.status < 200 || res.status > 299) {
        hook.lastErrorDate = now();
        hook.lastErrorMessage = `Wrong response from the webhook: ${res.status} ${res.statusText}`;
        return false;
      }
      await this.webhookReply(bot, body, res.headers.get('content-type') ?? '');
      return true;
    } catch (err) {
      hook.lastErrorDate = now();
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : '';
      hook.lastErrorMessage = /ECONNREFUSED/.test(cause) ? 'Connection refused' : err instanceof Error && err.name === 'TimeoutError' ? 'Read timeout expired' : 'Connection failed';
      return false;
    }
  }

  /** A webhook may answer with a method call in its response body (Telegram executes it). */
  private async webhookReply(bot: BotState, body: string, contentType: string): Promise<void> {
    if (!contentType.startsWith('application/json') || body.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { method?: unknown }).method !== 'string') return;
    const { method, ...rest } = parsed as Record<string, unknown> & { method: string };
    const handler = METHODS[method.toLowerCase()];
    if (!handler) return;
    try {
      await handler({ server: this, bot, params: Params.of(rest), res: undefined });
    } catch {
      // Telegram drops errors of webhook replies silently.
    }
  }

  // ------------------------------------------------------------ HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file && (req.method === 'GET' || req.method === 'HEAD')) return this.download(res, decodeURIComponent(file[1]!), decodeURIComponent(file[2]!));
    const call = /^\/bot([^/]*)\/([A-Za-z0-9_]*)\/?$/.exec(url.pathname);
    if (!call) return this.reply(res, new ApiError(404, 'Not Found'));
    const bot = this.byToken.get(decodeURIComponent(call[1]!));
    const method = call[2]!;
    const record: CallRecord = { botId: bot?.id, method, params: {}, status: 200, description: undefined };
    this.calls.push(record);
    try {
      if (!bot) throw new ApiError(401, 'Unauthorized');
      const params = await Params.read(req, url);
      record.params = Object.fromEntries(params.values);
      const fault = await this.faults.before(method, bot.token, res);
      if (fault === 'dropped') {
        record.status = 499;
        record.description = 'client closed the connection before the call was processed';
        this.changed();
        return;
      }
      if (fault === 'answered') {
        record.status = res.statusCode;
        this.changed();
        return;
      }
      const handler = METHODS[method.toLowerCase()];
      if (!handler || this.faults.quirks.missingMethods?.some((m) => m.toLowerCase() === method.toLowerCase())) throw new ApiError(404, 'Not Found');
      const result = await handler({ server: this, bot, params, res });
      this.reply(res, { ok: true, result });
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError(500, 'Internal Server Error');
      if (!(err instanceof ApiError)) console.error('telegram test server: method failed', err);
      record.status = error.code;
      record.description = error.message;
      this.reply(res, error);
    }
    this.changed();
  }

  private download(res: ServerResponse, token: string, path: string): void {
    if (!this.byToken.has(token)) return this.reply(res, new ApiError(401, 'Unauthorized'));
    const file = this.files.atPath(path);
    if (!file) return this.reply(res, new ApiError(404, 'Not Found'));
    res.writeHead(200, { 'content-type': file.mimeType, 'content-length': file.bytes.length });
    res.end(file.bytes);
  }

  private reply(res: ServerResponse, body: { ok: true; result: unknown } | ApiError): void {
    if (res.headersSent || res.destroyed) return;
    if (body instanceof ApiError && this.faults.quirks.rawErrors) {
      const html = `<html>\r\n<head><title>${body.code} ${body.message}</title></head>\r\n<body>\r\n<center><h1>${body.code} ${body.message}</h1></center>\r\n</body>\r\n</html>\r\n`;
      res.writeHead(body.code, { 'content-type': 'text/html' });
      res.end(html);
      return;
    }
    const payload = body instanceof ApiError
      ? { ok: false, error_code: body.code, description: body.message, ...(body.retryAfter !== undefined ? { parameters: { retry_after: body.retryAfter } } : {}) }
      : body;
    const text = JSON.stringify(payload);
    res.writeHead(body instanceof ApiError ? body.code : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

/** The key under which commands of a scope and language are stored. */
export function commandsKey(scope: Record<string, unknown>, languageCode: string): string {
  const type = typeof scope.type === 'string' ? scope.type : 'default';
  return JSON.stringify([type, scope.chat_id ?? null, scope.user_id ?? null, languageCode]);
}
