// Where a new session starts, and in which language it speaks: pure helpers shared by
// the channel gateways and the interpreter so they agree.

import type { ChainIR } from './ir.ts';
import type { AskConfig } from './nodes/ask.ts';
import type { Buttons } from './nodes/common.ts';
import type { MessageConfig } from './nodes/message.ts';
import { COMMAND_PATTERN, telegramEventKey } from './command.ts';
import { regexTest } from './regex.ts';
import { getVariable, type ReadableScope } from './scope.ts';

/**
 * Splits a Telegram command: '/start@MyBot ref_42' → { command: 'start', args: 'ref_42' }.
 * Undefined when the text is not a command.
 */
export function parseCommand(text: string): { command: string; args: string } | undefined {
  const match = /^\/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!match) return undefined;
  const command = (match[1] ?? '').toLowerCase();
  return COMMAND_PATTERN.test(command) ? { command, args: (match[2] ?? '').trim() } : undefined;
}

/**
 * The start node for an inbound message when no session is running: its command's
 * start, else the first text trigger whose pattern matches (in `entries` key order,
 * i.e. by node id), else the 'any' start. Schedules, webhooks and API runs use
 * `entries['schedule:<nodeId>' | 'webhook:<hookId>' | 'api']` directly; Telegram group
 * events use {@link findEventEntry}.
 */
export function findEntry(ir: Pick<ChainIR, 'entries' | 'nodes'>, text: string): string | undefined {
  const command = parseCommand(text);
  if (command) {
    const id = ir.entries[`command:${command.command}`];
    if (id !== undefined) return id;
  }
  for (const [key, id] of Object.entries(ir.entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!key.startsWith('text:')) continue;
    const node = ir.nodes[id];
    if (node?.type !== 'start' || node.config.trigger.kind !== 'text') continue;
    const trigger = node.config.trigger;
    if (regexTest(trigger.pattern, text, { caseInsensitive: trigger.ignoreCase })) return id;
  }
  return ir.entries['any'];
}

/**
 * The language a session speaks: `session.language` when the chain has it, else the
 * user's Telegram `language_code` (or its primary subtag: 'pt-BR' → 'pt'), else the
 * chain's default.
 */
export function resolveLanguage(ir: Pick<ChainIR, 'languages' | 'defaultLanguage'>, scope: ReadableScope): string {
  const candidates = [getVariable(scope, 'session.language'), getVariable(scope, 'user.language_code')];
  for (const candidate of candidates) {
    if (typeof candidate !== 'string' || candidate === '') continue;
    const lower = candidate.toLowerCase();
    const exact = ir.languages.find((language) => language.toLowerCase() === lower);
    if (exact) return exact;
    const primary = ir.languages.find((language) => language.toLowerCase() === lower.split('-')[0]);
    if (primary) return primary;
  }
  return ir.defaultLanguage;
}

/** A message's text and buttons in a language (the translation, else the original). */
export function localizeMessage(config: MessageConfig, language: string): { text: string; buttons: Buttons | undefined } {
  const variant = config.variants?.[language];
  return variant ? { text: variant.text, buttons: variant.buttons ?? config.buttons } : { text: config.text, buttons: config.buttons };
}

/** An ask node's prompt, buttons and re-ask text in a language. */
export function localizeAsk(config: AskConfig, language: string): { prompt: string; buttons: Buttons | undefined; retryText: string | undefined } {
  const variant = config.variants?.[language];
  if (!variant) return { prompt: config.prompt, buttons: config.buttons, retryText: config.retryText };
  return { prompt: variant.prompt, buttons: variant.buttons ?? config.buttons, retryText: variant.retryText ?? config.retryText };
}

/**
 * The start node of a Telegram group event ('member_joined', 'bot_added'…): the
 * `telegram_event` start that lists it. Only such a start: never 'any' or a text pattern.
 */
export function findEventEntry(ir: Pick<ChainIR, 'entries'>, event: string): string | undefined {
  return ir.entries[telegramEventKey(event)];
}
