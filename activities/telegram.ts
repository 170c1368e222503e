// Delivery to Bot API bots (grammY): a session's replies become sendMessage / sendPhoto /
// … calls on the bot's Bot API server. Each reply is recorded per part in
// `telegram_send` (session × reply id, stable under replay), so a retried activity
// continues where it stopped instead of sending again. Telegram's errors become Temporal
// failures: 429 a retry after `retry_after` (never a sleep here), 400 non-retryable with
// Telegram's description, 403 a blocked chat (`telegram_chat.blocked_at`), which fails
// later sends at once until the user writes again. Every part is paced first (see
// {@link TELEGRAM_PACE}), counted in PostgreSQL so all worker processes share the pace.

import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { InputFile, type Api } from 'grammy';
import { BotSchema, botSecret } from '../db/bots.ts';
import { cleanRateLimits, hitRateLimit, refundRateLimit, type RateRule } from '../db/rate-limits.ts';
import { parseChatOwner } from '../db/telegram.ts';
import type { Logger } from '../lib/logger.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { describeTelegramFailure, telegramApi, telegramFailure } from '../lib/telegram-api.ts';
import type { OutboundMessage } from '../workflows/types.ts';
import { activityContext } from './activity-context.ts';
import { splitText, TELEGRAM_TEXT_LIMIT } from './telegram-text.ts';
import type { PluginRegistry } from '../lib/plugins/host.ts';
import { processPlugins } from '../lib/plugins/process.ts';
import { runAfterHooks } from '../lib/plugins/hooks.ts';

export interface TelegramDeliveryDeps {
  orm: MikroORM;
  logger: Logger;
  secretBox: SecretBox | undefined;
  /** Runs the plugins' after-message hooks once replies went out (default true; off for the gateway's own plugin replies). */
  afterHooks?: boolean;
  /** The plugins; the process's registry (lib/plugins/process.ts) when absent. */
  plugins?: PluginRegistry;
}

/** Failure types of Telegram delivery (the workflow ends a session on `telegram_blocked`). */
export const TELEGRAM_FAILURES = {
  blocked: 'telegram_blocked',
  badRequest: 'telegram_bad_request',
  rateLimited: 'telegram_rate_limited',
  /** Over our own pace (not Telegram's answer): retried after the computed wait. */
  paced: 'telegram_paced',
  unauthorized: 'telegram_unauthorized',
  unavailable: 'telegram_unavailable',
  unsupported: 'telegram_unsupported',
  botMissing: 'bot_not_found',
} as const;

/**
 * The send pace, a little under Telegram's documented limits (about 1 message a second in
 * a chat, 20 a minute in a group, 30 a second per bot), so that the jitter between a counted
 * send and its arrival at Telegram (a busy worker, the network) does not push two sends
 * into one of Telegram's windows.
 * GCRA rules (db/rate-limits.ts): a burst of `limit`, then one every window/limit; the
 * burst plus a window's refill stays within Telegram's count for any window:
 * chats one per 1.2 s, groups 5 + 60/4.2 ≈ 19 a minute, bots 5 + 1/0.05 = 25 a second.
 */
export const TELEGRAM_PACE = {
  chat: { limit: 1, windowSeconds: 1.2 },
  group: { limit: 5, windowSeconds: 21 },
  bot: { limit: 5, windowSeconds: 0.25 },
} as const satisfies Record<string, RateRule>;

const CLEAN_EVERY_MS = 60_000;

type ReplyMarkup = Record<string, unknown>;

/** One Bot API call of a reply. */
interface Part {
  method: 'sendMessage' | 'sendPhoto' | 'sendVideo' | 'sendAudio' | 'sendDocument' | 'sendVoice' | 'editMessageText';
  payload: Record<string, unknown>;
}

const PARSE_MODE = { plain: undefined, html: 'HTML', markdown: 'MarkdownV2' } as const;
const MEDIA_METHOD = { photo: ['sendPhoto', 'photo'], video: ['sendVideo', 'video'], audio: ['sendAudio', 'audio'], document: ['sendDocument', 'document'], voice: ['sendVoice', 'voice'] } as const;

/** Telegram's upload limits (multipart): photos 10 MB, other files 50 MB. */
export const UPLOAD_LIMITS = { photo: 10 * 1024 * 1024, other: 50 * 1024 * 1024 } as const;

