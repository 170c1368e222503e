import { totalmem } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { checkDuration } from './chain/duration.ts';
import type { RetentionSettings } from './activities/cleanup.ts';

/** A duration like '15m', '30d' or 'PT1H' (chain/duration.ts), as seconds. */
const durationSeconds = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const check = checkDuration(text);
      if (!check.ok) {
        ctx.addIssue({ code: 'custom', message: check.message });
        return z.NEVER;
      }
      return Math.max(1, Math.round(check.ms / 1000));
    });

/** An optional duration like '2s' or '500ms', as milliseconds. */
const optionalDurationMs = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (text === undefined || text.trim() === '') return undefined;
    const check = checkDuration(text);
    if (!check.ok) {
      ctx.addIssue({ code: 'custom', message: check.message });
      return z.NEVER;
    }
    return check.ms;
  });

/** Days to keep rows of one kind; 0 keeps them forever. */
const retentionDays = (fallback: number) => z.coerce.number().int('Use a whole number of days (0 keeps forever)').min(0).max(36_500).default(fallback);
/** A rate like '60/1m' or '1200/1h' (requests per duration), or 'off'. */
const rate = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const value = text.trim();
      if (value === 'off' || value === '0') return null;
      const match = /^(\d+)\s*\/\s*(\S+)$/.exec(value);
      const check = match ? checkDuration(match[2]!) : undefined;
      const limit = match ? Number(match[1]) : 0;
      if (!match || !check?.ok || limit < 1 || check.ms < 1000) {
        ctx.addIssue({ code: 'custom', message: `Write the limit as <count>/<duration> (e.g. 60/1m, 1000/1h; a duration of at least 1s), or off; got "${text}"` });
        return z.NEVER;
      }
      return { limit, windowSeconds: Math.round(check.ms / 1000) };
    });

