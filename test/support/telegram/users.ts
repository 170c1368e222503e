// Test users and groups that drive the test server: what a person does in a Telegram client
// becomes the update Telegram would deliver to the bot.
import { randomBytes } from 'node:crypto';
import type { CallbackAnswer, CallbackRecord, TelegramTestServer, TestBot, TranscriptEntry, WaitOptions } from './server.ts';
import { detectEntities } from './formatting.ts';
import { documentOf, photoSizes, voiceOf } from './files.ts';
import type { Chat, ChatMember, Contact, InlineKeyboardButton, Location, Message, User } from './types.ts';

export interface TestUserOptions {
  first_name: string;
  /** The bot `send(text)` and `sendCommand(command)` go to when no bot is passed. */
  bot?: TestBot;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface TestGroupOptions {
  title: string;
  type?: 'group' | 'supergroup';
  username?: string;
  /** Members from the start (no join events). */
  members?: TestUser[];
}

export interface MediaOptions {
  bytes?: Buffer;
  caption?: string;
  fileName?: string;
  mimeType?: string;
  /** Voice duration in seconds. */
  duration?: number;
}

/** A button press: the query the bot got, and its answer once it comes. */
export interface CallbackPress {
  readonly id: string;
  readonly query: CallbackRecord;
  /** Waits for the bot's answerCallbackQuery. */
  answered(opts?: WaitOptions): Promise<CallbackAnswer>;
}

const now = (): number => Math.floor(Date.now() / 1000);
/** A 1×1 PNG for photos sent without bytes. */
const TINY_PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');

const member = (user: User, status: ChatMember['status']): ChatMember => ({ status, user });

/**
 * A person with a Telegram account. Private chat id = user id, as in Telegram.
 *
 * @example
 * const alice = server.createUser({ first_name: 'Alice', language_code: 'ru' });
 * await alice.sendCommand(bot, '/start ref42');
 * const hello = await alice.nextMessage();
 * const press = alice.press(hello, 'yes');
 * await press.answered();
 */
export class TestUser {
  readonly id: number;
  readonly info: User;
  readonly chat: Chat;
  private readonly server: TelegramTestServer;
  /** Sequence number of the last bot message nextMessage() returned. */
  private cursor = 0;
  private readonly defaultBot: TestBot | undefined;

  constructor(server: TelegramTestServer, id: number, opts: TestUserOptions) {
    this.server = server;
    this.id = id;
    this.defaultBot = opts.bot;
    this.info = {
      id, is_bot: false, first_name: opts.first_name,
      ...(opts.last_name ? { last_name: opts.last_name } : {}),
      ...(opts.username ? { username: opts.username } : {}),
      ...(opts.language_code ? { language_code: opts.language_code } : {}),
    };
    this.chat = {
      id, type: 'private', first_name: opts.first_name,
      ...(opts.last_name ? { last_name: opts.last_name } : {}),
      ...(opts.username ? { username: opts.username } : {}),
    };
  }

  /**
   * Writes a text message to the bot (commands, URLs, mentions get their entities, as in
   * Telegram). Without a bot it goes to the user's `bot` option, or the server's only bot.
   */
  send(bot: TestBot | string, text?: string): Message {
    const [target, body] = this.withBot('send', bot, text);
    return this.post(target, this.chat, { text: body, ...entitiesOf(body) });
  }

  /** Sends a command, e.g. `/start payload` (a deep link) or `/help`; the bot as for `send`. */
  sendCommand(bot: TestBot | string, command?: string): Message {
    const [target, body] = this.withBot('sendCommand', bot, command);
    if (!body.startsWith('/')) throw new Error(`sendCommand: "${body}" must start with "/"`);
    return this.send(target, body);
  }

  private withBot(what: string, bot: TestBot | string, text: string | undefined): [TestBot, string] {
    if (typeof bot !== 'string') {
      if (text === undefined) throw new Error(`${what}: the text is missing`);
      return [bot, text];
    }
    const only = this.server.bots.size === 1 ? [...this.server.bots.values()][0] : undefined;
    const target = this.defaultBot ?? only;
    if (!target) throw new Error(`${what}: pass the bot (${this.info.first_name} has no default bot and the server has ${this.server.bots.size} bots)`);
    return [target, bot];
  }

  sendPhoto(bot: TestBot, opts: MediaOptions = {}): Message {
    const file = this.server.files.add('photo', opts.bytes ?? TINY_PNG);
    return this.post(bot, this.chat, { photo: photoSizes(file), ...captionOf(opts.caption) });
  }

  sendDocument(bot: TestBot, opts: MediaOptions & { bytes: Buffer; fileName: string }): Message {
    const file = this.server.files.add('document', opts.bytes, { fileName: opts.fileName, ...(opts.mimeType ? { mimeType: opts.mimeType } : {}) });
    return this.post(bot, this.chat, { document: documentOf(file), ...captionOf(opts.caption) });
  }