const DATA_URL = /^data:([a-z0-9.+-]+\/[a-z0-9.+-]+)?((?:;[a-z0-9-]+=[^;,]*)*)(;base64)?,/i;
const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp', 'application/pdf': 'pdf', 'text/plain': 'txt', 'text/csv': 'csv', 'application/json': 'json', 'audio/ogg': 'ogg', 'audio/mpeg': 'mp3', 'video/mp4': 'mp4' };

/**
 * A media `url` that is a `data:` URL (bytes a step produced, e.g. a code step's base64
 * image or CSV): its bytes and a file name, uploaded by multipart. Undefined for an http(s)
 * URL or a file id (Telegram fetches or knows those). Throws when it is malformed or over
 * Telegram's upload limit for the kind.
 */
export function dataUrlUpload(url: string, kind: string): InputFile | undefined {
  if (!url.startsWith('data:')) return undefined;
  const m = DATA_URL.exec(url);
  if (!m) throw new Error("a data: URL must look like data:<type>;base64,<bytes>");
  const body = url.slice(m[0].length);
  const bytes = m[3] ? Buffer.from(body, 'base64') : Buffer.from(decodeURIComponent(body), 'utf8');
  const limit = kind === 'photo' ? UPLOAD_LIMITS.photo : UPLOAD_LIMITS.other;
  if (bytes.length === 0) throw new Error('the data: URL has no bytes');
  if (bytes.length > limit) throw new Error(`the ${kind} is ${bytes.length} bytes; Telegram takes uploads of at most ${limit} bytes for it`);
  const mime = (m[1] ?? 'application/octet-stream').toLowerCase();
  return new InputFile(bytes, `${kind}.${EXTENSIONS[mime] ?? 'bin'}`);
}

function markupOf(message: OutboundMessage): ReplyMarkup | undefined {
  const b = message.buttons;
  if (!b) return undefined;
  if (b.kind === 'inline') {
    return { inline_keyboard: b.rows.map((row) => row.map((btn) => (btn.url ? { text: btn.text, url: btn.url } : { text: btn.text, callback_data: btn.id }))) };
  }
  return { keyboard: b.rows.map((row) => row.map((btn) => ({ text: btn.text }))), resize_keyboard: true, ...(b.oneTime ? { one_time_keyboard: true } : {}) };
}

/**
 * The Bot API calls of one reply: its text (split on word boundaries above 4096
 * characters), then its media by URL or file id; the keyboard goes on the last call.
 * `removeKeyboard`: the chat shows a reply keyboard that this reply does not replace.
 */
export function partsOf(chatId: string, message: OutboundMessage, removeKeyboard: boolean): Part[] {
  const parseMode = PARSE_MODE[message.format];
  const common = { chat_id: chatId, ...(parseMode ? { parse_mode: parseMode } : {}) };
  const parts: Part[] = [];
  if (message.text.trim() !== '' || !message.media?.length) {
    for (const chunk of splitText(message.text || ' ', message.format, TELEGRAM_TEXT_LIMIT)) {
      parts.push({ method: 'sendMessage', payload: { ...common, text: chunk, ...(message.disablePreview ? { link_preview_options: { is_disabled: true } } : {}) } });
    }
  }
  for (const m of message.media ?? []) {
    const [method, field] = MEDIA_METHOD[m.kind as keyof typeof MEDIA_METHOD] ?? MEDIA_METHOD.document;
    parts.push({ method, payload: { ...common, [field]: dataUrlUpload(m.url, m.kind) ?? m.url, ...(m.caption ? { caption: m.caption.slice(0, 1024) } : {}) } });
  }
  const markup = markupOf(message) ?? (removeKeyboard ? { remove_keyboard: true } : undefined);
  const last = parts[parts.length - 1];
  if (markup && last) last.payload = { ...last.payload, reply_markup: markup };
  return parts;
}

/**
 * An edit of message `editId` (editMessageText) for a reply with `edit` set: its text and
 * inline keyboard replace the old ones. Only a text of one part with no media and no reply
 * keyboard can be an edit; anything else is sent as new messages.
 */
