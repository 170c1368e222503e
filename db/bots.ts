import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { SecretBox } from '../lib/secret-box.ts';

/**
 * Channel accounts: a Telegram bot (Bot API token, grammY) or a Telegram user account
 * (MTProto session string, GramJS). The gateways that connect them come in their own
 * issue; this is the account as the control plane manages it.
 */
export const botKinds = ['telegram_bot', 'telegram_user'] as const;
export type BotKind = (typeof botKinds)[number];

/** How a Bot API bot receives updates: long polling (`getUpdates`) or a webhook. */
export const botModes = ['polling', 'webhook'] as const;
export type BotMode = (typeof botModes)[number];

/**
 * What the bot's gateway is doing, as its holder last wrote it: `stopped` (disabled, no
 * chain, or not yet picked up), `running` (polling or webhook set), `error` (see
 * `lastError`; retried by the gateway).
 */
export const botStatuses = ['stopped', 'running', 'error'] as const;
export type BotStatus = (typeof botStatuses)[number];

/** Telegram's Bot API server: the default of `TELEGRAM_API_ROOT`. */
export const DEFAULT_TELEGRAM_API_ROOT = 'https://api.telegram.org';

/**
 * A channel account. Its secret (the bot token or the session string) is stored
 * encrypted with the secret box (associated data {@link botSecretContext}) and is never
 * returned by the API; only `telegramId`, the public bot id before the token's ':', is.
 */
export const BotSchema = defineEntity({
  name: 'Bot',
  tableName: 'bot',
  indexes: [{ properties: ['ownerId'] }, { properties: ['chainId'] }],
  properties: {
    id: p.uuid().primary(),
    name: p.string().length(200),
    kind: p.enum(botKinds),
    /** `v1:<keyId>:<iv>:<tag>:<ciphertext>`: the bot token or the session string. */
    encryptedSecret: p.text(),
    /** The Telegram bot's user id (the token's part before ':'); null for user accounts. Unique: one registration per bot. */
    telegramId: p.string().length(32).nullable().unique(),
    /** The chain that answers this bot's chats (its active version); null until chosen. */
    chainId: p.uuid().nullable(),
    enabled: p.boolean().default(true),
    /** polling (getUpdates) or webhook (`/api/v1/telegram/{id}/webhook`). */
    mode: p.enum(botModes).default('polling'),
    /** The Bot API server this bot talks to (`TELEGRAM_API_ROOT` when it was added), without a trailing '/'. */
    apiRoot: p.string().length(500).default(DEFAULT_TELEGRAM_API_ROOT),
    /** The webhook's `secret_token`, encrypted like the token (associated data {@link botWebhookSecretContext}); null until a webhook is set. */
    encryptedWebhookSecret: p.text().nullable(),
    /** telegram_user: `{apiId, apiHash}` from my.telegram.org, encrypted (associated data {@link botAppContext}); null until set. */
    encryptedApp: p.text().nullable(),
    /** telegram_user: a login in progress (phone, code hash, pre-login session), encrypted ({@link botLoginContext}); null otherwise. */
    encryptedLogin: p.text().nullable(),
    /** telegram_user: the groups (Bot API style chat ids, `-…`) whose messages start sessions too; private chats always do. */
    accountGroups: p.json<string[]>().nullable(),
    status: p.enum(botStatuses).default('stopped'),
    /** The gateway's last error (never a secret), cleared when it runs again. */
    lastError: p.text().nullable(),
    ownerId: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Bot = InferEntity<typeof BotSchema>;

/**
 * The bot's decrypted secret (Bot API token or session string). Only activities and
 * gateways call this; the value must never reach logs, errors or workflow history.
 */
export function botSecret(box: SecretBox, bot: { id: string; encryptedSecret: string }): string {
  return box.decrypt(bot.encryptedSecret, botSecretContext(bot.id));
}

/** Associated data that binds an encrypted bot secret to its row. */
export function botSecretContext(id: string): string {
  return `bot:${id}`;
}

/** Associated data that binds an encrypted webhook secret to its bot. */
export function botWebhookSecretContext(id: string): string {
  return `bot-webhook:${id}`;
}

/** Associated data that binds a user account's encrypted api id/hash to its bot. */
export function botAppContext(id: string): string {
  return `bot-app:${id}`;
}

/** Associated data that binds a user account's login in progress to its bot. */
export function botLoginContext(id: string): string {
  return `bot-login:${id}`;
}
