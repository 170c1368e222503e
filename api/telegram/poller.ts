import { Bot, type Api } from 'grammy';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Update } from 'grammy/types';
import type { Logger } from '../../lib/logger.ts';
import { describeTelegramFailure, telegramFailure } from '../../lib/telegram-api.ts';
import { dispatchUpdate, type DispatchBot, type DispatchDeps } from './dispatch.ts';
import { TokenBucket, type InboundLimits } from './rate-limit.ts';
import { routeUpdate } from './updates.ts';
import { membersJoined } from './plugins.ts';

/**
 * Update kinds the gateway asks for. `chat_member` must be named: Telegram (and grammY's
 * default) leave it out otherwise, and member_joined / member_left never arrive.
 */
export const ALLOWED_UPDATES = ['message', 'callback_query', 'my_chat_member', 'chat_member'] as const;

export interface PollerOptions {
  bot: DispatchBot & { token: string; apiRoot: string };
  deps: DispatchDeps & { orm: MikroORM };
  limits: InboundLimits;
  /** Long-poll timeout in seconds (Telegram holds getUpdates open this long). */
  pollTimeoutSeconds: number;
  /** Records the gateway's state on the bot row (`running`, or `error` with a message). */
  setStatus: (status: 'running' | 'error', lastError: string | null) => Promise<void>;
}

/** grammY's Node build types signals with the abort-controller package; Node's own work the same at run time. */
type GrammySignal = NonNullable<Parameters<Api['getUpdates']>[1]>;
const asGrammySignal = (signal: AbortSignal): GrammySignal => signal as unknown as GrammySignal;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Pause after an empty answer that came back at once (a server that does not hold the poll): 100 ms doubling to 2 s. */
export function emptyPollBackoffMs(streak: number): number {
  return Math.min(2000, 100 * 2 ** Math.max(0, streak - 1));
}

/** Pause after a failed call: 1 s doubling to 30 s. */
export function errorBackoffMs(streak: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, streak - 1));
}

/**
 * Long polling for one bot with grammY (`Bot` on the bot's `apiRoot`): getUpdates with
 * an offset, each update handed to its session in order before the next, acknowledged
 * only when handed over (a failure retries the same update; the workflow deduplicates by
 * update_id). Never a busy loop: an empty answer that returns at once backs off, errors
 * back off, 429 waits `retry_after`. Errors are logged without the token, never thrown.
 */
export class BotPoller {
  private readonly abort = new AbortController();
  private readonly bucket: TokenBucket;
  private readonly grammy: Bot;
  private loop: Promise<void> | undefined;
  private status: string | undefined;
  /** Updates handed to sessions (for tests and logs). */
  handled = 0;
  /** The last update was dropped because the chain has no published version (shown until one is taken). */
  private unpublished = false;

  private readonly opts: PollerOptions;

  constructor(opts: PollerOptions) {
    this.opts = opts;
    this.bucket = new TokenBucket(opts.limits.perSecond, opts.limits.burst);
    this.grammy = new Bot(opts.bot.token, { client: { apiRoot: opts.bot.apiRoot, timeoutSeconds: opts.pollTimeoutSeconds + 15 } });
  }

