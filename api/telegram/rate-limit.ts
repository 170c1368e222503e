import type { RateRule } from '../../db/rate-limits.ts';

/**
 * A token bucket: `ratePerSecond` sustained, `burst` at once. The gateway keeps one per
 * bot for inbound updates: polling waits for a token (Telegram keeps the updates, so
 * nothing is lost, the flood is only slowed), a webhook answers 429 so Telegram retries.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  readonly ratePerSecond: number;
  readonly burst: number;
  private readonly now: () => number;
  constructor(ratePerSecond: number, burst: number, now: () => number = Date.now) {
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
  }

  /** Takes a token if there is one. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token (0 when one is there). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }
}

/** Inbound limits of one bot's gateway. */
export interface InboundLimits {
  /** Updates per second a bot's chats may send together, sustained. */
  perSecond: number;
  /** Updates at once above that. */
  burst: number;
}

export const DEFAULT_INBOUND_LIMITS: InboundLimits = { perSecond: 30, burst: 100 };

/** The inbound limit as a shared GCRA rule (db/rate-limits.ts): a burst of `burst`, then `perSecond`. */
export const inboundRule = (limits: InboundLimits): RateRule => ({ limit: limits.burst, windowSeconds: limits.burst / limits.perSecond });

/** The `rate_limit` key of a bot's inbound updates (webhook mode). */
export const inboundKey = (botId: string): string => `tg:in:${botId}`;