export function editOf(parts: Part[], message: OutboundMessage, editId: number): Part[] {
  const only = parts[0];
  if (parts.length !== 1 || only?.method !== 'sendMessage' || message.buttons?.kind === 'reply') return parts;
  const { reply_markup: _markup, ...payload } = only.payload;
  return [{ method: 'editMessageText', payload: { ...payload, message_id: editId, ...(message.buttons?.kind === 'inline' ? { reply_markup: markupOf(message) } : {}) } }];
}

async function call(api: Api, part: Part): Promise<number> {
  const raw = api.raw as unknown as Record<string, (payload: Record<string, unknown>) => Promise<{ message_id?: number }>>;
  const method = raw[part.method];
  if (!method) throw new Error(`grammY has no method ${part.method}`);
  const sent = await method(part.payload);
  if (part.method === 'editMessageText') return Number(part.payload.message_id);
  return typeof sent?.message_id === 'number' ? sent.message_id : 0;
}

/**
 * Counts one Bot API call (a send or an edit) against the chat's pace (and the group's),
 * then the bot's ({@link TELEGRAM_PACE}, shared by all worker processes). Undefined when
 * it may go now; otherwise which scope refused and how long until it may, and nothing is
 * counted. The chat is counted first: a chat waiting on its own pace never uses up the
 * bot's sends that other chats need; a refusal by a later scope gives the earlier scopes'
 * counts back.
 */
export async function takeTelegramSend(em: EntityManager, botId: string, chatId: string): Promise<{ what: string; retryAfterMs: number } | undefined> {
  const scopes: [string, RateRule, string][] = [
    [`tg:chat:${botId}:${chatId}`, TELEGRAM_PACE.chat, 'this chat'],
    // Negative chat ids are groups, supergroups and channels.
    ...(chatId.startsWith('-') ? [[`tg:group:${botId}:${chatId}`, TELEGRAM_PACE.group, 'this group'] as [string, RateRule, string]] : []),
    [`tg:bot:${botId}`, TELEGRAM_PACE.bot, 'this bot'],
  ];
  for (const [index, [key, rule, what]] of scopes.entries()) {
    const decision = await hitRateLimit(em, key, rule);
    if (!decision.allowed) {
      // The scopes counted before this one give their send back: a chat refused by the
      // bot's pace would otherwise wait its own 1.2 s again on the retry.
      for (const [earlier, earlierRule] of scopes.slice(0, index)) await refundRateLimit(em, earlier, earlierRule);
      return { what, retryAfterMs: decision.retryAfterMs };
    }
  }
  return undefined;
}

/**
 * A reply that replaces a streamed draft (`replaces`, see activities/agent-stream.ts): its
 * first text part edits the draft message `draftId` instead of sending a new one; the
 * other parts (the rest of a long text, media) are sent after it. A reply whose first part
 * is not text, or that shows a reply keyboard on that part, is sent as new messages.
 */
export function adoptDraft(parts: Part[], message: OutboundMessage, draftId: number): Part[] {
  const [first, ...rest] = parts;
  if (first?.method !== 'sendMessage' || (rest.length === 0 && message.buttons?.kind === 'reply')) return parts;
  const { reply_markup: markup, ...payload } = first.payload;
  return [{ method: 'editMessageText', payload: { ...payload, message_id: draftId, ...(markup && rest.length === 0 && message.buttons?.kind === 'inline' ? { reply_markup: markup } : {}) } }, ...rest];
}

/**
 * Sends a session's replies to a Bot API bot's chat. The chat comes from the session's
 * chat owner key (`telegram-chat:{botId}:{chatId}`), the token and server from the bot row.
 */
