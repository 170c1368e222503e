// Telegram-style command names. zod-free: used in the workflow sandbox.
export const COMMAND_PATTERN = /^[a-z0-9_]{1,32}$/;

/** '/Start@MyBot' → 'start'. */
export function normalizeCommand(command: string): string {
  return command.trim().replace(/^\//, '').replace(/@.*$/, '').toLowerCase();
}