/**
 * Chainflow's configuration, parsed once from the environment with zod. Nothing else
 * reads `process.env`. Every variable is listed with its default in the README.
 */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATA_DIR: z.string().default('./data'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PUBLIC_URL: z.url().optional(),

  DATABASE_URL: z.string().optional(),
  EMBEDDED_POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(54329),

  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('chainflow'),
  TEMPORAL_TASK_QUEUE: z.string().default('chainflow'),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_TLS: z.stringbool().default(false),
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  TEMPORAL_TLS_CA: z.string().optional(),
  TEMPORAL_UI_URL: z.string().optional(),
  TRUST_PROXY: z.string().default('loopback'),
  TEMPORAL_DEV_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  CHAINFLOW_SECRET_KEY: z.string().optional(),
  HTTP_ALLOW_PRIVATE: z.string().default(''),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional(),
  WORKER_MEMORY_MB: z.coerce.number().int().min(128, 'Give a worker at least 128 MB (it needs ~330 MB empty; the sticky cache is sized from what is left)').optional(),
  WORKER_STICKY_TIMEOUT: optionalDurationMs,
  WORKFLOW_BUNDLE: z.string().optional(),
  TEMPORAL_CLI: z.string().optional(),
  TEMPORAL_TEST_SERVER: z.string().optional(),

  JWT_SECRET: z.string().min(32, 'Use at least 32 random characters (make one with: openssl rand -base64 48)').optional(),
  REGISTRATION: z.enum(['open', 'invite', 'closed']).default('invite'),
  ACCESS_TOKEN_TTL: durationSeconds('15m'),
  REFRESH_TOKEN_TTL: durationSeconds('30d'),
  AUTH_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(20),
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  LOGIN_LOCKOUT: durationSeconds('15m'),
  CHAT_RATE_LIMIT: rate('60/1m'),
  CHAT_CHAIN_RATE_LIMIT: rate('1200/1m'),
  HOOK_RATE_LIMIT: rate('120/1m'),
  HOOK_CHAIN_RATE_LIMIT: rate('1200/1m'),

  CHAINFLOW_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url('Use the API’s address, e.g. http://127.0.0.1:3000').optional()),
  CHAINFLOW_TOKEN: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().startsWith('cfp_', 'Use a personal access token (cfp_…; create one with POST /api/v1/auth/tokens or in the web app)').optional(),
  ),
  RETENTION_AUDIT_DAYS: retentionDays(365),
  RETENTION_RUN_EVENT_DAYS: retentionDays(90),
  RETENTION_REFRESH_TOKEN_DAYS: retentionDays(30),
  RETENTION_VARIABLE_DAYS: retentionDays(365),
  RETENTION_INVITE_DAYS: retentionDays(30),
  RETENTION_DRAFT_VERSION_DAYS: retentionDays(7),
  TELEGRAM_API_ROOT: z
    .url({ protocol: /^https?$/, error: 'Use the http(s) URL of a Bot API server, like https://api.telegram.org (no /bot<token> part)' })
    .default('https://api.telegram.org')
    .transform((url) => url.replace(/\/+$/, '')),

  // Knowledge bases (docs/ai.md#knowledge-bases)
  KNOWLEDGE_MAX_DOCUMENT_BYTES: z.coerce.number().int().min(1024, 'Use at least 1024 (bytes)').max(1024 * 1024 * 1024).default(20 * 1024 * 1024),
  KNOWLEDGE_MAX_BASE_BYTES: z.coerce.number().int().min(1024, 'Use at least 1024 (bytes)').default(200 * 1024 * 1024),
  KNOWLEDGE_EMBEDDING_BATCH: z.coerce.number().int().min(1).max(2048, 'Use at most 2048 (OpenAI takes at most 2048 inputs per request)').default(64),

  // Plugins (docs/plugins.md)
  PLUGINS_DIR: z.string().default(''),
  PLUGIN_CALL_TIMEOUT_MS: z.coerce.number().int().min(100, 'Use at least 100 (ms)').max(300_000).default(10_000),
  PLUGIN_MEMORY_MB: z.coerce.number().int().min(16, 'Use at least 16 (MB)').max(4096).default(64),

  METRICS_PORT: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(1).max(65535).optional()),
  METRICS_TOKEN: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'Use at least 16 random characters (make one with: openssl rand -hex 24)').optional()),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  dataDir: string;
  host: string;
  port: number;
  logLevel: Env['LOG_LEVEL'];
  publicUrl: string;
  /** Express `trust proxy`: which proxies' X-Forwarded-For to believe (client addresses for rate limits and audit). */
  trustProxy: string;
  /** Set when an external PostgreSQL is used; otherwise the embedded server runs. */
  databaseUrl: string | undefined;
  embeddedPostgresPort: number;
  /** Key list for secrets at rest ("id:base64key,old:base64key"); see lib/secret-box.ts. */
  secretKey: string | undefined;
  /** Hosts/CIDRs the HTTP node may reach although they are private (SSRF allow-list). */
  httpAllowPrivate: string[];
  /** Sticky cache size of the worker (sessions kept in memory); sized from workerMemoryMb when unset. */
  workerMaxCachedWorkflows: number | undefined;
  /**
   * Resident memory (MB) one worker process should stay under: the sticky cache is sized
   * from what is left after start-up (temporal/worker.ts workflowCacheSize). Default
   * 512, or a quarter of the machine's memory when that is less.
   */
  workerMemoryMb: number;
  /**
   * How long a session's next workflow task waits on the worker that has it cached
   * before any worker may take it (the SDK's `stickyQueueScheduleToStartTimeout`, ms);
   * bounds the pause after a worker dies. SDK default (10 s) when unset.
   */
  workerStickyTimeoutMs: number | undefined;
  /** Path of a pre-built workflow bundle (`chainflow bundle`); the worker uses it when the file exists. */
  workflowBundle: string | undefined;
  temporal: {
    /** Set when an external Temporal is used; otherwise the dev server runs. */
    address: string | undefined;
    namespace: string;
    taskQueue: string;
    apiKey: string | undefined;
    tls: boolean;
    tlsCert: string | undefined;
    tlsKey: string | undefined;
    tlsCa: string | undefined;
    uiUrl: string | undefined;
    devPort: number;
    uiPort: number;
  };
  /** Bot API server new bots talk to unless told otherwise (TELEGRAM_API_ROOT), without a trailing '/'. */
  telegramApiRoot: string;
  /** Limits of the public routes, counted in PostgreSQL (shared by all API replicas); null is off. */
  rateLimits: {
    /** Web chat, per client address and per chain. */
    chatClient: { limit: number; windowSeconds: number } | null;
    chatChain: { limit: number; windowSeconds: number } | null;
    /** Webhook triggers, per client address and per chain. */
    hookClient: { limit: number; windowSeconds: number } | null;
    hookChain: { limit: number; windowSeconds: number } | null;
  };
  plugins: {
    /** Extra plugin folder besides the repository's plugins/ (PLUGINS_DIR). */
    dir: string | undefined;
    callTimeoutMs: number;
    memoryMb: number;
  };
  knowledge: {
    /** KNOWLEDGE_MAX_DOCUMENT_BYTES: one document's size limit (uploads and URLs; 413 beyond). */
    maxDocumentBytes: number;
    /** KNOWLEDGE_MAX_BASE_BYTES: the documents of one base together (413 beyond). */
    maxBaseBytes: number;
    /** KNOWLEDGE_EMBEDDING_BATCH: inputs per `/embeddings` request (and per embed activity). */
    embeddingBatch: number;
  };
  metrics: {
    /** Port of the worker's Prometheus exporter (Temporal SDK metrics) on HOST; off when unset. */
    workerPort: number | undefined;
    /** When set, GET /metrics of the API needs `Authorization: Bearer <token>`. */
    token: string | undefined;
  };
  /** `chainflow mcp`: the running API it bridges to and the personal access token it acts with. */
  mcp: {
    /** CHAINFLOW_URL; PUBLIC_URL (or HOST:PORT) when unset. */
    url: string;
    token: string | undefined;
  };
  /** Days each kind of row is kept (0: forever); the daily retention cleanup applies them. */
  retention: RetentionSettings;
  auth: {
    /** HS256 key of access tokens; when unset (not in production) it is generated into DATA_DIR/jwt-secret. */
    jwtSecret: string | undefined;
    registration: Env['REGISTRATION'];
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    /** Requests per minute and client address on the sign-in routes. */
    rateLimitPerMinute: number;
    maxFailedLogins: number;
    lockoutSeconds: number;
  };
}

