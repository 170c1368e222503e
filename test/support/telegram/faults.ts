// Faults the test server can inject, and the quirks of Bot API servers that differ from Telegram's.
import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { ApiError } from './request.ts';

export type Fault =
  /** 429 `Too Many Requests: retry after N` with `parameters.retry_after`. */
  | { type: 'rate_limit'; retryAfter: number }
  /** A Telegram-shaped 5xx (default 500 "Internal Server Error"). */
  | { type: 'server_error'; status?: number; description?: string }
  /** Answer normally, but only after `delayMs`. */
  | { type: 'slow'; delayMs: number }
  /**
   * Hold the call `delayMs` before processing it; a call whose client hung up meanwhile is
   * dropped unprocessed (status 499 in `calls`), like a proxy that had not forwarded it yet.
   * `slow` instead processes it anyway, as Telegram does with a request it has received.
   */
  | { type: 'held'; delayMs: number }
  /** Any status with any body (for error bodies that are not `{ok:false, …}`). */
  | { type: 'raw'; status: number; body: string; contentType?: string }
  /** Close the connection without answering. */
  | { type: 'disconnect' };

export interface FaultRule {
  fault: Fault;
  /** Method name(s), case-insensitive; all methods when absent. */
  method?: string | string[];
  /** Only calls with this bot token. */
  token?: string;
  /** How many calls it hits; unlimited when absent. */
  times?: number;
}

export interface FaultHandle {
  /** How many calls it hit so far. */
  readonly hits: number;
  remove(): void;
}

/** Ways a Bot API server may differ from Telegram's, to test that clients cope. */
export interface Quirks {
  /** getUpdates answers at once, ignoring `timeout`. */
  ignoreTimeout?: boolean;
  /** These methods answer 404 Not Found. */
  missingMethods?: string[];
  /** Errors come as HTML pages, not `{ok:false, error_code, description}`. */
  rawErrors?: boolean;
}

export const QUIRKY: Quirks = {
  ignoreTimeout: true,
  missingMethods: ['setMyCommands', 'getMyCommands', 'deleteMyCommands', 'sendChatAction'],
  rawErrors: true,
};

interface ActiveRule extends FaultRule {
  hits: number;
}

const STATUS_TEXT: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

export class Faults {
  quirks: Quirks;
  private rules: ActiveRule[] = [];

  constructor(quirks: Quirks) {
    this.quirks = quirks;
  }

  add(rule: FaultRule): FaultHandle {
    const active: ActiveRule = { ...rule, hits: 0 };
    this.rules.push(active);
    return {
      get hits() {
        return active.hits;
      },
      remove: () => {
        this.rules = this.rules.filter((r) => r !== active);
      },
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** Applies the rules matching a call: throws an ApiError, answers itself, or lets the call through. */
  async before(method: string, token: string, res: ServerResponse): Promise<'answered' | 'continue' | 'dropped'> {
    const name = method.toLowerCase();
    const matching = this.rules.filter((r) => {
      if (r.token !== undefined && r.token !== token) return false;
      if (r.method === undefined) return true;
      return (Array.isArray(r.method) ? r.method : [r.method]).some((m) => m.toLowerCase() === name);
    });
    for (const rule of matching) {
      if (rule.times !== undefined && rule.hits >= rule.times) continue;
      rule.hits++;
      if (rule.times !== undefined && rule.hits >= rule.times) this.rules = this.rules.filter((r) => r !== rule);
      const f = rule.fault;
      switch (f.type) {
        case 'slow':
          await delay(f.delayMs);
          continue;
        case 'held':
          await delay(f.delayMs);
          if (res.destroyed || res.socket?.destroyed !== false) return 'dropped';
          continue;
        case 'rate_limit':
          throw new ApiError(429, `Too Many Requests: retry after ${f.retryAfter}`, f.retryAfter);
        case 'server_error': {
          const status = f.status ?? 500;
          throw new ApiError(status, f.description ?? STATUS_TEXT[status] ?? 'Internal Server Error');
        }
        case 'raw':
          res.writeHead(f.status, { 'content-type': f.contentType ?? 'text/plain' });
          res.end(f.body);
          return 'answered';
        case 'disconnect':
          res.socket?.destroy();
          return 'answered';
      }
    }
    return 'continue';
  }
}
