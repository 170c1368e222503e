// Telegram's documented send limits, enforced when a test asks for them: about one message per
// second in a chat, 20 per minute in a group, 30 per second per bot. Above them: 429 with the
// seconds until the window frees up, as Telegram answers.
import { ApiError } from './request.ts';
import type { Chat } from './types.ts';

export interface SendLimits {
  perChatPerSecond?: number;
  perGroupPerMinute?: number;
  perBotPerSecond?: number;
}

export const TELEGRAM_LIMITS: Required<SendLimits> = { perChatPerSecond: 1, perGroupPerMinute: 20, perBotPerSecond: 30 };

export class SendPacer {
  private readonly limits: SendLimits;
  private readonly sent = new Map<string, number[]>();

  constructor(limits: SendLimits) {
    this.limits = limits;
  }

  /** Throws 429 when one more send would exceed a limit; records the send otherwise. */
  admit(botId: number, chat: Chat, at = Date.now()): void {
    const windows: [string, number | undefined, number][] = [
      [`bot:${botId}`, this.limits.perBotPerSecond, 1000],
      [`chat:${botId}:${chat.id}`, this.limits.perChatPerSecond, 1000],
      ...(chat.type === 'private' ? [] : [[`group:${botId}:${chat.id}`, this.limits.perGroupPerMinute, 60_000] as [string, number | undefined, number]]),
    ];
    for (const [key, max, span] of windows) {
      if (max === undefined) continue;
      const recent = (this.sent.get(key) ?? []).filter((t) => t > at - span);
      this.sent.set(key, recent);
      if (recent.length >= max) {
        const retryAfter = Math.max(1, Math.ceil((recent[0]! + span - at) / 1000));
        throw new ApiError(429, `Too Many Requests: retry after ${retryAfter}`, retryAfter);
      }
    }
    for (const [key, max] of windows) if (max !== undefined) this.sent.get(key)!.push(at);
  }
}
