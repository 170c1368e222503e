import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { botWebhookSecretContext } from '../../db/bots.ts';
import type { Logger } from '../../lib/logger.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { describeTelegramFailure, isLoopbackUrl, telegramApi, telegramFailure } from '../../lib/telegram-api.ts';
import { ALLOWED_UPDATES, errorBackoffMs } from './poller.ts';

/** Where Telegram posts a bot's updates in webhook mode. */
export const webhookPath = (botId: string): string => `/api/v1/telegram/${botId}/webhook`;

export interface WebhookKeeperOptions {
  bot: { id: string; token: string; apiRoot: string };
  orm: MikroORM;
  secretBox: SecretBox;
  logger: Logger;
  publicUrl: string | undefined;
  setStatus: (status: 'running' | 'error', lastError: string | null) => Promise<void>;
}

/**
 * Webhook mode for one bot, run by the lease holder: makes sure the bot has a secret
 * token (stored encrypted), then `setWebhook` to `{PUBLIC_URL}/api/v1/telegram/{id}/webhook`
 * with it, retried with backoff until the Bot API server takes it. Any API process
 * answers the webhook itself (api/routes/telegram.ts). Refused (status error) unless
 * PUBLIC_URL is https or the Bot API server is on loopback.
 */
export class WebhookKeeper {
  private readonly opts: WebhookKeeperOptions;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(opts: WebhookKeeperOptions) {
    this.opts = opts;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops retrying; with `remove`, deletes the webhook (the bot was disabled or deleted). */
  async stop(remove: boolean): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (!remove) return;
    try {
      await telegramApi(this.opts.bot.token, this.opts.bot.apiRoot, 15).deleteWebhook();
    } catch (err) {
      this.opts.logger.warn({ botId: this.opts.bot.id, message: describeTelegramFailure(telegramFailure(err, this.opts.bot.token)) }, 'telegram: deleteWebhook failed');
    }
  }

  private async secret(): Promise<string> {
    const conn = this.opts.orm.em.getConnection();
    const id = this.opts.bot.id;
    const fresh = this.opts.secretBox.encrypt(randomBytes(32).toString('base64url'), botWebhookSecretContext(id));
    await conn.execute('update bot set encrypted_webhook_secret = ? where id = ? and encrypted_webhook_secret is null', [fresh, id]);
    const [row] = await conn.execute<{ encrypted_webhook_secret: string | null }[]>('select encrypted_webhook_secret from bot where id = ?', [id]);
    if (!row?.encrypted_webhook_secret) throw new Error('the bot is gone');
    return this.opts.secretBox.decrypt(row.encrypted_webhook_secret, botWebhookSecretContext(id));
  }

  private async run(): Promise<void> {
    const { bot, logger, publicUrl } = this.opts;
    if (!publicUrl || !(publicUrl.startsWith('https://') || isLoopbackUrl(bot.apiRoot))) {
      await this.opts.setStatus('error', `Webhook mode needs PUBLIC_URL to be https (it is ${publicUrl ?? 'unset'}); set it, or switch the bot to polling.`);
      return;
    }
    const url = `${publicUrl.replace(/\/+$/, '')}${webhookPath(bot.id)}`;
    for (let attempt = 1; !this.abort.signal.aborted; attempt++) {
      try {
        const secret = await this.secret();
        await telegramApi(bot.token, bot.apiRoot, 15).setWebhook(url, { secret_token: secret, allowed_updates: [...ALLOWED_UPDATES] });
        await this.opts.setStatus('running', null);
        logger.info({ botId: bot.id, url }, 'telegram: webhook set');
        return;
      } catch (err) {
        const message = describeTelegramFailure(telegramFailure(err, bot.token));
        const wait = errorBackoffMs(attempt);
        logger.warn({ botId: bot.id, attempt, retryInMs: wait, message }, 'telegram: setWebhook failed; retrying');
        await this.opts.setStatus('error', `setWebhook failed: ${message}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.abort.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
      }
    }
  }
}
