import type { Api } from 'grammy';
import type { BotCommand, LanguageCode } from 'grammy/types';
import type { ChainIR } from '../../chain/index.ts';
import type { Logger } from '../../lib/logger.ts';
import { describeTelegramFailure, telegramFailure } from '../../lib/telegram-api.ts';

/** A command bound to another chain (`bot_command`), as the menu needs it. */
export interface BoundCommand {
  command: string;
  description: string;
  /** Menu texts by two-letter language code. */
  descriptions: Record<string, string>;
}

/** A plugin's Telegram command as the menu needs it. */
export interface PluginMenuCommand {
  command: string;
  description: { en: string; ru: string };
}

/** The bot commands of a chain version: its command start triggers, by command name. */
export function chainCommands(ir: ChainIR): Array<{ command: string; description: string }> {
  const commands: Array<{ command: string; description: string }> = [];
  for (const [key, nodeId] of Object.entries(ir.entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!key.startsWith('command:')) continue;
    const node = ir.nodes[nodeId];
    if (node?.type !== 'start' || node.config.trigger.kind !== 'command') continue;
    const command = key.slice('command:'.length);
    const description = node.config.trigger.description?.trim() || `/${command}`;
    commands.push({ command, description: description.slice(0, 256) });
  }
  return commands.slice(0, 100);
}

/**
 * The command menus of a bot: '' (the default, no `language_code`) and one per language
 * the chain has variants in or a bound command has a translation for (Telegram takes
 * two-letter codes: 'pt-BR' becomes 'pt'; the chain's default language is the default
 * menu). Each menu is the plugins' commands, the chain's command triggers and the bound
 * commands merged (a chain's command replaces a plugin's of the same name, a bound command
 * both), by command name, at most 100. Plugin commands add 'en' and 'ru' menus.
 */
export function commandMenus(ir: ChainIR | null, bound: BoundCommand[], plugins: PluginMenuCommand[] = []): Map<string, BotCommand[]> {
  const own = ir ? chainCommands(ir) : [];
  const languages = new Set<string>();
  const primary = (tag: string) => tag.toLowerCase().split('-')[0] ?? '';
  const defaultLanguage = ir ? primary(ir.defaultLanguage) : '';
  for (const tag of ir?.languages ?? []) languages.add(primary(tag));
  for (const b of bound) for (const tag of Object.keys(b.descriptions)) languages.add(tag);
  if (plugins.length) for (const tag of ['en', 'ru']) languages.add(tag);
  languages.delete(defaultLanguage);
  const pluginText = (c: PluginMenuCommand, language: string) => (language === 'ru' || (!language && defaultLanguage === 'ru') ? c.description.ru : c.description.en) || `/${c.command}`;
  const menu = (language: string): BotCommand[] => {
    const byName = new Map<string, BotCommand>();
    // Plugin commands first: the chain's own and the bound ones of the same name replace them.
    for (const c of plugins) byName.set(c.command, { command: c.command, description: pluginText(c, language).slice(0, 256) });
    for (const c of own) byName.set(c.command, c);
    for (const b of bound) byName.set(b.command, { command: b.command, description: (language ? b.descriptions[language] : undefined) ?? b.description });
    return [...byName.values()].sort((a, b) => (a.command < b.command ? -1 : a.command > b.command ? 1 : 0)).slice(0, 100);
  };
  const menus = new Map<string, BotCommand[]>([['', menu('')]]);
  for (const language of [...languages].sort()) if (/^[a-z]{2}$/.test(language)) menus.set(language, menu(language));
  return menus;
}

/**
 * Makes the bot's command menus the chain's command triggers merged with its bound
 * commands (`setMyCommands`, default scope, once without and once per `language_code`).
 * Languages in `previous` that no longer have a menu are deleted. A server without the
 * method, or any failure, is a logged warning only. Returns the languages set.
 */
export async function syncCommands(api: Api, ir: ChainIR | null, bound: BoundCommand[], log: Logger, botId: string, token: string, previous: ReadonlySet<string> = new Set(), plugins: PluginMenuCommand[] = []): Promise<Set<string>> {
  const menus = commandMenus(ir, bound, plugins);
  try {
    for (const [language, commands] of menus) {
      const other = language ? { language_code: language as LanguageCode } : {};
      if (commands.length) await api.setMyCommands(commands, other);
      else await api.deleteMyCommands(other);
    }
    for (const language of previous) if (language && !menus.has(language)) await api.deleteMyCommands({ language_code: language as LanguageCode });
  } catch (err) {
    log.warn({ botId, message: describeTelegramFailure(telegramFailure(err, token)) }, 'telegram: the command menu could not be set (setMyCommands); the bot works without it');
  }
  return new Set(menus.keys());
}
