import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { createOrm, migrate } from '../db/orm.ts';
import { createLogger, redactUrl, type Logger } from '../lib/logger.ts';
import { ROOT } from '../lib/paths.ts';
import { connectClient, connectWorker, ensureSearchAttributes, temporalTarget } from '../temporal/connection.ts';
import { cachedWorkflowBundle } from '../temporal/bundle.ts';
import { createWorker, workflowCacheSize } from '../temporal/worker.ts';
import { installTemporalRuntime, prometheusTelemetry } from '../temporal/runtime.ts';
import { createCodeSandbox } from '../activities/code-sandbox.ts';
import { secretBoxFor } from '../lib/secret-key.ts';
import { createActivities } from '../activities/index.ts';
import { BUILTIN_PLUGINS_DIR, PluginRegistry } from '../lib/plugins/host.ts';
import { setProcessPlugins } from '../lib/plugins/process.ts';
import { PluginState, setProcessPluginState } from '../lib/plugins/state.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { SecretBox } from '../lib/secret-box.ts';

/** The built web app the API serves at / (when present). */
export const WEB_DIST = join(ROOT, 'web', 'dist');

/**
 * The API's modules (express app, live events, Telegram gateways, GramJS), imported by
 * runApi only: a worker process never loads them (issue 19: worker memory).
 */
async function apiModules() {
  const [app, triggers, schedules, live, gateway, accounts, gramjs, options, setup] = await Promise.all([
    import('../api/app.ts'),
    import('../api/services/triggers.ts'),
    import('../temporal/schedules.ts'),
    import('../api/live/index.ts'),
    import('../api/telegram/gateway.ts'),
    import('../api/telegram/accounts.ts'),
    import('../lib/telegram-account-gramjs.ts'),
    import('../api/auth/options.ts'),
    import('../api/auth/setup.ts'),
  ]);
  return { ...app, ...triggers, ...schedules, ...live, ...gateway, ...accounts, ...gramjs, ...options, ...setup };
}

function databaseUrl(config: Config): string {
  if (!config.databaseUrl) throw new Error('DATABASE_URL is not set. `chainflow start` sets it for its children; set it when running this command alone.');
  return config.databaseUrl;
}

/** Runs pending migrations against DATABASE_URL; with `seed`, imports the examples into an empty installation. */
export async function runMigrations(config: Config, logger: Logger, opts: { seed?: boolean } = {}): Promise<{ applied: string[]; seeded: string[] }> {
  const orm = await createOrm({ url: databaseUrl(config), poolMax: 2 });
  try {
    const applied = await migrate(orm);
    logger.info({ applied, database: redactUrl(databaseUrl(config)) }, applied.length ? 'migrations applied' : 'schema up to date');
    const seeded = opts.seed ? await (await import('./seed.ts')).seedExamples(orm) : [];
    return { applied, seeded };
  } finally {
    await orm.close();
  }
}

/** Stops the process when its supervisor (chainflow start) dies, so nothing is orphaned. */
function watchSupervisor(onGone: () => void): void {
  const supervisor = Number(process.env.CHAINFLOW_SUPERVISOR_PID ?? 0);
  if (!supervisor) return;
  const timer = setInterval(() => {
    try {
      process.kill(supervisor, 0);
    } catch {
      clearInterval(timer);
      onGone();
    }
  }, 1000);
  timer.unref();
}

function onStopSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  watchSupervisor(handler);
}

/**
 * The plugins of this process (plugins/ and PLUGINS_DIR), loaded and watched; set as the
 * process's registry. Which may run, their settings, key-value store and credentials
 * come from the shared `plugin` rows (lib/plugins/state.ts), followed through NOTIFY.
 */
