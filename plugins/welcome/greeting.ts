import type { HookMember } from 'chainflow/plugin-sdk';

export interface WelcomeSettings {
  greeting: { en: string; ru: string };
  language: 'auto' | 'en' | 'ru';
  greetBots: boolean;
}

/** A member's name as people read it: first name, else @username, else the id. */
export function nameOf(member: HookMember): string {
  return member.first_name?.trim() || (member.username ? `@${member.username}` : member.id);
}

/**
 * The greeting for members who joined at once (one message for all), in the language the
 * settings name or, on 'auto', the first member's Telegram language (ru or else en);
 * undefined when nobody is left to greet (bots, unless greetBots).
 */
export function greetingFor(members: HookMember[], chatTitle: string | undefined, settings: WelcomeSettings): string | undefined {
  const people = members.filter((m) => settings.greetBots || !m.is_bot);
  if (people.length === 0) return undefined;
  const language = settings.language === 'auto' ? (people[0]?.language_code?.toLowerCase().startsWith('ru') ? 'ru' : 'en') : settings.language;
  const joiner = language === 'ru' ? ' и ' : ' and ';
  const names = people.map(nameOf);
  const name = names.length > 1 ? `${names.slice(0, -1).join(', ')}${joiner}${names.at(-1)}` : (names[0] ?? '');
  return settings.greeting[language].replaceAll('{name}', name).replaceAll('{chat}', chatTitle ?? '');
}