  sendVoice(bot: TestBot, opts: MediaOptions & { bytes: Buffer }): Message {
    const file = this.server.files.add('voice', opts.bytes);
    return this.post(bot, this.chat, { voice: voiceOf(file, opts.duration ?? 1), ...captionOf(opts.caption) });
  }

  /** Shares a contact (own by default, as a "share my phone" reply-keyboard button does). */
  sendContact(bot: TestBot, contact: Partial<Contact> & { phone_number: string }): Message {
    return this.post(bot, this.chat, { contact: { first_name: this.info.first_name, user_id: this.id, ...contact } });
  }

  sendLocation(bot: TestBot, location: Location): Message {
    return this.post(bot, this.chat, { location });
  }

  /** Writes in a group; every bot in the group gets the message. */
  sendInGroup(group: TestGroup, text: string): Message[] {
    return group.botsIn().map((bot) => this.post(bot, group.chat, { text, ...entitiesOf(text) }));
  }

  /**
   * Presses an inline button of a bot message: `button` is its callback_data or its text.
   * Throws when the message (in its current version) has no such button.
   */
  press(message: Message | TranscriptEntry, button: string): CallbackPress {
    const msg = 'versions' in message ? message.message : message;
    const bot = [...this.server.bots.values()].find((b) => b.id === msg.from?.id);
    if (!bot) throw new Error(`press: message ${msg.message_id} was not sent by a bot of this server`);
    const conv = this.server.conversation(bot.id, msg.chat.id);
    const entry = conv.entries.find((e) => e.message.message_id === msg.message_id);
    if (!entry || entry.deleted) throw new Error(`press: message ${msg.message_id} no longer exists`);
    const buttons: InlineKeyboardButton[] = entry.message.reply_markup?.inline_keyboard.flat() ?? [];
    const target = buttons.find((b) => b.callback_data === button) ?? buttons.find((b) => b.text === button && b.callback_data !== undefined);
    if (!target?.callback_data) {
      throw new Error(`press: message ${msg.message_id} has no button "${button}"; it has ${buttons.map((b) => `"${b.text}"${b.callback_data ? ` (${b.callback_data})` : ''}`).join(', ') || 'no inline buttons'}`);
    }
    const id = BigInt.asUintN(63, BigInt(`0x${randomBytes(8).toString('hex')}`)).toString();
    const record: CallbackRecord = { id, botId: bot.id, userId: this.id, data: target.callback_data, message: entry.message, answer: undefined };
    this.server.callbacks.set(id, record);
    this.server.enqueue(bot.id, { callback_query: { id, from: this.info, message: entry.message, chat_instance: conv.chatInstance, data: target.callback_data } });
    return {
      id,
      query: record,
      answered: (opts = {}) => this.server.waitFor(() => record.answer, { what: `the answer to the press of "${button}"`, ...opts }),
    };
  }

  /** Blocks the bot: its sends answer 403 and it gets a `my_chat_member` update (kicked). */
  block(bot: TestBot): void {
    const state = this.server.bot(bot);
    state.blockedBy.add(this.id);
    this.server.enqueue(bot.id, { my_chat_member: { chat: this.chat, from: this.info, date: now(), old_chat_member: member(state.user, 'member'), new_chat_member: member(state.user, 'kicked') } });
  }

  /** Unblocks the bot (a `my_chat_member` update back to member). */
  unblock(bot: TestBot): void {
    const state = this.server.bot(bot);
    if (!state.blockedBy.delete(this.id)) return;
    this.server.enqueue(bot.id, { my_chat_member: { chat: this.chat, from: this.info, date: now(), old_chat_member: member(state.user, 'kicked'), new_chat_member: member(state.user, 'member') } });
  }

  /**
   * The next message a bot sent to this user (private chat) that this method has not returned yet.
   * Edits do not count; see `transcript` for those.
   */
  async nextMessage(opts: WaitOptions & { bot?: TestBot } = {}): Promise<Message> {
    const entry = await this.server.waitFor(() => this.botEntries(opts.bot).find((e) => e.seq > this.cursor), { what: `a bot message to ${this.info.first_name}`, ...opts });
    this.cursor = entry.seq;
    return entry.message;
  }

  /** The bot's messages to this user so far (current versions, deleted ones left out). */
  messagesFrom(bot: TestBot): Message[] {
    return this.server.transcript(bot, this.chat).filter((e) => e.from === 'bot' && !e.deleted).map((e) => e.message);
  }

  private botEntries(bot: TestBot | undefined): TranscriptEntry[] {
    const bots = bot ? [bot] : [...this.server.bots.values()];
    return bots.flatMap((b) => this.server.transcript(b, this.chat)).filter((e) => e.from === 'bot').sort((a, b) => a.seq - b.seq);
  }

