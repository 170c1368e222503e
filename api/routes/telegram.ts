import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Update } from 'grammy/types';
import { BotSchema, botSecret, botWebhookSecretContext } from '../../db/bots.ts';
import { createLogger, type Logger } from '../../lib/logger.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { describeTelegramFailure, telegramApi, telegramFailure } from '../../lib/telegram-api.ts';
import { HttpError } from '../errors.ts';
import { uuidSchema } from '../schemas/common.ts';
import { dispatchUpdate } from '../telegram/dispatch.ts';
import { hitRateLimit } from '../../db/rate-limits.ts';
import { DEFAULT_INBOUND_LIMITS, inboundKey, inboundRule, type InboundLimits } from '../telegram/rate-limit.ts';
import { routeUpdate } from '../telegram/updates.ts';
import { membersJoined } from '../telegram/plugins.ts';
import { defineOperation, type Operation } from './define.ts';

export interface TelegramRouteDeps {
  /** Where plugin replies are recorded and sent from (api/telegram/plugins.ts). */
  orm?: MikroORM | undefined;
  temporal: Client;
  taskQueue: string;
  secretBox?: SecretBox | undefined;
  logger?: Logger | undefined;
  inbound?: InboundLimits | undefined;
}

function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * `POST /telegram/{botId}/webhook`: where Telegram delivers the updates of a bot in
 * webhook mode (the lease holder sets it; any API process answers it). Verified by the
 * `X-Telegram-Bot-Api-Secret-Token` header; 401 and nothing happens when it is wrong.
 * A per-bot inbound limit answers 429, which Telegram retries later: counted in PostgreSQL
 * (`rate_limit`, key `tg:in:{botId}`), so it holds across all API processes.
 */
export function telegramOperations(deps: TelegramRouteDeps): Operation[] {
  const limits = deps.inbound ?? DEFAULT_INBOUND_LIMITS;
  const logger = deps.logger ?? createLogger('silent', 'telegram');
  return [
    defineOperation({
      method: 'post',
      path: '/telegram/:botId/webhook',
      operationId: 'telegramWebhook',
      summary: 'Telegram delivers a webhook-mode bot’s updates here',
      description: 'Set and deleted automatically for bots in webhook mode. Needs the X-Telegram-Bot-Api-Secret-Token header Chainflow gave Telegram in setWebhook.',
      tags: ['telegram'],
      auth: 'public',
      params: z.strictObject({ botId: uuidSchema }),
      bodyKind: 'raw',
      bodyLimit: 1024 * 1024,
      errors: [401, 404, 429, 503],
      responses: { 200: { description: 'Taken (or skipped)', schema: z.object({ ok: z.literal(true) }) } },
      handler: async ({ req, res, params, em }) => {
        const bot = await em.findOne(BotSchema, { id: params.botId, kind: 'telegram_bot' });
        if (!bot || bot.mode !== 'webhook' || !bot.enabled || !bot.chainId) throw new HttpError(404, 'bot_not_found', `No bot ${params.botId} in webhook mode here.`);
        if (!deps.secretBox || !bot.encryptedWebhookSecret) throw new HttpError(503, 'webhook_not_ready', 'The webhook of this bot is not set up yet.');
        const expected = deps.secretBox.decrypt(bot.encryptedWebhookSecret, botWebhookSecretContext(bot.id));
        if (!safeEqual(String(req.get('x-telegram-bot-api-secret-token') ?? ''), expected)) {
          throw new HttpError(401, 'bad_secret_token', 'The X-Telegram-Bot-Api-Secret-Token header is missing or wrong; the update was ignored.');
        }
        const decision = await hitRateLimit(em, inboundKey(bot.id), inboundRule(limits));
        if (!decision.allowed) throw new HttpError(429, 'rate_limited', `Bot ${bot.id} gets more updates than its inbound limit (${limits.perSecond}/s); Telegram delivers this one again later.`);
        let update: Update;
        try {
          update = JSON.parse((Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)).toString('utf8')) as Update;
        } catch {
          throw new HttpError(400, 'malformed_json', 'The update is not valid JSON.');
        }
        if (typeof update?.update_id !== 'number') throw new HttpError(400, 'validation_failed', 'body.update_id: an update needs its update_id');
        const routed = routeUpdate(update);
        if (routed.kind === 'skip') await membersJoined({ orm: deps.orm, secretBox: deps.secretBox, logger }, bot.id, update);
        if (routed.kind === 'message') {
          await dispatchUpdate({ orm: deps.orm, secretBox: deps.secretBox, temporal: deps.temporal, taskQueue: deps.taskQueue, logger }, em, { id: bot.id, chainId: bot.chainId }, routed);
          if (routed.callbackQueryId) {
            const token = botSecret(deps.secretBox, bot);
            await telegramApi(token, bot.apiRoot, 15).answerCallbackQuery(routed.callbackQueryId).catch((err: unknown) => {
              logger.warn({ botId: bot.id, message: describeTelegramFailure(telegramFailure(err, token)) }, 'telegram: answerCallbackQuery failed');
            });
          }
        }
        res.json({ ok: true });
      },
    }),
  ];
}
