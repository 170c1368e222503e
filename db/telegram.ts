import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { PostgreSqlConnection } from '@mikro-orm/postgresql';

/**
 * A Telegram chat of a Bot API bot as delivery sees it. `blockedAt` is set when Telegram
 * answers 403 (the user blocked the bot): later sends to the chat fail fast without
 * calling Telegram, until the user writes again (the gateway clears it).
 */
export const TelegramChatSchema = defineEntity({
  name: 'TelegramChat',
  tableName: 'telegram_chat',
  properties: {
    botId: p.uuid().primary(),
    chatId: p.string().length(32).primary(),
    blockedAt: p.datetime().nullable(),
    /** The chat shows a reply keyboard the bot sent: the next reply without one removes it. */
    replyKeyboard: p.boolean().default(false),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type TelegramChat = InferEntity<typeof TelegramChatSchema>;

/**
 * One outbound message of a session sent to Telegram: `(runId, messageId)` is the
 * session's `{workflowId}/{temporalRunId}` and the reply's id (stable under replay), so a retried
 * `deliverMessage` skips what it sent before. `telegramMessageIds` are the ids Telegram
 * gave the message's parts (a long text is split).
 */
export const TelegramSendSchema = defineEntity({
  name: 'TelegramSend',
  tableName: 'telegram_send',
  indexes: [{ properties: ['sentAt'] }],
  properties: {
    runId: p.string().length(300).primary(),
    messageId: p.string().length(100).primary(),
    botId: p.uuid(),
    telegramMessageIds: p.json<number[]>(),
    sentAt: p.datetime().onCreate(() => new Date()),
  },
});
export type TelegramSend = InferEntity<typeof TelegramSendSchema>;

/**
 * A bot command bound to another chain than the bot's answering one: `/{command}` in any
 * chat of the bot stops the chat's session (outcome `switched`) and starts `chainId`'s
 * active version under the same `chat:{botId}:{chatId}` id. `description` is the command
 * menu's text; `descriptions` its translations by language code (`setMyCommands` with
 * `language_code`).
 */
export const BotCommandSchema = defineEntity({
  name: 'BotCommand',
  tableName: 'bot_command',
  indexes: [{ properties: ['chainId'] }],
  properties: {
    botId: p.uuid().primary(),
    command: p.string().length(32).primary(),
    chainId: p.uuid(),
    description: p.string().length(256),
    descriptions: p.json<Record<string, string>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type BotCommand = InferEntity<typeof BotCommandSchema>;

/**
 * A peer a Telegram user account has seen: its access hash as Telegram gave it with a
 * message (MTProto addresses a user or channel by id *and* access hash; GramJS keeps them
 * only in memory, its StringSession stores none). Delivery builds the InputPeer from this
 * row, so a reply after a restart reaches a person who has not written since. Not a
 * secret, but kept out of logs and run events all the same.
 */
export const TelegramAccountPeerSchema = defineEntity({
  name: 'TelegramAccountPeer',
  tableName: 'telegram_account_peer',
  properties: {
    botId: p.uuid().primary(),
    peerId: p.string().length(32).primary(),
    accessHash: p.string().length(24),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type TelegramAccountPeer = InferEntity<typeof TelegramAccountPeerSchema>;

export const telegramEntities = [TelegramChatSchema, TelegramSendSchema, BotCommandSchema, TelegramAccountPeerSchema];

/** Stores a peer's access hash (one statement; a row that already holds this hash is left as it is). */
export async function rememberAccountPeer(conn: PostgreSqlConnection, botId: string, peerId: string, accessHash: string): Promise<void> {
  await conn.execute(
    `insert into telegram_account_peer (bot_id, peer_id, access_hash, updated_at) values (?, ?, ?, now())
     on conflict (bot_id, peer_id) do update set access_hash = excluded.access_hash, updated_at = now()
     where telegram_account_peer.access_hash <> excluded.access_hash`,
    [botId, peerId, accessHash],
  );
}

/** Forgets an account's peers: access hashes are per Telegram account, so a new session (maybe another account's) or a logout drops them. */
export async function forgetAccountPeers(conn: PostgreSqlConnection, botId: string): Promise<void> {
  await conn.execute('delete from telegram_account_peer where bot_id = ?', [botId]);
}

/** The stored access hash of a peer of an account, if it has written before. */
export async function accountPeerHash(conn: PostgreSqlConnection, botId: string, peerId: string): Promise<string | undefined> {
  const [row] = await conn.execute<{ access_hash: string }[]>('select access_hash from telegram_account_peer where bot_id = ? and peer_id = ?', [botId, peerId]);
  return row?.access_hash;
}

/** The session of a bot's chat: workflow id `chat:{botId}:{chatId}`. */
export const telegramWorkflowId = (botId: string, chatId: string): string => `chat:${botId}:${chatId}`;

const CHAT_OWNER = /^telegram-chat:([0-9a-f-]{36}):(-?\d{1,20})$/;

/**
 * Owner keys of a Telegram session's persisted scopes: the user per bot
 * (`telegram:{botId}:{userId}`), the chat (`telegram-chat:{botId}:{chatId}`, which
 * delivery reads the chat id from) and the bot (`bot:{botId}`).
 */
export function telegramOwners(botId: string, chatId: string, userId: string): { user: string; chat: string; bot: string } {
  return { user: `telegram:${botId}:${userId}`, chat: `telegram-chat:${botId}:${chatId}`, bot: `bot:${botId}` };
}

/** The bot and chat ids of a chat owner key, or undefined when it is not one. */
export function parseChatOwner(key: string): { botId: string; chatId: string } | undefined {
  const m = CHAT_OWNER.exec(key);
  return m ? { botId: m[1] ?? '', chatId: m[2] ?? '' } : undefined;
}
