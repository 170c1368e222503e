// The Bot API methods the test server implements, with Telegram's validation and error texts.
import type { ServerResponse } from 'node:http';
import { ApiError, badRequest, type Params } from './request.ts';
import { parseFormatted, type FormattedText } from './formatting.ts';
import { validateReplyMarkup } from './markup.ts';
import { documentOf, photoSizes, voiceOf, type FileKind, type StoredFile } from './files.ts';
import { commandsKey, type BotState, type Conversation, type TelegramTestServer, type TranscriptEntry } from './server.ts';
import type { BotCommand, Chat, Message, MessageEntity, ReplyMarkup, UpdateType } from './types.ts';

export interface MethodContext {
  server: TelegramTestServer;
  bot: BotState;
  params: Params;
  /** The HTTP response (absent for webhook replies). */
  res: ServerResponse | undefined;
}

type Method = (ctx: MethodContext) => unknown;

const UPDATE_TYPES: UpdateType[] = ['message', 'edited_message', 'callback_query', 'my_chat_member', 'chat_member'];
const ALL_UPDATE_TYPES = new Set<string>([...UPDATE_TYPES, 'channel_post', 'edited_channel_post', 'inline_query', 'chosen_inline_result', 'shipping_query', 'pre_checkout_query', 'poll', 'poll_answer', 'chat_join_request', 'message_reaction', 'message_reaction_count', 'chat_boost', 'removed_chat_boost', 'business_connection', 'business_message', 'edited_business_message', 'deleted_business_messages', 'purchased_paid_media']);
const CHAT_ACTIONS = new Set(['typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice', 'upload_document', 'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note']);
const SCOPES = new Set(['default', 'all_private_chats', 'all_group_chats', 'all_chat_administrators', 'chat', 'chat_administrators', 'chat_member']);
const MAX_TEXT = 4096;
const MAX_CAPTION = 1024;
const MAX_DOWNLOAD = 20 * 1024 * 1024;
const now = (): number => Math.floor(Date.now() / 1000);

function allowedUpdates(params: Params): UpdateType[] | undefined {
  const value = params.json('allowed_updates', "can't parse allowed_updates JSON array");
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw badRequest("can't parse allowed_updates JSON array");
  const list = value as string[];
  if (list.length === 0) return undefined;
  return list.filter((t) => ALL_UPDATE_TYPES.has(t)) as UpdateType[];
}

/** The chat a send goes to, after Telegram's checks (chat known, not blocked, bot a member). */
function targetChat(ctx: MethodContext): Conversation {
  const { server, bot, params } = ctx;
  const raw = params.str('chat_id');
  if (raw === undefined || raw === '') throw badRequest('chat_id is empty');
  let chat: Chat | undefined;
  if (raw.startsWith('@')) chat = [...server.chats.values()].find((c) => c.username?.toLowerCase() === raw.slice(1).toLowerCase());
  else if (/^-?\d+$/.test(raw)) chat = server.chats.get(Number(raw));
  if (!chat) throw badRequest('chat not found');
  if (chat.type === 'private') {
    if (bot.blockedBy.has(chat.id)) throw new ApiError(403, 'Forbidden: bot was blocked by the user');
    if (!bot.startedBy.has(chat.id)) throw new ApiError(403, "Forbidden: bot can't initiate conversation with a user");
  } else {
    const status = server.groups.get(chat.id)?.botStatus(bot.id);
    if (status === 'kicked') throw new ApiError(403, `Forbidden: bot was kicked from the ${chat.type} chat`);
    if (status !== 'member' && status !== 'administrator') throw new ApiError(403, `Forbidden: bot is not a member of the ${chat.type} chat`);
  }
  return server.conversation(bot.id, chat.id);
}

function formatted(params: Params, textField: string, modeField: string, entitiesField: string): FormattedText {
  const text = params.str(textField) ?? '';
  const mode = params.str(modeField);
  if (mode) return parseFormatted(text, mode);
  const entities = params.json(entitiesField, `can't parse ${entitiesField} JSON array`);
  if (entities === undefined) return { text, entities: [] };
  if (!Array.isArray(entities)) throw badRequest(`can't parse ${entitiesField} JSON array`);
  for (const e of entities as MessageEntity[]) {
    if (typeof e?.type !== 'string' || !Number.isInteger(e.offset) || !Number.isInteger(e.length) || e.offset < 0 || e.length < 0 || e.offset + e.length > text.length) {
      throw badRequest(`can't parse entities: entity out of range`);
    }
  }
  return { text, entities: entities as MessageEntity[] };
}

