import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * Channel accounts: a Telegram bot (Bot API token, grammY) or a Telegram user account
 * (MTProto session string, GramJS). The gateways that connect them come in their own
 * issue; this is the account as the control plane manages it.
 */
export const botKinds = ['telegram_bot', 'telegram_user'] as const;
export type BotKind = (typeof botKinds)[number];

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
    ownerId: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Bot = InferEntity<typeof BotSchema>;

/** Associated data that binds an encrypted bot secret to its row. */
export function botSecretContext(id: string): string {
  return `bot:${id}`;
}