export function createTelegramDelivery(deps: TelegramDeliveryDeps) {
  let lastClean = Date.now();
  /**
   * Counts one send against the chat's pace (and the group's), then the bot's; over any,
   * the activity fails retryably with `nextRetryDelay` = the wait, so Temporal runs it again
   * then (no sleep here). See {@link takeTelegramSend}.
   */
  const pace = async (em: EntityManager, botId: string, chatId: string): Promise<void> => {
    const refused = await takeTelegramSend(em, botId, chatId);
    if (refused) {
      throw ApplicationFailure.create({
        message: `Pacing the sends to ${refused.what} within Telegram's limits; the next one goes in ${refused.retryAfterMs} ms.`,
        type: TELEGRAM_FAILURES.paced,
        nonRetryable: false,
        nextRetryDelay: refused.retryAfterMs,
        // Expected, not an error: the worker logs it at debug level only.
        category: ApplicationFailureCategory.BENIGN,
      });
    }
    if (Date.now() - lastClean > CLEAN_EVERY_MS) {
      lastClean = Date.now();
      await cleanRateLimits(em);
    }
  };
  return async function deliverTelegram(input: { botId?: string; chatKey: string; messages: OutboundMessage[] }): Promise<{ delivered: string[] }> {
    const target = parseChatOwner(input.chatKey);
    const botId = input.botId ?? target?.botId;
    if (!target || !botId) throw ApplicationFailure.nonRetryable(`The session's chat key "${input.chatKey}" is not a Telegram chat; nothing was sent.`, TELEGRAM_FAILURES.botMissing);
    const em = deps.orm.em.fork();
    const conn = em.getConnection();
    const bot = await em.findOne(BotSchema, { id: botId });
    if (!bot) throw ApplicationFailure.nonRetryable(`Bot ${botId} no longer exists; ${input.messages.length} message(s) were not sent.`, TELEGRAM_FAILURES.botMissing);
    if (!deps.secretBox) throw ApplicationFailure.retryable('This worker has no CHAINFLOW_SECRET_KEY to decrypt the bot token; set it and restart the worker.', TELEGRAM_FAILURES.unavailable);
    const token = botSecret(deps.secretBox, bot);
    const chatId = target.chatId;
    const [chat] = await conn.execute<{ blocked_at: Date | null; reply_keyboard: boolean }[]>('select blocked_at, reply_keyboard from telegram_chat where bot_id = ? and chat_id = ?', [bot.id, chatId]);
    if (chat?.blocked_at) {
      throw ApplicationFailure.nonRetryable(`The user blocked bot "${bot.name}" (since ${new Date(chat.blocked_at).toISOString()}); nothing is sent until they write again.`, TELEGRAM_FAILURES.blocked);
    }
    // Reply ids count per workflow id but start again in the chat's next session: the
    // execution's run id keeps two sessions' replies apart (a retry has the same one).
    const execution = activityContext()?.info.workflowExecution;
    const runId = execution ? `${execution.workflowId}/${execution.runId}` : `direct:${input.chatKey}`;
    const api = telegramApi(token, bot.apiRoot, 30);
    let keyboardShown = chat?.reply_keyboard ?? false;
    const delivered: string[] = [];
    // Texts of the replies this attempt sent (a retry that resends nothing runs no hooks again).
    const sentNow: string[] = [];
    for (const message of input.messages) {
      const [record] = await conn.execute<{ telegram_message_ids: number[] }[]>('select telegram_message_ids from telegram_send where run_id = ? and message_id = ?', [runId, message.id]);
      let parts: Part[];
      try {
        parts = partsOf(chatId, message, keyboardShown && message.buttons?.kind !== 'reply');
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`The message of node "${message.nodeId}" cannot be sent: ${err instanceof Error ? err.message : String(err)}.`, TELEGRAM_FAILURES.badRequest);
      }
      if (message.replaces && !record) {
        // The agent streamed this answer into a draft message (activities/agent-stream.ts): edit it.
        const [draft] = await conn.execute<{ telegram_message_ids: number[] }[]>('select telegram_message_ids from telegram_send where run_id = ? and message_id = ?', [runId, message.replaces]);
        const draftId = draft?.telegram_message_ids.at(-1);
        if (draftId) parts = adoptDraft(parts, message, draftId);
      } else if (message.edit && !record) {
        // The session's last bot message: the newest part of its newest record.
        const [previous] = await conn.execute<{ telegram_message_ids: number[] }[]>(
          'select telegram_message_ids from telegram_send where run_id = ? and message_id <> ? order by sent_at desc, message_id desc limit 1',
          [runId, message.id],
        );
        const editId = previous?.telegram_message_ids.at(-1);
        if (editId) parts = editOf(parts, message, editId);
      }
      const sentIds = [...(record?.telegram_message_ids ?? [])];
      if (sentIds.length < parts.length) sentNow.push(message.text);
      for (let i = sentIds.length; i < parts.length; i++) {
        const part = parts[i];
        if (!part) break;
        await pace(em, bot.id, chatId);
        let messageId: number;
        try {
          messageId = await call(api, part);
        } catch (err) {
          const failure = telegramFailure(err, token);
          // An edit to the same text and buttons: Telegram refuses it, the chat shows it already.
          if (part.method === 'editMessageText' && failure.kind === 'telegram' && failure.code === 400 && /message is not modified/i.test(failure.description)) messageId = Number(part.payload.message_id);
          else throw await failureOf(deps, bot.id, bot.name, chatId, err, token);
        }
        sentIds.push(messageId);
        // Recorded after each part: a retry sends only what is missing. A crash between
        // Telegram's answer and this write is the one window that can send a part twice.
        await conn.execute(
          `insert into telegram_send (run_id, message_id, bot_id, telegram_message_ids, sent_at) values (?, ?, ?, ?::jsonb, now())
           on conflict (run_id, message_id) do update set telegram_message_ids = excluded.telegram_message_ids`,
          [runId, message.id, bot.id, JSON.stringify(sentIds)],
        );
      }
      const shows = message.buttons?.kind === 'reply' ? !message.buttons.oneTime : message.buttons?.kind === 'inline' ? keyboardShown : false;
      if (shows !== keyboardShown) {
        await conn.execute(
          `insert into telegram_chat (bot_id, chat_id, blocked_at, reply_keyboard, updated_at) values (?, ?, null, ?, now())
           on conflict (bot_id, chat_id) do update set reply_keyboard = excluded.reply_keyboard, updated_at = now()`,
          [bot.id, chatId, shows],
        );
        keyboardShown = shows;
      }
      delivered.push(message.id);
    }
    // After-message hooks: here, after the replies were sent, never in workflow code.
    // Each has the hook budget; one that fails or runs over is recorded, nothing else.
    if (sentNow.length && deps.afterHooks !== false) {
      await runAfterHooks(deps.plugins ?? processPlugins(), { botId: bot.id, chatId, ...(chatId.startsWith('-') ? {} : { chatType: 'private' }), replies: sentNow }, deps.logger);
    }
    return { delivered };
  };
}