/** A configuration error that names the variable and the fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment (defaults to `process.env`) into a {@link Config}. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}\nSee the README's table of variables.`);
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET) {
    throw new ConfigError('Invalid environment:\n  JWT_SECRET: required when NODE_ENV=production (at least 32 random characters; make one with: openssl rand -base64 48)\nSee the README\'s table of variables.');
  }
  const dataDir = resolve(e.DATA_DIR);
  return {
    env: e.NODE_ENV,
    dataDir,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    publicUrl: e.PUBLIC_URL ?? `http://${e.HOST === '0.0.0.0' ? '127.0.0.1' : e.HOST}:${e.PORT}`,
    databaseUrl: e.DATABASE_URL || undefined,
    embeddedPostgresPort: e.EMBEDDED_POSTGRES_PORT,
    secretKey: e.CHAINFLOW_SECRET_KEY || undefined,
    httpAllowPrivate: e.HTTP_ALLOW_PRIVATE.split(',').map((x) => x.trim()).filter(Boolean),
    workerMaxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
    workerMemoryMb: e.WORKER_MEMORY_MB ?? Math.min(512, Math.floor(totalmem() / 4 / 1048576)),
    workerStickyTimeoutMs: e.WORKER_STICKY_TIMEOUT,
    workflowBundle: e.WORKFLOW_BUNDLE ? resolve(e.WORKFLOW_BUNDLE) : undefined,
    temporal: {
      address: e.TEMPORAL_ADDRESS || undefined,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY || undefined,
      tls: e.TEMPORAL_TLS,
      tlsCert: e.TEMPORAL_TLS_CERT,
      tlsKey: e.TEMPORAL_TLS_KEY,
      tlsCa: e.TEMPORAL_TLS_CA,
      uiUrl: e.TEMPORAL_UI_URL,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
    },
    telegramApiRoot: e.TELEGRAM_API_ROOT,
    rateLimits: { chatClient: e.CHAT_RATE_LIMIT, chatChain: e.CHAT_CHAIN_RATE_LIMIT, hookClient: e.HOOK_RATE_LIMIT, hookChain: e.HOOK_CHAIN_RATE_LIMIT },
    plugins: { dir: e.PLUGINS_DIR ? resolve(e.PLUGINS_DIR) : undefined, callTimeoutMs: e.PLUGIN_CALL_TIMEOUT_MS, memoryMb: e.PLUGIN_MEMORY_MB },
    metrics: { workerPort: e.METRICS_PORT, token: e.METRICS_TOKEN },
    knowledge: { maxDocumentBytes: e.KNOWLEDGE_MAX_DOCUMENT_BYTES, maxBaseBytes: e.KNOWLEDGE_MAX_BASE_BYTES, embeddingBatch: e.KNOWLEDGE_EMBEDDING_BATCH },
    mcp: { url: e.CHAINFLOW_URL ?? e.PUBLIC_URL ?? `http://${e.HOST === '0.0.0.0' ? '127.0.0.1' : e.HOST}:${e.PORT}`, token: e.CHAINFLOW_TOKEN },
    retention: {
      auditEntryDays: e.RETENTION_AUDIT_DAYS,
      runEventDays: e.RETENTION_RUN_EVENT_DAYS,
      refreshTokenDays: e.RETENTION_REFRESH_TOKEN_DAYS,
      variableDays: e.RETENTION_VARIABLE_DAYS,
      inviteDays: e.RETENTION_INVITE_DAYS,
      draftVersionDays: e.RETENTION_DRAFT_VERSION_DAYS,
    },
    auth: {
      jwtSecret: e.JWT_SECRET || undefined,
      registration: e.REGISTRATION,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL,
      refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL,
      rateLimitPerMinute: e.AUTH_RATE_LIMIT,
      maxFailedLogins: e.LOGIN_MAX_FAILURES,
      lockoutSeconds: e.LOGIN_LOCKOUT,
    },
  };
}