function replyMarkup(params: Params): ReplyMarkup | undefined {
  return validateReplyMarkup(params.json('reply_markup', "can't parse reply keyboard markup JSON object"));
}

function replyTo(params: Params, conv: Conversation): Message | undefined {
  const rp = params.json('reply_parameters', "can't parse reply parameters JSON object") as { message_id?: unknown; allow_sending_without_reply?: unknown } | undefined;
  const id = rp?.message_id ?? params.int('reply_to_message_id');
  if (id === undefined) return undefined;
  const entry = conv.entries.find((e) => e.message.message_id === Number(id) && !e.deleted);
  if (!entry && rp?.allow_sending_without_reply !== true && !params.bool('allow_sending_without_reply')) throw badRequest('message to be replied not found');
  return entry?.message;
}

function newMessage(ctx: MethodContext, conv: Conversation, content: Partial<Message>, markup: ReplyMarkup | undefined): Message {
  const reply = replyTo(ctx.params, conv);
  ctx.server.pacer?.admit(ctx.bot.id, conv.chat);
  const message: Message = {
    message_id: conv.nextMessageId++,
    from: ctx.bot.user,
    chat: conv.chat,
    date: now(),
    ...(reply ? { reply_to_message: { ...reply, reply_to_message: undefined } } : {}),
    ...content,
    ...(markup && 'inline_keyboard' in markup && markup.inline_keyboard.length > 0 ? { reply_markup: markup } : {}),
  };
  ctx.server.record(conv, 'bot', message, markup);
  return message;
}

function withEntities(text: FormattedText, textKey: 'text' | 'caption'): Partial<Message> {
  const entitiesKey = textKey === 'text' ? 'entities' : 'caption_entities';
  return { [textKey]: text.text, ...(text.entities.length > 0 ? { [entitiesKey]: text.entities } : {}) };
}

const sendMessage: Method = (ctx) => {
  const conv = targetChat(ctx);
  const text = formatted(ctx.params, 'text', 'parse_mode', 'entities');
  if (text.text.trim() === '') throw badRequest('message text is empty');
  if (text.text.length > MAX_TEXT) throw badRequest('message is too long');
  const markup = replyMarkup(ctx.params);
  return newMessage(ctx, conv, withEntities(text, 'text'), markup);
};

/** A file given as a multipart upload, `attach://name`, an HTTP URL or a file_id. */
async function inputFile(ctx: MethodContext, field: string, kind: FileKind): Promise<StoredFile> {
  const { params, server } = ctx;
  const upload = params.files.get(field);
  const asFile = (bytes: Buffer, contentType: string, fileName: string | undefined): StoredFile =>
    server.files.add(kind, bytes, { ...(kind !== 'photo' && contentType !== 'application/octet-stream' ? { mimeType: contentType } : {}), ...(fileName ? { fileName } : {}) });
  if (upload) return asFile(upload.bytes, upload.contentType, upload.filename);
  const value = params.str(field);
  if (!value) throw badRequest(`there is no ${field} in the request`);
  if (value.startsWith('attach://')) {
    const part = params.files.get(value.slice('attach://'.length));
    if (!part) throw badRequest(`wrong HTTP URL specified`);
    return asFile(part.bytes, part.contentType, part.filename);
  }
  if (/^https?:\/\//i.test(value)) {
    let res: Response;
    try {
      res = await fetch(value, { signal: AbortSignal.timeout(10_000) });
    } catch {
      throw badRequest('failed to get HTTP URL content');
    }
    if (!res.ok) throw badRequest('failed to get HTTP URL content');
    const bytes = Buffer.from(await res.arrayBuffer());
    const name = decodeURIComponent(new URL(value).pathname.split('/').pop() ?? '') || undefined;
    return asFile(bytes, res.headers.get('content-type')?.split(';')[0] ?? 'application/octet-stream', name);
  }
  const known = server.files.get(value);
  if (!known) throw badRequest('wrong file identifier/HTTP URL specified');
  if ((known.kind === 'photo') !== (kind === 'photo')) throw badRequest(`can't use file of type ${known.kind === 'photo' ? 'Photo' : 'Document'} as ${kind === 'photo' ? 'Photo' : 'Document'}`);
  return known;
}