/** Telegram's answer as a Temporal failure (a 403 records the block first). */
async function failureOf(deps: TelegramDeliveryDeps, botId: string, botName: string, chatId: string, err: unknown, token: string): Promise<ApplicationFailure> {
  const failure = telegramFailure(err, token);
  const what = describeTelegramFailure(failure);
  if (failure.kind === 'network') {
    return ApplicationFailure.retryable(`Sending to Telegram failed (${what}); retried.`, TELEGRAM_FAILURES.unavailable);
  }
  switch (failure.code) {
    case 429:
      return ApplicationFailure.create({
        message: `Telegram asks to wait ${failure.retryAfter ?? 'a few'} s before sending more (${what}); retried then.`,
        type: TELEGRAM_FAILURES.rateLimited,
        nonRetryable: false,
        ...(failure.retryAfter !== undefined ? { nextRetryDelay: `${Math.max(1, failure.retryAfter)}s` } : {}),
      });
    case 403:
      await deps.orm.em.getConnection().execute(
        `insert into telegram_chat (bot_id, chat_id, blocked_at, reply_keyboard, updated_at) values (?, ?, now(), false, now())
         on conflict (bot_id, chat_id) do update set blocked_at = now(), updated_at = now()`,
        [botId, chatId],
      );
      deps.logger.info({ botId, chatId }, 'telegram: the user blocked the bot; the session ends');
      return ApplicationFailure.nonRetryable(`The user blocked bot "${botName}" or left the chat (${what}).`, TELEGRAM_FAILURES.blocked);
    case 400:
      return ApplicationFailure.nonRetryable(`Telegram refused the message (${what}); fix the message node (format, buttons, length) and publish again.`, TELEGRAM_FAILURES.badRequest);
    case 401:
      return ApplicationFailure.nonRetryable(`Telegram does not accept the token of bot "${botName}" (${what}); PATCH the bot with its current token from @BotFather.`, TELEGRAM_FAILURES.unauthorized);
    case 404:
      return ApplicationFailure.nonRetryable(`The Bot API server does not offer this method (${what}).`, TELEGRAM_FAILURES.unsupported);
    default:
      return failure.code >= 500
        ? ApplicationFailure.retryable(`Telegram is unavailable (${what}); retried.`, TELEGRAM_FAILURES.unavailable)
        : ApplicationFailure.nonRetryable(`Telegram refused the message (${what}).`, TELEGRAM_FAILURES.badRequest);
  }
}
