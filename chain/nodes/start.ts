import { z } from 'zod';
import { checkCron } from '../cron.ts';
import { isValidTimeZone } from '../time.ts';
import { credentialIdSchema, field } from './common.ts';
import { defineNode, l } from './spec.ts';

/** Telegram bot command names: 1–32 of a-z, 0-9, '_'. */
import { COMMAND_PATTERN, normalizeCommand, telegramEventKey } from '../command.ts';
export { COMMAND_PATTERN, normalizeCommand, telegramEventKey };

/** Telegram group events a `telegram_event` start takes. */
export const TELEGRAM_EVENTS = ['member_joined', 'member_left', 'bot_added', 'bot_removed'] as const;
export type TelegramEvent = (typeof TELEGRAM_EVENTS)[number];

const triggerSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('command'),
    command: field(
      z.string().refine((command) => COMMAND_PATTERN.test(normalizeCommand(command)), "Use a Telegram command like '/start': 1–32 of a-z, 0-9 and '_'"),
      l('Command', 'Команда'),
      l("E.g. '/start'; arguments after it are in message.args", "Например '/start'; аргументы после неё — в message.args"),
    ),
    description: field(z.string().max(256).optional(), l('Menu description', 'Описание в меню'), l("Shown in the bot's command menu", 'Показывается в меню команд бота')),
  }),
  z.object({
    kind: z.literal('text'),
    pattern: field(z.string().min(1), l('Text pattern', 'Шаблон текста'), l('RE2 regular expression searched in the message, e.g. ^(hi|hello)\\b', 'Регулярное выражение RE2, например ^(привет|здравствуйте)')),
    ignoreCase: field(z.boolean().default(true), l('Ignore case', 'Без учёта регистра'), undefined, 'switch'),
  }),
  z.object({
    kind: z.literal('schedule'),
    cron: field(
      z.string().superRefine((cron, ctx) => {
        const problem = checkCron(cron);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
      l('Schedule (cron)', 'Расписание (cron)'),
      l("minute hour day month weekday, e.g. '0 9 * * 1-5' = weekdays at 9:00", "минута час день месяц день-недели, например '0 9 * * 1-5' = по будням в 9:00"),
      'cron',
    ),
    timezone: field(z.string().default('UTC').refine(isValidTimeZone, "Use an IANA time zone like 'Europe/Moscow'"), l('Time zone', 'Часовой пояс'), undefined, 'timezone'),
  }),
  z.object({
    kind: z.literal('webhook'),
    hookId: field(
      z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "Use 1–63 lowercase letters, digits and '-'"),
      l('Webhook id', 'Id вебхука'),
      l('Last part of the webhook URL: /api/v1/hooks/{chain}/{hookId}', 'Последняя часть URL вебхука: /api/v1/hooks/{chain}/{hookId}'),
    ),
    auth: field(
      z
        .object({
          mode: z.enum(['none', 'secret_header', 'hmac_sha256', 'bearer']).default('secret_header'),
          credentialId: credentialIdSchema.optional(),
        })
        .refine((auth) => auth.mode === 'none' || auth.credentialId !== undefined, {
          message: 'Pick the credential that holds the webhook secret',
          path: ['credentialId'],
        })
        .default({ mode: 'none' }),
      l('Authentication', 'Аутентификация'),
      l('The secret lives in a credential; it is never stored in the chain', 'Секрет хранится в учётных данных, не в цепочке'),
      'credential',
    ),
  }),
  z.object({
    kind: z.literal('telegram_event'),
    events: field(
      z
        .array(z.enum(TELEGRAM_EVENTS))
        .min(1, "Pick at least one event: 'member_joined', 'member_left', 'bot_added' or 'bot_removed'")
        .refine((events) => new Set(events).size === events.length, 'List each event once'),
      l('Group events', 'События группы'),
      l(
        'member_joined / member_left: someone joined or left the group (the bot must be a group admin to be told); bot_added / bot_removed: the bot was added to or removed from a group. The member is in message.member, the event in message.event',
        'member_joined / member_left: участник вошёл в группу или вышел (бот должен быть администратором группы, чтобы узнавать об этом); bot_added / bot_removed: бота добавили в группу или удалили. Участник — в message.member, событие — в message.event',
      ),
    ),
  }),
  z.object({ kind: z.literal('api') }),
  z.object({ kind: z.literal('any') }),
]);

export const startConfigSchema = z.object({
  trigger: field(
    triggerSchema,
    l('Trigger', 'Триггер'),
    l(
      'What starts a session here: a command, a text pattern, a schedule, a webhook, a Telegram group event, an API call, or any message',
      'Что запускает сессию: команда, шаблон текста, расписание, вебхук, событие группы Telegram, вызов API или любое сообщение',
    ),
  ),
});
export type StartConfig = z.infer<typeof startConfigSchema>;
export type Trigger = StartConfig['trigger'];

/**
 * The key of a start node in `ChainIR.entries`: 'command:<name>', 'text:<nodeId>',
 * 'schedule:<nodeId>', 'webhook:<hookId>', 'telegram_event:<event>' (one per event), 'api',
 * 'any'. Keys are unique per chain.
 */
export function entryKeys(trigger: Trigger, nodeId: string): string[] {
  return trigger.kind === 'telegram_event' ? trigger.events.map(telegramEventKey) : [entryKey(trigger, nodeId)];
}

/** The key of a start node with a single-key trigger (every kind but `telegram_event`, which has one per event: see {@link entryKeys}). */
export function entryKey(trigger: Exclude<Trigger, { kind: 'telegram_event' }>, nodeId: string): string {
  switch (trigger.kind) {
    case 'command':
      return `command:${normalizeCommand(trigger.command)}`;
    case 'text':
    case 'schedule':
      return `${trigger.kind}:${nodeId}`;
    case 'webhook':
      return `webhook:${trigger.hookId}`;
    case 'api':
    case 'any':
      return trigger.kind;
  }
}

export const startNode = defineNode({
  type: 'start',
  category: 'trigger',
  icon: 'play',
  label: l('Start', 'Старт'),
  help: l(
    'Where a session begins. A chain may have several starts, one per trigger.',
    'Начало сессии. В цепочке может быть несколько стартов — по одному на триггер.',
  ),
  config: startConfigSchema,
  defaults: { trigger: { kind: 'command', command: '/start' } },
  ports: [{ id: 'next', required: true, label: l('Next', 'Далее') }],
  entry: (config, nodeId) => entryKeys(config.trigger, nodeId),
  regexes: (config) => (config.trigger.kind === 'text' ? [{ field: 'trigger.pattern', pattern: config.trigger.pattern }] : []),
  normalize: (config) =>
    config.trigger.kind === 'command' ? { trigger: { ...config.trigger, command: normalizeCommand(config.trigger.command) } } : config,
});
