import { z } from 'zod';
import { resourceRoles } from '../../db/accounts.ts';
import { botKinds, botModes, botStatuses } from '../../db/bots.ts';
import { dateTime, listOf, pagingShape, uuidSchema } from './common.ts';

/** A Bot API token as @BotFather hands it out: the bot's id, ':', then the secret part. */
export const BOT_TOKEN = /^(\d{1,20}):[A-Za-z0-9_-]{30,200}$/;

// Messages never quote the value: it is a secret.
const tokenSchema = z
  .string()
  .regex(BOT_TOKEN, "Use the token @BotFather gave: the bot's id, ':', then 30 or more letters, digits, '_' or '-' (like 123456789:AAE…)")
  .meta({ description: 'Bot API token (write-only: never returned)', format: 'password' });

const sessionStringSchema = z
  .string()
  .regex(/^[A-Za-z0-9+/=_-]{20,10000}$/, 'Use the string session of the Telegram account (GramJS/Telethon StringSession: one line of base64 text)')
  .meta({ description: 'MTProto string session of a user account (write-only: never returned)', format: 'password' });

const apiRootSchema = z
  .url({ protocol: /^https?$/, error: 'Use the http(s) URL of a Bot API server, like https://api.telegram.org (without /bot<token>)' })
  .max(500)
  .transform((url) => url.replace(/\/+$/, ''))
  .meta({ description: "The Bot API server (Telegram's, a self-hosted telegram-bot-api, a test server); default TELEGRAM_API_ROOT" });

const modeSchema = z.enum(botModes).meta({ description: 'polling (getUpdates; the default) or webhook (needs an https PUBLIC_URL, or a loopback apiRoot)' });

const chainRefSchema = z.string().min(1).max(100).meta({ description: 'The chain that answers (id or slug); you must be allowed to open it' });

export const botSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(botKinds),
    telegramId: z.string().nullable().meta({ description: "The Telegram bot's id (the public part of its token before ':'); null for user accounts" }),
    hasSecret: z.boolean().meta({ description: 'The token or session string is stored (encrypted); it is never returned. Always true for bots; for user accounts true once signed in or a session is imported, false before and after logout' }),
    chainId: z.uuid().nullable(),
    groups: z.array(z.string()).meta({ description: 'telegram_user: the groups (chat ids) whose messages start sessions too; [] for bots' }),
    enabled: z.boolean(),
    mode: z.enum(botModes),
    apiRoot: z.string(),
    status: z.enum(botStatuses).meta({ description: "What its gateway does: stopped (disabled, no chain, or not picked up yet), running, error (see lastError; retried)" }),
    lastError: z.string().nullable(),
    ownerId: z.uuid().nullable(),
    role: z.enum(resourceRoles).meta({ description: 'Your role on the bot (admins count as owners)' }),
    createdAt: dateTime,
    updatedAt: dateTime,
  })
  .meta({ id: 'Bot' });

export const botListSchema = listOf(botSchema, 'BotList');

export const botListQuerySchema = z.strictObject({
  q: z.string().max(200).optional().meta({ description: 'Part of the name' }),
  kind: z.enum(botKinds).optional(),
  chainId: uuidSchema.optional(),
  enabled: z.enum(['true', 'false']).optional(),
  ...pagingShape,
});

const groupsSchema = z
  .array(z.string().regex(/^-\d{1,20}$/, 'Use a group\'s chat id as Telegram shows it, starting with "-" (like -4012345678, or -1001234567890 for a supergroup)'))
  .max(100)
  .transform((ids) => [...new Set(ids)])
  .meta({ description: 'telegram_user: the groups whose messages start sessions too (chat ids, "-…"); private chats always do. Empty by default' });

export const createBotBodySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    kind: z.enum(botKinds).meta({ description: 'telegram_bot (Bot API token) or telegram_user (user account, session string)' }),
    token: tokenSchema.optional().meta({ description: 'Required for telegram_bot' }),
    sessionString: sessionStringSchema.optional().meta({ description: 'telegram_user: an existing session string to import; without it, sign the account in with the /bots/{id}/account/login operations' }),
    chainId: chainRefSchema.nullable().optional(),
    enabled: z.boolean().default(true),
    mode: modeSchema.default('polling'),
    apiRoot: apiRootSchema.optional(),
    groups: groupsSchema.optional(),
  })
  .superRefine((b, ctx) => {
    if (b.kind === 'telegram_bot' && b.groups !== undefined) ctx.addIssue({ code: 'custom', path: ['groups'], message: 'A telegram_bot gets the messages of the groups it is a member of; groups are for telegram_user accounts; drop groups' });
    if (b.kind === 'telegram_bot' && b.token === undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: "A telegram_bot needs its token (from @BotFather)" });
    if (b.kind === 'telegram_bot' && b.sessionString !== undefined) ctx.addIssue({ code: 'custom', path: ['sessionString'], message: 'A telegram_bot has a token, not a session string; drop sessionString' });
    if (b.kind === 'telegram_user' && b.token !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'A telegram_user has a session string, not a token; drop token' });
  })
  .meta({ id: 'CreateBotRequest' });

