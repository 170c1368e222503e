import type { AccountClientFactory } from '../lib/telegram-account.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import { z } from 'zod';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Logger } from '../lib/logger.ts';
import { resolveAuthOptions, type AuthOptions } from './auth/options.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { apiRateLimiters, DEFAULT_RATE_LIMITS, type RateLimits } from './rate-limit.ts';
import { API_PREFIX, buildOpenApiDocument, docsRoutes, type OpenApiDocument } from './openapi.ts';
import { auditOperations } from './routes/audit.ts';
import { authOperations } from './routes/auth.ts';
import { personalTokenOperations } from './routes/personal-tokens.ts';
import { chainOperations } from './routes/chains.ts';
import { chainSharingOperations } from './routes/chain-sharing.ts';
import { chatOperations } from './routes/chat.ts';
import { defineOperation, mountOperations, type Operation } from './routes/define.ts';
import { healthRoutes } from './routes/health.ts';
import { hookOperations } from './routes/hooks.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { pluginTabOperations } from './routes/plugin-tabs.ts';
import { nodeTypeOperations } from './routes/node-types.ts';
import { userOperations } from './routes/users.ts';
import { runOperations } from './routes/runs.ts';
import { simulatorOperations } from './routes/simulator.ts';
import { codeOperations } from './routes/code.ts';
import { botOperations, type BotTelegramOptions } from './routes/bots.ts';
import { botCommandOperations } from './routes/bot-commands.ts';
import { credentialOperations } from './routes/credentials.ts';
import { telegramOperations } from './routes/telegram.ts';
import { knowledgeOperations } from './routes/knowledge.ts';
import { pluginOperations } from './routes/plugins.ts';
import { createMetrics } from './routes/metrics.ts';
import { mcpRoutes } from './mcp/http.ts';

export interface AppDeps {
  orm: MikroORM;
  temporal: Client;
  logger: Logger;
  /** Built web app (web/dist); served at / when present. */
  webDir?: string;
  /** Temporal UI base URL, shown to the web app. */
  temporalUiUrl?: string | undefined;
  /** Task queue of the dialogue workflows. */
  taskQueue: string;
  /** Decrypts credentials (webhook secrets). */
  secretBox?: SecretBox | undefined;
  /** HTTP_ALLOW_PRIVATE: what a credential's baseUrl may point at despite the SSRF guard (checked when saved). */
  httpAllowPrivate?: readonly string[] | undefined;
  /**
   * Accounts and sessions (JWT secret, registration mode, token lifetimes, rate limits).
   * Omitted fields take defaults; without a `jwtSecret` each app makes a random one,
   * which suits tests (the CLI passes the configured or persisted secret).
   */
  auth?: Partial<AuthOptions>;
  /** TRUST_PROXY: 'loopback', 'true', a hop count, or a comma list of addresses/CIDRs. */
  trustProxy?: string | undefined;
  /**
   * TELEGRAM_API_ROOT and PUBLIC_URL: with them, bot tokens are checked with `getMe`
   * before they are stored and webhook mode is checked against PUBLIC_URL.
   */
  telegram?: BotTelegramOptions | undefined;
  /** MTProto clients of user accounts (the login operations); GramJS when not set. */
  accounts?: AccountClientFactory | undefined;
  /** When set, GET /metrics needs `Authorization: Bearer <metricsToken>` (METRICS_TOKEN); public otherwise. */
  metricsToken?: string | undefined;
  /**
   * Rate limits of the web chat and webhook routes (per client address and per chain),
   * counted in PostgreSQL; omitted ones take DEFAULT_RATE_LIMITS. The sign-in limit comes
   * from `auth.rateLimitPerMinute` unless `rateLimits.auth` is given.
   */
  rateLimits?: Partial<RateLimits> | undefined;
  /** KNOWLEDGE_MAX_DOCUMENT_BYTES / KNOWLEDGE_MAX_BASE_BYTES; defaults in api/routes/knowledge.ts. */
  knowledge?: { maxDocumentBytes?: number; maxBaseBytes?: number } | undefined;
}

