// "… is typing" in a Telegram chat while a node's activity (HTTP, LLM, code, plugin) runs
// for that chat's session: `sendChatAction` with `typing` when the activity starts and
// every 4 s after (Telegram shows the action for 5 s or until the bot's next message),
// stopped when the activity ends. The activity waits for the first action (at most
// FIRST_ACTION_WAIT_MS), so it can never reach the chat after the reply it announces; a
// failure (a server without `sendChatAction`, a blocked chat, a network error) is logged
// once at debug level and changes nothing.

import type { MikroORM } from '@mikro-orm/postgresql';
import { BotSchema, botSecret } from '../db/bots.ts';
import type { Logger } from '../lib/logger.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { describeTelegramFailure, telegramApi, telegramFailure } from '../lib/telegram-api.ts';
import { activityContext } from './activity-context.ts';

/** How often the action is repeated while the activity runs (Telegram shows it 5 s). */
export const TYPING_REPEAT_MS = 4000;
/** The longest an activity waits for its first typing action before it runs anyway. */
export const FIRST_ACTION_WAIT_MS = 1000;

const CHAT_WORKFLOW = /^chat:([0-9a-f-]{36}):(-?\d{1,20})$/;

export interface TypingDeps {
  orm: MikroORM;
  logger: Logger;
  secretBox: SecretBox | undefined;
  repeatMs?: number;
}

/** Wraps activity functions so that a Telegram chat shows "typing" while they run. */
export function createTypingIndicator(deps: TypingDeps) {
  const repeatMs = deps.repeatMs ?? TYPING_REPEAT_MS;

  /**
   * Starts showing the action for the current activity's chat, if it is a Telegram chat;
   * resolves with the stop function once the first action was answered (or after
   * FIRST_ACTION_WAIT_MS).
   */
  async function start(): Promise<() => void> {
    const workflowId = activityContext()?.info.workflowExecution?.workflowId;
    const match = workflowId ? CHAT_WORKFLOW.exec(workflowId) : null;
    if (!match || !deps.secretBox) return () => {};
    const [, botId, chatId] = match as unknown as [string, string, string];
    const secretBox = deps.secretBox;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
    const first = (async () => {
      const bot = await deps.orm.em.fork().findOne(BotSchema, { id: botId });
      if (!bot || bot.kind !== 'telegram_bot' || stopped) return;
      const token = botSecret(secretBox, bot);
      const api = telegramApi(token, bot.apiRoot, 10);
      const send = async (): Promise<void> => {
        try {
          await api.sendChatAction(chatId, 'typing');
        } catch (err) {
          stopped = true;
          deps.logger.debug({ botId, chatId, reason: describeTelegramFailure(telegramFailure(err, token)) }, 'telegram: the typing action was not shown');
          return;
        }
        if (!stopped) timer = setTimeout(() => void send(), repeatMs);
      };
      await send();
    })().catch((err: unknown) => deps.logger.debug({ botId, err: err instanceof Error ? err.message : String(err) }, 'telegram: the typing action was not shown'));
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([first, new Promise<void>((resolve) => (waited = setTimeout(resolve, FIRST_ACTION_WAIT_MS)))]);
    clearTimeout(waited);
    return stop;
  }

  return function withTyping<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => {
      const stop = await start();
      try {
        return await fn(...args);
      } finally {
        stop();
      }
    };
  };
}
