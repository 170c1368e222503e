// Telegram updates as the dialogue workflow takes them: an InboundMessage with the
// update_id as its channel message id (the workflow deduplicates by it), sender and chat
// facts for `user.*` / `chat.*`, and text cleaned of code points that have no place in
// workflow history or PostgreSQL.

import type { Update, User, Chat, Message, ChatMember } from 'grammy/types';
import type { InboundMessage, JsonObject } from '../../workflows/types.ts';

/** Longest text a message carries into the workflow (its own limit is 16,384). */
const MAX_TEXT = 16_384;
const MAX_FIELD = 256;

/**
 * Replaces what PostgreSQL's jsonb and the workflow's JSON cannot hold or should not: NUL
 * and other C0 controls except tab and newlines, lone surrogates, and the noncharacters
 * U+FFFE/U+FFFF, with U+FFFD. Cuts to `max` characters without splitting a pair.
 */
export function cleanText(text: string, max = MAX_TEXT): string {
  // eslint-disable-next-line no-control-regex
  let out = text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  if (out.length > max) {
    out = out.slice(0, max);
    if (/[\uD800-\uDBFF]$/.test(out)) out = out.slice(0, -1);
  }
  return out;
}

function put(target: JsonObject, key: string, value: string | number | boolean | undefined, max = MAX_FIELD): void {
  if (value === undefined) return;
  target[key] = typeof value === 'string' ? cleanText(value, max) : value;
}

/** `user.*` facts of a sender. */
export function userFacts(user: User): JsonObject {
  const facts: JsonObject = { id: String(user.id) };
  put(facts, 'first_name', user.first_name);
  put(facts, 'last_name', user.last_name);
  put(facts, 'username', user.username);
  put(facts, 'language_code', user.language_code, 35);
  if (user.is_bot) facts.is_bot = true;
  return facts;
}

/** `chat.*` facts of a chat. */
export function chatFacts(chat: Chat): JsonObject {
  const facts: JsonObject = { id: String(chat.id), type: chat.type };
  if ('title' in chat) put(facts, 'title', chat.title);
  if ('username' in chat) put(facts, 'username', chat.username);
  return facts;
}

/** What one update means for a chat session, or why it is skipped. */
export type RoutedUpdate =
  | {
      kind: 'message';
      chatId: string;
      userId: string;
      message: InboundMessage;
      /** A callback query to acknowledge (`answerCallbackQuery`). */
      callbackQueryId?: string;
    }
  | { kind: 'skip'; reason: string };

function mediaOf(m: Message): JsonObject | undefined {
  const caption: JsonObject = m.caption === undefined ? {} : { caption: cleanText(m.caption, 4096) };
  const largest = m.photo?.length ? m.photo[m.photo.length - 1] : undefined;
  if (largest) return { kind: 'photo', file_id: largest.file_id, file_unique_id: largest.file_unique_id, width: largest.width, height: largest.height, ...caption };
  const file = m.document ?? m.voice ?? m.audio ?? m.video ?? m.video_note ?? m.animation ?? m.sticker;
  if (!file) return undefined;
  const kind = m.document ? 'document' : m.voice ? 'voice' : m.audio ? 'audio' : m.video ? 'video' : m.video_note ? 'video_note' : m.animation ? 'animation' : 'sticker';
  const extra: JsonObject = {};
  if ('file_name' in file) put(extra, 'file_name', file.file_name);
  if ('mime_type' in file) put(extra, 'mime_type', file.mime_type, 100);
  if ('file_size' in file && typeof file.file_size === 'number') extra.file_size = file.file_size;
  if ('duration' in file && typeof file.duration === 'number') extra.duration = file.duration;
  return { kind, file_id: file.file_id, file_unique_id: file.file_unique_id, ...extra, ...caption };
}

/**
 * Routes an update to its chat's session: texts, commands (`/start payload` keeps its
 * payload in `message.args`), media, contacts and locations of private and group chats,
 * callback queries (a `button` message with the pressed button's id), and group events
 * (see {@link routeEvent}). Other updates (edits, channel posts, service messages) are skipped.
 */