  private get log(): Logger {
    return this.opts.deps.logger;
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      this.log.error({ botId: this.opts.bot.id, message: describeTelegramFailure(telegramFailure(err, this.opts.bot.token)) }, 'telegram: poller stopped unexpectedly');
    });
  }

  /** Stops polling: the long poll is aborted, an update being handed over finishes first. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async report(status: 'running' | 'error', lastError: string | null): Promise<void> {
    const key = `${status}:${lastError ?? ''}`;
    if (this.status === key) return;
    this.status = key;
    await this.opts.setStatus(status, lastError).catch((err: unknown) => this.log.warn({ err, botId: this.opts.bot.id }, 'telegram: could not record the gateway status'));
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const botId = this.opts.bot.id;
    const api = this.grammy.api;
    // A webhook left from webhook mode makes getUpdates fail with 409: remove it.
    try {
      await api.deleteWebhook({ drop_pending_updates: false }, asGrammySignal(signal));
    } catch (err) {
      if (signal.aborted) return;
      this.log.warn({ botId, message: describeTelegramFailure(telegramFailure(err, this.opts.bot.token)) }, 'telegram: deleteWebhook failed; polling anyway');
    }
    let offset: number | undefined;
    let emptyStreak = 0;
    let errorStreak = 0;
    while (!signal.aborted) {
      let updates: Update[];
      const asked = Date.now();
      try {
        updates = await api.getUpdates({ ...(offset !== undefined ? { offset } : {}), timeout: this.opts.pollTimeoutSeconds, allowed_updates: [...ALLOWED_UPDATES] }, asGrammySignal(signal));
        if (!Array.isArray(updates)) throw new Error('getUpdates answered something that is not a list of updates');
      } catch (err) {
        if (signal.aborted) return;
        errorStreak += 1;
        const failure = telegramFailure(err, this.opts.bot.token);
        const message = describeTelegramFailure(failure);
        let wait = errorBackoffMs(errorStreak);
        if (failure.kind === 'telegram' && failure.code === 429 && failure.retryAfter !== undefined) wait = failure.retryAfter * 1000;
        if (failure.kind === 'telegram' && failure.code === 401) wait = Math.max(wait, 30_000);
        const hint =
          failure.kind === 'telegram' && failure.code === 409
            ? ' (another program polls this bot, or a webhook is set: stop it, or switch the bot to webhook mode)'
            : failure.kind === 'telegram' && failure.code === 401
              ? ' (the token was revoked: PATCH the bot with the current token from @BotFather)'
              : '';
        this.log.warn({ botId, attempt: errorStreak, retryInMs: wait, message }, `telegram: getUpdates failed${hint}`);
        await this.report('error', `${message}${hint}`);
        await sleep(wait, signal);
        continue;
      }
      errorStreak = 0;
      this.log.trace({ botId, updates: updates.length }, 'telegram: getUpdates answered');
      if (!this.unpublished) await this.report('running', null);
      if (updates.length === 0) {
        // A server that does not hold the poll answers at once: back off instead of spinning.
        if (Date.now() - asked < 500 && this.opts.pollTimeoutSeconds > 0) {
          emptyStreak += 1;
          await sleep(emptyPollBackoffMs(emptyStreak), signal);
        } else emptyStreak = 0;
        continue;
      }
      emptyStreak = 0;
      for (const update of updates) {
        if (typeof update?.update_id !== 'number') continue;
        if (offset !== undefined && update.update_id < offset) continue;
        const handed = await this.handle(update, signal);
        if (!handed) return;
        offset = update.update_id + 1;
      }
    }
  }

  /** Hands one update over, retrying until it is (false only when stopped). */
  private async handle(update: Update, signal: AbortSignal): Promise<boolean> {
    const botId = this.opts.bot.id;
    for (let wait = this.bucket.waitMs(); wait > 0; wait = this.bucket.waitMs()) {
      this.log.debug({ botId, waitMs: wait }, 'telegram: inbound rate limit reached; waiting');
      await sleep(wait, signal);
      if (signal.aborted) return false;
    }
    this.bucket.tryTake();
    const routed = routeUpdate(update);
    if (routed.kind === 'skip') {
      // Members joining a group: a service message sessions skip, but plugins may greet them.
      await membersJoined(this.opts.deps, botId, update).catch((err: unknown) => this.log.warn({ botId, message: err instanceof Error ? err.message : String(err) }, 'telegram: plugin member hooks failed'));
      this.log.debug({ botId, updateId: update.update_id, reason: routed.reason }, 'telegram: update skipped');
      return true;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await dispatchUpdate(this.opts.deps, this.opts.deps.orm.em.fork(), this.opts.bot, routed);
        this.unpublished = outcome === 'unpublished';
        if (outcome === 'unpublished') {
          await this.report('error', 'The answering chain has no published version: updates are dropped until it is published (or pick another chain).');
          return true;
        }
        await this.report('running', null);
        if (outcome === 'ignored') return true;
        // Dropped by a plugin hook or answered by a plugin command: no session got it.
        if (outcome === 'dropped' || outcome === 'plugin_command') break;
        this.handled += 1;
        this.log.debug({ botId, updateId: update.update_id, chatId: routed.chatId }, 'telegram: update handed to its session');
        break;
      } catch (err) {
        const wait = errorBackoffMs(attempt);
        this.log.warn({ botId, updateId: update.update_id, attempt, retryInMs: wait, message: err instanceof Error ? err.message : String(err) }, 'telegram: could not hand the update to its session; retrying');
        await sleep(wait, signal);
        // Stopping here leaves the update unconfirmed: the next holder gets it again.
        if (signal.aborted) return false;
      }
    }
    if (routed.callbackQueryId) {
      try {
        await this.grammy.api.answerCallbackQuery(routed.callbackQueryId);
      } catch (err) {
        this.log.warn({ botId, message: describeTelegramFailure(telegramFailure(err, this.opts.bot.token)) }, 'telegram: answerCallbackQuery failed');
      }
    }
    return true;
  }
}