export async function startPlugins(config: Config, logger: Logger, shared: { orm: MikroORM; secretBox: SecretBox | undefined; processName: 'api' | 'worker'; threadsOnDemand?: boolean }): Promise<{ registry: PluginRegistry; close(): Promise<void> }> {
  const state = new PluginState({ orm: shared.orm, secretBox: shared.secretBox, databaseUrl: databaseUrl(config), processName: shared.processName, log: (message) => logger.warn({ plugins: true }, message) });
  const registry = new PluginRegistry({
    dirs: [BUILTIN_PLUGINS_DIR, ...(config.plugins.dir ? [config.plugins.dir] : [])],
    limits: { callTimeoutMs: config.plugins.callTimeoutMs, maxOldGenerationSizeMb: config.plugins.memoryMb },
    ssrfAllow: config.httpAllowPrivate,
    // Plugin log lines and errors may quote what a plugin was given: secrets are replaced first.
    log: (message) => logger.warn({ plugins: true }, state.redact(message)),
    ...state.registryOptions(),
    ...(shared.threadsOnDemand ? { threadsOnDemand: true } : {}),
  });
  await state.start(registry);
  await registry.start();
  await state.ready();
  setProcessPlugins(registry);
  setProcessPluginState(state);
  logger.info({ plugins: registry.list().map((p) => `${p.id}@${p.version ?? '?'} ${p.status}${state.policy(p.id).runs ? '' : ' (not enabled)'}`) }, 'plugins loaded');
  return {
    registry,
    close: async () => {
      await state.close();
      await registry.close();
    },
  };
}

/** `chainflow worker`: the worker on task queue `chainflow` until SIGTERM. */
export async function runWorker(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel, 'worker');
  // METRICS_PORT: the SDK's own Prometheus exporter (worker, task and activity metrics).
  const metricsHost = isIP(config.host) ? config.host : '127.0.0.1';
  const metricsAddress = config.metrics.workerPort !== undefined ? `${metricsHost.includes(':') ? `[${metricsHost}]` : metricsHost}:${config.metrics.workerPort}` : undefined;
  installTemporalRuntime(logger, metricsAddress ? prometheusTelemetry(metricsAddress) : {});
  const orm = await createOrm({ url: databaseUrl(config) });
  const target = temporalTarget(config);
  const connection = await connectWorker(target);
  const client = await connectClient(target);
  await ensureSearchAttributes(client.connection, target.namespace);
  await client.connection.close();
  // WORKFLOW_BUNDLE (production images: the bundle `npm run build` made) when the file
  // exists; otherwise the bundle cached under DATA_DIR/cache, built on first use.
  const prebuilt = config.workflowBundle && existsSync(config.workflowBundle) ? config.workflowBundle : undefined;
  if (config.workflowBundle && !prebuilt) {
    logger.warn({ bundle: config.workflowBundle }, 'WORKFLOW_BUNDLE names a missing file: bundling the workflow code instead (run `chainflow bundle <file>` or fix the path)');
  }
  const bundlePath = prebuilt ?? (await cachedWorkflowBundle(join(config.dataDir, 'cache')));
  const sandbox = createCodeSandbox();
  // A plugin's thread starts at its first call in this process (memory: issue 19).
  const plugins = await startPlugins(config, logger, { orm, secretBox: secretBoxFor(config), processName: 'worker', threadsOnDemand: true });
  // WORKER_MAX_CACHED_WORKFLOWS, else as many sessions as fit in WORKER_MEMORY_MB.
  const maxCachedWorkflows = config.workerMaxCachedWorkflows ?? workflowCacheSize(config.workerMemoryMb, process.memoryUsage.rss() / 1048576);
  const worker = await createWorker({
    connection,
    namespace: target.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: createActivities({ orm, logger, secretBox: secretBoxFor(config), sandbox, ssrf: { allow: config.httpAllowPrivate }, plugins: plugins.registry, knowledge: { embeddingBatch: config.knowledge.embeddingBatch } }),
    workflowBundlePath: bundlePath,
    maxCachedWorkflows,
    ...(config.workerStickyTimeoutMs !== undefined ? { stickyQueueScheduleToStartTimeoutMs: config.workerStickyTimeoutMs } : {}),
  });
  const running = worker.run().finally(async () => {
    await sandbox.close();
    await plugins.close();
    await connection.close();
    await orm.close();
    logger.info('worker stopped');
  });
  onStopSignal(async () => {
    logger.info('worker shutting down');
    worker.shutdown();
    await running;
  });
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: target.namespace, address: target.address, bundle: bundlePath, maxCachedWorkflows, memoryMb: config.workerMemoryMb, ...(metricsAddress ? { metrics: `http://${metricsAddress}/metrics` } : {}) }, 'worker running');
  await running;
}