/** The package version, shown in /info and the OpenAPI document. */
export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Every operation under /api/v1, in registration order (also the OpenAPI document's source). */
export function apiOperations(
  deps: Pick<AppDeps, 'temporal' | 'taskQueue' | 'temporalUiUrl' | 'secretBox' | 'httpAllowPrivate' | 'telegram' | 'accounts' | 'knowledge'> & { logger?: Logger; orm?: MikroORM } & { onRunStarted?: (channel: 'api' | 'web') => void },
  auth: AuthOptions,
  document: () => OpenApiDocument,
): Operation[] {
  const meta: Operation[] = [
    defineOperation({
      method: 'get',
      path: '/info',
      operationId: 'info',
      summary: 'Installation facts for the web app',
      tags: ['operations'],
      auth: 'public',
      responses: {
        200: {
          description: 'Name, Temporal namespace and UI link, registration mode',
          schema: z.object({ name: z.string(), version: z.string(), namespace: z.string(), temporalUiUrl: z.string().nullable(), registration: z.enum(['open', 'invite', 'closed']) }),
        },
      },
      handler: ({ res }) => {
        res.json({ name: 'Chainflow', version: VERSION, namespace: deps.temporal.options.namespace, temporalUiUrl: temporalUiUrlOf(deps), registration: auth.registration });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This API’s OpenAPI 3.1 document',
      tags: ['operations'],
      auth: 'public',
      responses: { 200: { description: 'The document', schema: z.record(z.string(), z.unknown()) } },
      handler: ({ res }) => {
        res.json(document());
      },
    }),
  ];
  return [
    ...meta,
    ...authOperations(auth),
    ...personalTokenOperations(),
    ...userOperations(),
    ...chainOperations({ temporal: deps.temporal, taskQueue: deps.taskQueue }),
    ...chainSharingOperations(),
    ...simulatorOperations({ temporal: deps.temporal, taskQueue: deps.taskQueue }),
    ...codeOperations({ temporal: deps.temporal, taskQueue: deps.taskQueue }),
    ...nodeTypeOperations(),
    ...pluginTabOperations(),
    ...auditOperations(),
    ...chatOperations({ temporal: deps.temporal, taskQueue: deps.taskQueue }),
    ...hookOperations({ temporal: deps.temporal, taskQueue: deps.taskQueue, secretBox: deps.secretBox }),
    ...runOperations({ temporal: deps.temporal, taskQueue: deps.taskQueue, temporalUiUrl: deps.temporalUiUrl, onRunStarted: deps.onRunStarted }),
    ...botOperations({ temporal: deps.temporal, secretBox: deps.secretBox, telegram: deps.telegram, httpAllowPrivate: deps.httpAllowPrivate, accounts: deps.accounts }),
    ...botCommandOperations(),
    ...credentialOperations({ secretBox: deps.secretBox, httpAllowPrivate: deps.httpAllowPrivate }),
    ...telegramOperations({ orm: deps.orm, temporal: deps.temporal, taskQueue: deps.taskQueue, secretBox: deps.secretBox, logger: deps.logger }),
    ...knowledgeOperations({ temporal: deps.temporal, taskQueue: deps.taskQueue, secretBox: deps.secretBox, httpAllowPrivate: deps.httpAllowPrivate, ...deps.knowledge }),
    ...pluginOperations({ secretBox: deps.secretBox }),
  ];
}

const temporalUiUrlOf = (deps: { temporalUiUrl?: string | undefined }) => deps.temporalUiUrl ?? null;

/** One JSON line per request (method, path without query, status, time); never bodies or headers. */
function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, ms: Math.round(ms * 10) / 10, ip: req.ip }, 'request');
    });
    next();
  };
}

function trustProxyValue(setting: string): boolean | number | string {
  if (setting === 'true') return true;
  if (setting === 'false') return false;
  if (/^\d+$/.test(setting)) return Number(setting);
  return setting;
}

/** Builds the Express app without listening (cli/ listens; tests use it directly). */
export function createApp(deps: AppDeps): Express {
  const auth = resolveAuthOptions(deps.auth);
  const app = express();
  app.disable('x-powered-by');
  // Which proxies' X-Forwarded-For to believe: 'loopback' by default; behind nginx in
  // compose, the proxy's network (TRUST_PROXY), so rate limits see real client addresses.
  app.set('trust proxy', trustProxyValue(deps.trustProxy ?? 'loopback'));
  app.use(requestLog(deps.logger));
  const metrics = createMetrics(deps.orm, API_PREFIX);
  app.use(metrics.httpMiddleware);

  app.use(healthRoutes({ orm: deps.orm, temporal: deps.temporal }));
  app.use(metrics.router(deps.metricsToken));
  app.use(docsRoutes());

  let document: OpenApiDocument | undefined;
  const operations = apiOperations({ ...deps, onRunStarted: metrics.runStarted }, auth, () => (document ??= buildOpenApiDocument(operations, { version: VERSION })));
  const rateLimiters = apiRateLimiters(deps.orm, {
    ...DEFAULT_RATE_LIMITS,
    auth: { limit: auth.rateLimitPerMinute, windowSeconds: 60 },
    ...deps.rateLimits,
  });
  const api = express.Router();
  mountOperations(api, operations, { orm: deps.orm, jwtSecret: auth.jwtSecret, rateLimiters });
  app.use(API_PREFIX, api);
  app.use('/api', notFoundHandler);
  // MCP (docs/mcp.md): before the web app, whose fallback would answer every path.
  app.use(mcpRoutes({ orm: deps.orm, jwtSecret: auth.jwtSecret }));

  if (deps.webDir && existsSync(join(deps.webDir, 'index.html'))) {
    const webDir = deps.webDir;
    app.use(express.static(webDir, { index: 'index.html', maxAge: '1h' }));
    // Client-side routes fall back to the SPA shell.
    app.get(/^\/(?!api\/|health$|ready$|docs(\/|$)).*/, (_req, res) => res.sendFile(join(webDir, 'index.html')));
  }
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