function sendMedia(field: FileKind): Method {
  return async (ctx) => {
    const conv = targetChat(ctx);
    const caption = formatted(ctx.params, 'caption', 'parse_mode', 'caption_entities');
    if (caption.text.length > MAX_CAPTION) throw badRequest('message caption is too long');
    const markup = replyMarkup(ctx.params);
    const file = await inputFile(ctx, field, field);
    const media: Partial<Message> = field === 'photo' ? { photo: photoSizes(file) }
      : field === 'voice' ? { voice: voiceOf(file, ctx.params.int('duration') ?? 0) }
        : { document: documentOf(file) };
    return newMessage(ctx, conv, { ...media, ...(caption.text ? withEntities(caption, 'caption') : {}) }, markup);
  };
}

/** The bot's own message a call edits or deletes. */
function existing(ctx: MethodContext, notFound: string): { conv: Conversation; entry: TranscriptEntry } {
  if (ctx.params.has('inline_message_id')) throw badRequest('MESSAGE_ID_INVALID');
  const conv = targetChat(ctx);
  const id = ctx.params.int('message_id');
  if (id === undefined) throw badRequest('message identifier is not specified');
  const entry = conv.entries.find((e) => e.message.message_id === id && !e.deleted);
  if (!entry) throw badRequest(notFound);
  return { conv, entry };
}