/** `chainflow api`: the HTTP API and web app until SIGTERM. */
export async function runApi(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel, 'api');
  const { createApp, reconcileTriggers, syncCleanupSchedule, startLiveEvents, startTelegramGateways, startAccountGateways, gramAccountClients, loadOrCreateJwtSecret, ensureSetupToken, setupTokenPath } = await apiModules();
  const orm = await createOrm({ url: databaseUrl(config) });
  const temporal = await connectClient(temporalTarget(config));
  const jwtSecret = config.auth.jwtSecret ?? loadOrCreateJwtSecret(config.dataDir);
  const secretBox = secretBoxFor(config);
  const plugins = await startPlugins(config, logger, { orm, secretBox, processName: 'api' });
  const app = createApp({
    orm,
    temporal,
    logger,
    webDir: WEB_DIST,
    temporalUiUrl: config.temporal.uiUrl,
    taskQueue: config.temporal.taskQueue,
    secretBox,
    httpAllowPrivate: config.httpAllowPrivate,
    trustProxy: config.trustProxy,
    metricsToken: config.metrics.token,
    telegram: { apiRoot: config.telegramApiRoot, publicUrl: config.publicUrl },
    rateLimits: config.rateLimits,
    knowledge: { maxDocumentBytes: config.knowledge.maxDocumentBytes, maxBaseBytes: config.knowledge.maxBaseBytes },
    auth: {
      // Unset outside production: generated once into DATA_DIR/jwt-secret (0600) and reused.
      jwtSecret,
      registration: config.auth.registration,
      setupTokenFile: setupTokenPath(config.dataDir),
      accessTokenTtlSeconds: config.auth.accessTokenTtlSeconds,
      refreshTokenTtlSeconds: config.auth.refreshTokenTtlSeconds,
      rateLimitPerMinute: config.auth.rateLimitPerMinute,
      maxFailedLogins: config.auth.maxFailedLogins,
      lockoutSeconds: config.auth.lockoutSeconds,
      totpBox: secretBox,
    },
  });
  // Schedules follow the active versions (chains imported by the CLI or seeded at start).
  const reconciled = await reconcileTriggers({ temporal, taskQueue: config.temporal.taskQueue }, orm.em.fork(), logger).catch((err: unknown) => {
    logger.warn({ err }, 'schedule reconciliation failed');
    return undefined;
  });
  if (reconciled) logger.info(reconciled, 'schedules reconciled');
  // A fresh installation gets its one-time setup token (DATA_DIR/setup-token; `npm start` prints the link).
  if (await ensureSetupToken(orm.em.fork(), config.dataDir)) logger.info({ file: setupTokenPath(config.dataDir) }, 'no admin yet: open the setup link (its token is in the file) to make the first admin');
  await syncCleanupSchedule(temporal, { taskQueue: config.temporal.taskQueue, retention: config.retention }).catch((err: unknown) => {
    logger.warn({ err }, 'the retention cleanup schedule could not be created; it is retried at the next start');
  });
  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const live = await startLiveEvents(server, { orm, databaseUrl: databaseUrl(config), jwtSecret, logger });
  // Bot API gateways: this process runs those whose lease it wins (one per bot across replicas).
  const telegram = await startTelegramGateways({ orm, temporal, taskQueue: config.temporal.taskQueue, logger, databaseUrl: databaseUrl(config), secretBox, publicUrl: config.publicUrl });
  // User accounts (GramJS): this process holds the MTProto connections whose lease it wins and serves their account:{botId} queues.
  const workerConnection = secretBox ? await connectWorker(temporalTarget(config)) : undefined;
  const accounts = secretBox && workerConnection
    ? await startAccountGateways({ orm, temporal, workerConnection, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, logger, databaseUrl: databaseUrl(config), secretBox, accounts: gramAccountClients })
    : undefined;
  logger.info({ url: config.publicUrl }, 'api listening');
  onStopSignal(async () => {
    logger.info('api shutting down');
    await telegram.close();
    await accounts?.close();
    await workerConnection?.close();
    await live.close();
    await plugins.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await temporal.connection.close();
    await orm.close();
    logger.info('api stopped');
  });
}
