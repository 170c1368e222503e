// Telegram-style command names. zod-free: used in the workflow sandbox.
export const COMMAND_PATTERN = /^[a-z0-9_]{1,32}$/;

/** '/Start@MyBot' → 'start'. */
export function normalizeCommand(command: string): string {
  return command.trim().replace(/^\//, '').replace(/@.*$/, '').toLowerCase();
}

/** The entry key of a Telegram group event's start: 'telegram_event:member_joined'. */
export const telegramEventKey = (event: string): string => `telegram_event:${event}`;