function edit(ctx: MethodContext, entry: TranscriptEntry, change: Partial<Message>, markup: ReplyMarkup | undefined, markupGiven: boolean): Message {
  if (markup && !('inline_keyboard' in markup)) throw badRequest('inline keyboard expected');
  const next: Message = { ...entry.message, ...change, edit_date: now() };
  if (markupGiven) {
    if (markup && 'inline_keyboard' in markup && markup.inline_keyboard.length > 0) next.reply_markup = markup;
    else delete next.reply_markup;
  } else if (!('reply_markup' in change)) delete next.reply_markup;
  const same = (m: Message): string => JSON.stringify([m.text, m.entities ?? [], m.caption, m.caption_entities ?? [], m.reply_markup ?? null]);
  if (same(next) === same(entry.message)) {
    throw badRequest('message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
  }
  entry.message = next;
  entry.versions.push(next);
  if (markupGiven) entry.markup = markup;
  ctx.server.changed();
  return next;
}

const editMessageText: Method = (ctx) => {
  const { entry } = existing(ctx, 'message to edit not found');
  if (entry.from !== 'bot') throw badRequest("message can't be edited");
  if (entry.message.text === undefined) throw badRequest('there is no text in the message to edit');
  const text = formatted(ctx.params, 'text', 'parse_mode', 'entities');
  if (text.text.trim() === '') throw badRequest('message text is empty');
  if (text.text.length > MAX_TEXT) throw badRequest('MESSAGE_TOO_LONG');
  const markup = replyMarkup(ctx.params);
  return edit(ctx, entry, { text: text.text, entities: text.entities.length > 0 ? text.entities : undefined }, markup, markup !== undefined);
};

const editMessageCaption: Method = (ctx) => {
  const { entry } = existing(ctx, 'message to edit not found');
  if (entry.from !== 'bot') throw badRequest("message can't be edited");
  if (entry.message.text !== undefined) throw badRequest('there is no caption in the message to edit');
  const caption = formatted(ctx.params, 'caption', 'parse_mode', 'caption_entities');
  if (caption.text.length > MAX_CAPTION) throw badRequest('message caption is too long');
  const markup = replyMarkup(ctx.params);
  return edit(ctx, entry, { caption: caption.text || undefined, caption_entities: caption.entities.length > 0 ? caption.entities : undefined }, markup, markup !== undefined);
};

const editMessageReplyMarkup: Method = (ctx) => {
  const { entry } = existing(ctx, 'message to edit not found');
  if (entry.from !== 'bot') throw badRequest("message can't be edited");
  const markup = replyMarkup(ctx.params);
  return edit(ctx, entry, {}, markup, true);
};

const deleteMessage: Method = (ctx) => {
  const { entry } = existing(ctx, 'message to delete not found');
  entry.deleted = true;
  ctx.server.changed();
  return true;
};

const answerCallbackQuery: Method = (ctx) => {
  const id = ctx.params.str('callback_query_id');
  if (!id) throw badRequest('QUERY_ID_INVALID');
  const query = ctx.server.callbacks.get(id);
  if (!query || query.botId !== ctx.bot.id || query.answer) throw badRequest('query is too old and response timeout expired or query ID is invalid');
  const text = ctx.params.str('text');
  if (text !== undefined && text.length > 200) throw badRequest('MESSAGE_TOO_LONG');
  const url = ctx.params.str('url');
  const cacheTime = ctx.params.int('cache_time');
  query.answer = { show_alert: ctx.params.bool('show_alert'), ...(text ? { text } : {}), ...(url ? { url } : {}), ...(cacheTime !== undefined ? { cache_time: cacheTime } : {}) };
  ctx.server.changed();
  return true;
};

const sendChatAction: Method = (ctx) => {
  const conv = targetChat(ctx);
  const action = ctx.params.str('action');
  if (!action || !CHAT_ACTIONS.has(action)) throw badRequest('wrong parameter action in request');
  conv.actions.push({ seq: ctx.server.nextSeq(), action });
  ctx.server.changed();
  return true;
};

function commandScope(ctx: MethodContext): { scope: Record<string, unknown>; language: string } {
  const scope = (ctx.params.json('scope', "can't parse BotCommandScope JSON object") ?? { type: 'default' }) as Record<string, unknown>;
  if (typeof scope !== 'object' || scope === null || typeof scope.type !== 'string' || !SCOPES.has(scope.type)) throw badRequest('unsupported bot command scope type');
  if (['chat', 'chat_administrators', 'chat_member'].includes(scope.type)) {
    const chatId = scope.chat_id;
    const chat = typeof chatId === 'string' && chatId.startsWith('@') ? [...ctx.server.chats.values()].find((c) => c.username === chatId.slice(1)) : ctx.server.chats.get(Number(chatId));
    if (!chat) throw badRequest('chat not found');
    if (scope.type === 'chat_member' && !ctx.server.users.has(Number(scope.user_id))) throw badRequest('user not found');
    scope.chat_id = chat.id;
  }
  const language = ctx.params.str('language_code') ?? '';
  if (language !== '' && !/^[a-z]{2}$/.test(language)) throw badRequest('invalid language code specified');
  return { scope, language };
}

const setMyCommands: Method = (ctx) => {
  const raw = ctx.params.json('commands', "can't parse commands JSON array");
  if (!Array.isArray(raw)) throw badRequest('commands must be an Array');
  if (raw.length > 100) throw badRequest('BOT_COMMANDS_TOO_MUCH');
  const commands: BotCommand[] = raw.map((c: unknown) => {
    const { command, description } = (c ?? {}) as { command?: unknown; description?: unknown };
    if (typeof command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(command)) throw badRequest('BOT_COMMAND_INVALID');
    if (typeof description !== 'string' || description.trim() === '' || description.length > 256) throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
    return { command, description };
  });
  const { scope, language } = commandScope(ctx);
  const key = commandsKey(scope, language);
  if (commands.length === 0) ctx.bot.commands.delete(key);
  else ctx.bot.commands.set(key, commands);
  return true;
};

const getMyCommands: Method = (ctx) => {
  const { scope, language } = commandScope(ctx);
  return ctx.bot.commands.get(commandsKey(scope, language)) ?? [];
};

const deleteMyCommands: Method = (ctx) => {
  const { scope, language } = commandScope(ctx);
  ctx.bot.commands.delete(commandsKey(scope, language));
  return true;
};

const getUpdates: Method = async (ctx) => {
  const { bot, params, server, res } = ctx;
  if (bot.webhook) throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
  const offset = params.int('offset');
  if (offset !== undefined && offset > 0) bot.updates = bot.updates.filter((u) => u.update_id >= offset);
  else if (offset !== undefined && offset < 0) bot.updates = bot.updates.slice(offset);
  const allowed = allowedUpdates(params);
  if (params.has('allowed_updates')) bot.allowedUpdates = allowed;
  const limit = Math.min(100, Math.max(1, params.int('limit') ?? 100));
  const timeout = Math.min(50, Math.max(0, params.int('timeout') ?? 0));
  if (!res) throw badRequest("getUpdates can't be used in a webhook reply");
  return server.poll(bot, limit, timeout, res);
};

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

const setWebhook: Method = (ctx) => {
  const { bot, params, server } = ctx;
  const raw = params.str('url') ?? '';
  if (raw === '') return deleteWebhook(ctx);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest('bad webhook: Failed to resolve host: Name or service not known');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
  const secret = params.str('secret_token');
  if (secret !== undefined && secret !== '' && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) throw badRequest('secret token contains unallowed characters');
  const maxConnections = params.int('max_connections') ?? 40;
  if (maxConnections < 1 || maxConnections > 100) throw badRequest('bad webhook: max_connections must be between 1 and 100');
  if (params.bool('drop_pending_updates')) bot.updates = [];
  bot.poller?.finish(new ApiError(409, 'Conflict: terminated by setWebhook request'));
  if (bot.webhook?.retryTimer) clearTimeout(bot.webhook.retryTimer);
  const previous = bot.webhook;
  bot.webhook = {
    url: url.toString(), secretToken: secret || undefined, maxConnections,
    allowedUpdates: params.has('allowed_updates') ? allowedUpdates(params) : (previous?.allowedUpdates ?? bot.allowedUpdates),
    lastErrorDate: undefined, lastErrorMessage: undefined, delivering: false, retryTimer: undefined, failures: 0,
  };
  server.pumpWebhook(bot);
  return true;
};

const deleteWebhook: Method = (ctx) => {
  const { bot, params } = ctx;
  if (params.bool('drop_pending_updates')) bot.updates = [];
  if (bot.webhook?.retryTimer) clearTimeout(bot.webhook.retryTimer);
  bot.webhook = undefined;
  return true;
};

const getWebhookInfo: Method = ({ bot }) => {
  const hook = bot.webhook;
  if (!hook) return { url: '', has_custom_certificate: false, pending_update_count: bot.updates.length };
  return {
    url: hook.url,
    has_custom_certificate: false,
    pending_update_count: bot.updates.length,
    ...(hook.lastErrorDate !== undefined ? { last_error_date: hook.lastErrorDate, last_error_message: hook.lastErrorMessage } : {}),
    max_connections: hook.maxConnections,
    ip_address: '127.0.0.1',
    ...(hook.allowedUpdates ? { allowed_updates: hook.allowedUpdates } : {}),
  };
};

const getMe: Method = ({ bot }) => ({
  id: bot.id, is_bot: true, first_name: bot.firstName, username: bot.username,
  can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false,
  can_connect_to_business: false, has_main_web_app: false,
});

const getFile: Method = ({ server, params }) => {
  const id = params.str('file_id');
  if (!id) throw badRequest('file_id not specified');
  const file = server.files.get(id);
  if (!file) throw badRequest('invalid file_id');
  if (file.bytes.length > MAX_DOWNLOAD) throw badRequest('file is too big');
  return { file_id: file.fileId, file_unique_id: file.uniqueId, file_size: file.bytes.length, file_path: file.path };
};

const getChat: Method = (ctx) => {
  const raw = ctx.params.str('chat_id') ?? '';
  const chat = ctx.server.chats.get(Number(raw));
  if (!chat) throw badRequest('chat not found');
  return { ...chat, accent_color_id: 0, max_reaction_count: 11 };
};

/** Methods by lower-case name (the Bot API matches names case-insensitively). */
export const METHODS: Record<string, Method> = Object.fromEntries(Object.entries({
  getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo,
  sendMessage, sendPhoto: sendMedia('photo'), sendDocument: sendMedia('document'), sendVoice: sendMedia('voice'),
  editMessageText, editMessageCaption, editMessageReplyMarkup, deleteMessage,
  answerCallbackQuery, sendChatAction, setMyCommands, getMyCommands, deleteMyCommands, getFile, getChat,
}).map(([name, fn]) => [name.toLowerCase(), fn]));
