// The stack for Telegram tests: our Bot API test server on loopback, the real API app
// (tokens checked with getMe against it), a worker with the real activities, and the
// API process's gateways on a lease connection of their own — all on one test database.

import { createLogger, type Logger } from '../../lib/logger.ts';
import type { GraphInput } from '../../chain/index.ts';
import { startTelegramGateways, type TelegramGateways, type GatewayOptions } from '../../api/telegram/gateway.ts';
import { bearer, registerAdmin, startApi, type Account, type ApiHarness } from '../api/support/api.ts';
import { publishGraph } from '../support/dialogue.ts';
import { TelegramTestServer, type TelegramTestServerOptions, type TestBot } from '../support/telegram/index.ts';

export interface TelegramStack {
  t: ApiHarness;
  server: TelegramTestServer;
  admin: Account;
  /** Starts another set of gateways (another "API process") on the same database. */
  gateways(opts?: Partial<GatewayOptions>): Promise<TelegramGateways>;
  /** Registers a test-server bot through the API with a chain answering it; returns its row id. */
  addBot(bot: TestBot, chainId: string, extra?: Record<string, unknown>): Promise<string>;
  publish(graph: GraphInput): Promise<{ chainId: string; versionId: string; slug: string }>;
  close(): Promise<void>;
}

export async function startTelegramStack(prefix: string, opts: { logger?: Logger; server?: TelegramTestServerOptions; httpAllow?: string[] } = {}): Promise<TelegramStack> {
  const server = await TelegramTestServer.start(opts.server);
  const t = await startApi(prefix, { deps: { telegram: { apiRoot: server.apiRoot, publicUrl: 'http://127.0.0.1:3000' }, httpAllowPrivate: ['127.0.0.1'] }, ...(opts.logger ? { logger: opts.logger } : {}), ...(opts.httpAllow ? { httpAllow: opts.httpAllow } : {}) });
  const admin = await registerAdmin(t.api);
  const started: TelegramGateways[] = [];
  return {
    t,
    server,
    admin,
    async gateways(extra = {}) {
      const g = await startTelegramGateways({
        orm: t.h.db.orm,
        temporal: t.h.client,
        taskQueue: t.h.taskQueue,
        logger: opts.logger ?? createLogger('silent', 'telegram-test'),
        databaseUrl: t.h.db.url,
        secretBox: t.h.secretBox,
        reconcileMs: 500,
        pollTimeoutSeconds: 10,
        ...extra,
      });
      started.push(g);
      return g;
    },
    async addBot(bot, chainId, extra = {}) {
      const res = await t.api.post('/api/v1/bots').set(bearer(admin.token)).send({ name: bot.username, kind: 'telegram_bot', token: bot.token, chainId, ...extra });
      if (res.status !== 201) throw new Error(`adding bot ${bot.username} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    publish: (graph) => publishGraph(t.h.db, graph),
    async close() {
      for (const g of started) await g.close();
      await t.close();
      await server.close();
    },
  };
}