export function routeUpdate(update: Update): RoutedUpdate {
  const id = String(update.update_id);
  const cq = update.callback_query;
  if (cq) {
    const chat = cq.message?.chat;
    if (!chat) return { kind: 'skip', reason: 'callback query of an inline message (no chat)' };
    if (cq.data === undefined) return { kind: 'skip', reason: 'callback query without data (a game)' };
    const data = cleanText(cq.data, 64);
    return {
      kind: 'message',
      chatId: String(chat.id),
      userId: String(cq.from.id),
      callbackQueryId: cq.id,
      message: { id, kind: 'button', buttonId: data, value: data, date: Math.floor(Date.now() / 1000), from: userFacts(cq.from), chat: chatFacts(chat) },
    };
  }
  const event = routeEvent(update, id);
  if (event) return event;
  const m = update.message;
  if (!m) return { kind: 'skip', reason: `update of a kind sessions do not take (${Object.keys(update).filter((k) => k !== 'update_id').join(', ') || 'empty'})` };
  if (!m.from) return { kind: 'skip', reason: 'message without a sender' };
  const base = { id, date: m.date, from: userFacts(m.from), chat: chatFacts(m.chat) };
  let message: InboundMessage;
  if (m.text !== undefined) message = { ...base, text: cleanText(m.text) };
  else if (m.contact) {
    const contact: JsonObject = { phone_number: cleanText(m.contact.phone_number, 64) };
    put(contact, 'first_name', m.contact.first_name);
    put(contact, 'last_name', m.contact.last_name);
    if (m.contact.user_id !== undefined) contact.user_id = String(m.contact.user_id);
    message = { ...base, kind: 'contact', contact };
  } else if (m.location) {
    message = { ...base, kind: 'location', location: { latitude: m.location.latitude, longitude: m.location.longitude } };
  } else {
    const media = mediaOf(m);
    if (!media) return { kind: 'skip', reason: 'message with nothing a session takes (a service message)' };
    message = { ...base, kind: 'media', media, ...(typeof media.caption === 'string' ? { text: media.caption } : {}) };
  }
  return { kind: 'message', chatId: String(m.chat.id), userId: String(m.from.id), message };
}

const PRESENT: ReadonlySet<ChatMember['status']> = new Set(['creator', 'administrator', 'member', 'restricted']);

/** Whether a chat member is in the chat (a restricted member may have left: `is_member`). */
function present(member: ChatMember): boolean {
  if (member.status === 'restricted') return member.is_member;
  return PRESENT.has(member.status);
}

/** `message.member` of a group event: id, first_name, username. */
function memberFacts(user: User): JsonObject {
  const facts: JsonObject = { id: String(user.id) };
  put(facts, 'first_name', user.first_name);
  put(facts, 'last_name', user.last_name);
  put(facts, 'username', user.username);
  if (user.is_bot) facts.is_bot = true;
  return facts;
}

/**
 * A group event as an `event` message: `chat_member` (someone joined or left; Telegram
 * sends it only to bots that are group administrators and ask for it in allowed_updates)
 * gives `member_joined` / `member_left`; `my_chat_member` (the bot's own membership) gives
 * `bot_added` / `bot_removed`. Only groups and supergroups: a private chat's block and
 * unblock are not events. `user.*` is who did it (`from`), `message.member` whom it is about.
 * The service messages that come with them (`new_chat_members`, `left_chat_member`) stay
 * skipped, so one change is one event.
 */
export function routeEvent(update: Update, id: string): RoutedUpdate | undefined {
  const change = update.chat_member ?? update.my_chat_member;
  if (!change) return undefined;
  const kind = update.chat_member ? 'member' : 'bot';
  if (change.chat.type !== 'group' && change.chat.type !== 'supergroup') return { kind: 'skip', reason: `${kind} status change outside a group (${change.chat.type})` };
  const was = present(change.old_chat_member);
  const is = present(change.new_chat_member);
  if (was === is) return { kind: 'skip', reason: `${kind} status change that is not a join or a leave (${change.old_chat_member.status} → ${change.new_chat_member.status})` };
  const event = kind === 'member' ? (is ? 'member_joined' : 'member_left') : is ? 'bot_added' : 'bot_removed';
  return {
    kind: 'message',
    chatId: String(change.chat.id),
    userId: String(change.from.id),
    message: { id, kind: 'event', event, member: memberFacts(change.new_chat_member.user), date: change.date, from: userFacts(change.from), chat: chatFacts(change.chat) },
  };
}