  private post(bot: TestBot, chat: Chat, content: Partial<Message>): Message {
    const state = this.server.bot(bot);
    if (chat.type === 'private') {
      state.startedBy.add(this.id);
      if (state.blockedBy.has(this.id)) this.unblock(bot);
    }
    const conv = this.server.conversation(bot.id, chat.id);
    const message: Message = { message_id: conv.nextMessageId++, from: this.info, chat, date: now(), ...content };
    this.server.record(conv, 'user', message);
    this.server.enqueue(bot.id, { message });
    return message;
  }
}

function entitiesOf(text: string): Partial<Message> {
  const entities = detectEntities(text);
  return entities.length > 0 ? { entities } : {};
}

function captionOf(caption: string | undefined): Partial<Message> {
  if (!caption) return {};
  const entities = detectEntities(caption);
  return { caption, ...(entities.length > 0 ? { caption_entities: entities } : {}) };
}

/**
 * A group chat. Membership changes produce what Telegram sends: a service message
 * (`new_chat_members` / `left_chat_member`) and `chat_member` updates (delivered only when the
 * bot asks for them in allowed_updates); adding or removing a bot gives it `my_chat_member`.
 */
export class TestGroup {
  readonly id: number;
  readonly chat: Chat;
  private readonly server: TelegramTestServer;
  private readonly members = new Map<number, ChatMember['status']>();
  private readonly bots = new Map<number, ChatMember['status']>();

  constructor(server: TelegramTestServer, id: number, opts: TestGroupOptions) {
    this.server = server;
    this.id = id;
    this.chat = { id, type: opts.type ?? 'group', title: opts.title, ...(opts.username ? { username: opts.username } : {}) };
    for (const m of opts.members ?? []) this.members.set(m.id, 'member');
  }

  private cursor = 0;

  /** The next bot message in this group that this method has not returned yet. */
  async nextMessage(opts: WaitOptions & { bot?: TestBot } = {}): Promise<Message> {
    const entries = (): TranscriptEntry[] => (opts.bot ? [opts.bot] : [...this.server.bots.values()])
      .flatMap((b) => this.server.transcript(b, this.chat)).filter((e) => e.from === 'bot').sort((a, b) => a.seq - b.seq);
    const entry = await this.server.waitFor(() => entries().find((e) => e.seq > this.cursor), { what: `a bot message in "${this.chat.title}"`, ...opts });
    this.cursor = entry.seq;
    return entry.message;
  }

  botStatus(botId: number): ChatMember['status'] | undefined {
    return this.bots.get(botId);
  }

  botsIn(): TestBot[] {
    return [...this.bots].filter(([, s]) => s === 'member' || s === 'administrator').map(([id]) => this.server.bot(id));
  }

  /** A member adds the bot (as an administrator with `admin: true`). */
  addBot(bot: TestBot, opts: { by: TestUser; admin?: boolean }): void {
    const state = this.server.bot(bot);
    const old = this.bots.get(bot.id) ?? 'left';
    const status = opts.admin ? 'administrator' : 'member';
    this.bots.set(bot.id, status);
    this.server.enqueue(bot.id, { my_chat_member: { chat: this.chat, from: opts.by.info, date: now(), old_chat_member: member(state.user, old), new_chat_member: member(state.user, status) } });
    this.serviceMessage(opts.by, { new_chat_members: [state.user] }, [state]);
  }

  /** A member removes the bot (status `kicked`; it can no longer send here). */
  removeBot(bot: TestBot, opts: { by: TestUser }): void {
    const state = this.server.bot(bot);
    const old = this.bots.get(bot.id) ?? 'member';
    this.bots.set(bot.id, 'kicked');
    this.server.enqueue(bot.id, { my_chat_member: { chat: this.chat, from: opts.by.info, date: now(), old_chat_member: member(state.user, old), new_chat_member: member(state.user, 'kicked') } });
  }

  join(user: TestUser): void {
    this.members.set(user.id, 'member');
    this.memberChange(user, 'left', 'member', { new_chat_members: [user.info] });
  }

  leave(user: TestUser): void {
    this.members.delete(user.id);
    this.memberChange(user, 'member', 'left', { left_chat_member: user.info });
  }

  private memberChange(user: TestUser, from: ChatMember['status'], to: ChatMember['status'], service: Partial<Message>): void {
    for (const bot of this.botsIn()) {
      this.server.enqueue(bot.id, { chat_member: { chat: this.chat, from: user.info, date: now(), old_chat_member: member(user.info, from), new_chat_member: member(user.info, to) } });
    }
    this.serviceMessage(user, service, this.botsIn());
  }

  private serviceMessage(from: TestUser, content: Partial<Message>, bots: TestBot[]): void {
    for (const bot of bots) {
      const conv = this.server.conversation(bot.id, this.id);
      const message: Message = { message_id: conv.nextMessageId++, from: from.info, chat: this.chat, date: now(), ...content };
      this.server.record(conv, 'user', message);
      this.server.enqueue(bot.id, { message });
    }
  }
}