export const updateBotBodySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    token: tokenSchema.optional().meta({ description: 'A new token (telegram_bot only); the bot must stay the same Telegram bot' }),
    sessionString: sessionStringSchema.optional().meta({ description: 'A new session string (telegram_user only)' }),
    chainId: chainRefSchema.nullable().optional().meta({ description: 'The chain that answers (id or slug), or null for none' }),
    enabled: z.boolean().optional(),
    mode: modeSchema.optional(),
    apiRoot: apiRootSchema.optional(),
    groups: groupsSchema.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'Send at least one of name, token, sessionString, chainId, enabled, mode, apiRoot, groups' })
  .meta({ id: 'UpdateBotRequest' });

export const botDeleteQuerySchema = z.strictObject({
  force: z.enum(['true', 'false']).default('false').meta({ description: "true: also terminate the bot's running sessions" }),
});

export const botGrantViewSchema = z
  .object({
    userId: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: z.enum(resourceRoles),
    source: z.enum(['owner', 'grant']).meta({ description: "'owner': the bot's owner; 'grant': shared" }),
    createdAt: dateTime.nullable(),
  })
  .meta({ id: 'BotGrant' });
export const botGrantListSchema = listOf(botGrantViewSchema, 'BotGrantList');
export const botGrantParamsSchema = z.strictObject({ id: uuidSchema, userId: uuidSchema });

// ------------------------------------------------------------ bound commands

/** A bot command's name: 'help' (a leading '/' is dropped, letters lowercased). */
const commandNameSchema = z
  .string()
  .trim()
  .transform((c) => c.replace(/^\//, '').toLowerCase())
  .pipe(z.string().regex(/^[a-z0-9_]{1,32}$/, "Use a command name of 1 to 32 letters, digits or '_', like 'help' or '/help'"));

const commandDescriptionSchema = z.string().trim().min(1).max(256);

/** Translations of a command's menu text, by Telegram language code ('ru', 'de'). */
const commandDescriptionsSchema = z
  .record(z.string().regex(/^[a-z]{2}$/, "Use a two-letter language code, like 'ru' (Telegram's language_code for command menus)"), commandDescriptionSchema)
  .refine((r) => Object.keys(r).length <= 50, { message: 'At most 50 languages' })
  .meta({ description: "The menu text in other languages, by two-letter language code ('ru'); setMyCommands with language_code" });

export const botCommandSchema = z
  .object({
    botId: z.uuid(),
    command: z.string().meta({ description: "The command without '/', e.g. 'help'" }),
    chainId: z.uuid().meta({ description: 'The chain the command starts (its active version)' }),
    description: z.string().meta({ description: 'The command menu text (default language)' }),
    descriptions: z.record(z.string(), z.string()),
    createdAt: dateTime,
    updatedAt: dateTime,
  })
  .meta({ id: 'BotCommand' });

export const botCommandListSchema = z.object({ items: z.array(botCommandSchema) }).meta({ id: 'BotCommandList' });

export const botCommandParamsSchema = z.strictObject({ id: uuidSchema, command: commandNameSchema });

export const createBotCommandBodySchema = z
  .strictObject({
    command: commandNameSchema,
    chainId: chainRefSchema,
    description: commandDescriptionSchema.meta({ description: "The command menu text (default language), e.g. 'Ask for help'" }),
    descriptions: commandDescriptionsSchema.default({}),
  })
  .meta({ id: 'CreateBotCommandRequest' });

export const updateBotCommandBodySchema = z
  .strictObject({
    chainId: chainRefSchema.optional(),
    description: commandDescriptionSchema.optional(),
    descriptions: commandDescriptionsSchema.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'Send at least one of chainId, description, descriptions' })
  .meta({ id: 'UpdateBotCommandRequest' });
