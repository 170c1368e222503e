// The API under test: a real app on a real database (and, where sessions run, a real
// Temporal worker), reached through supertest with every response checked against the
// OpenAPI document.

import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { pino } from 'pino';
import request, { type Test } from 'supertest';
import { createApp, apiOperations, VERSION, type AppDeps } from '../../../api/app.ts';
import { resolveAuthOptions, type AuthOptions } from '../../../api/auth/options.ts';
import { buildOpenApiDocument, type OpenApiDocument } from '../../../api/openapi.ts';
import { createLogger, REDACT_PATHS, type Logger } from '../../../lib/logger.ts';
import { startDialogueHarness, type DialogueHarness } from '../../support/dialogue.ts';
import { issueSetupToken } from '../../../api/auth/setup.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createResponseValidator, type ResponseValidator } from './openapi-check.ts';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** supertest with each response validated against the OpenAPI document when it arrives. */
export interface CheckedAgent {
  get(url: string): Test;
  post(url: string): Test;
  put(url: string): Test;
  patch(url: string): Test;
  delete(url: string): Test;
  request(method: Method, url: string): Test;
}

export function checkedAgent(app: Express, validator: ResponseValidator): CheckedAgent {
  const agent = request(app);
  const make = (method: Method, url: string): Test => {
    const test = agent[method](url);
    const then = test.then.bind(test);
    // Every await of the request goes through here: validate, then hand the response on.
    test.then = ((onFulfilled, onRejected) =>
      then((res) => {
        validator.check(method, url, res);
        return res;
      }).then(onFulfilled, onRejected)) as Test['then'];
    return test;
  };
  return {
    get: (url) => make('get', url),
    post: (url) => make('post', url),
    put: (url) => make('put', url),
    patch: (url) => make('patch', url),
    delete: (url) => make('delete', url),
    request: make,
  };
}

let documentCache: OpenApiDocument | undefined;
/** The OpenAPI document the app serves (its content does not depend on the deps). */
export function openApiDocument(): OpenApiDocument {
  if (!documentCache) {
    const auth = resolveAuthOptions();
    const deps = { temporal: { options: { namespace: 'chainflow' } } as never, taskQueue: 'unused' };
    const operations = apiOperations(deps, auth, () => documentCache!);
    documentCache = buildOpenApiDocument(operations, { version: VERSION });
  }
  return documentCache;
}

/** Captured log lines of an app (pino JSON, with the production redaction rules). */
export interface LogCapture {
  logger: Logger;
  lines: string[];
  text(): string;
}

export function captureLogs(): LogCapture {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, stream);
  return { logger, lines, text: () => lines.join('') };
}

export interface ApiHarness {
  h: DialogueHarness;
  app: Express;
  api: CheckedAgent;
  validator: ResponseValidator;
  auth: AuthOptions;
  /** Another app on the same database and Temporal with other auth settings (and other deps). */
  appWith(auth: Partial<AuthOptions>, logger?: Logger, deps?: ExtraDeps): { app: Express; api: CheckedAgent };
  close(): Promise<void>;
}

/** App dependencies a test may set besides auth (the secret box defaults to the harness's). */
export type ExtraDeps = Partial<Pick<AppDeps, 'secretBox' | 'metricsToken' | 'temporalUiUrl' | 'trustProxy' | 'httpAllowPrivate' | 'telegram' | 'rateLimits' | 'accounts' | 'knowledge'>>;

/** Web-chat and webhook limits of test apps: out of the way unless a test sets its own. */
const TEST_RATE_LIMITS = { limit: 100_000, windowSeconds: 60 };

/**
 * Database, worker and app for one test file; `auth` overrides the defaults (rate limit
 * raised for tests). `httpAllow` lets the worker's HTTP node reach those hosts (loopback
 * test servers).
 */
export async function startApi(prefix: string, opts: { auth?: Partial<AuthOptions>; logger?: Logger; httpAllow?: string[]; deps?: ExtraDeps } = {}): Promise<ApiHarness> {
  const h = await startDialogueHarness(prefix, opts.httpAllow ? { httpAllow: opts.httpAllow } : {});
  const validator = createResponseValidator(openApiDocument());
  const build = (partial: Partial<AuthOptions>, logger?: Logger, deps: ExtraDeps = {}) => {
    // Tests register later accounts themselves: open registration unless a test says otherwise.
    const auth = resolveAuthOptions({ rateLimitPerMinute: 100_000, totpBox: h.secretBox, registration: 'open', ...partial });
    const rateLimits = { chatClient: TEST_RATE_LIMITS, chatChain: TEST_RATE_LIMITS, hookClient: TEST_RATE_LIMITS, hookChain: TEST_RATE_LIMITS, ...deps.rateLimits };
    const app = createApp({ orm: h.db.orm, temporal: h.client, logger: logger ?? createLogger('silent', 'test'), taskQueue: h.taskQueue, auth, secretBox: h.secretBox, ...deps, rateLimits });
    const api = checkedAgent(app, validator);
    databases.set(api, h.db.orm);
    return { app, api, auth };
  };
  const main = build(opts.auth ?? {}, opts.logger, opts.deps);
  return {
    h,
    app: main.app,
    api: main.api,
    validator,
    auth: main.auth,
    appWith: (auth, logger, deps) => {
      const built = build({ jwtSecret: main.auth.jwtSecret, ...auth }, logger, deps);
      return { app: built.app, api: built.api };
    },
    close: () => h.close(),
  };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A signed-in account of a test. */
export interface Account {
  id: string;
  email: string;
  password: string;
  token: string;
  refreshToken: string;
  role: 'admin' | 'editor' | 'viewer';
}

export const uniqueEmail = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;
export const PASSWORD = 'correct horse battery';

/** The database behind each agent {@link startApi} made (for the setup token). */
const databases = new WeakMap<CheckedAgent, MikroORM>();

/**
 * A valid one-time setup token for the database behind `api` (an agent of
 * {@link startApi}), as `npm start` would have made it.
 */
export async function setupTokenFor(api: CheckedAgent): Promise<string> {
  const orm = databases.get(api);
  if (!orm) throw new Error('setupTokenFor: use an agent made by startApi (or issueSetupToken on the database)');
  return issueSetupToken(orm.em);
}

/** Registers the first account (the admin) of a fresh database, through the setup token. */
export async function registerAdmin(api: CheckedAgent): Promise<Account> {
  const email = uniqueEmail('admin');
  const res = await api.post('/api/v1/auth/register').send({ email, password: PASSWORD, name: 'Admin', setupToken: await setupTokenFor(api) });
  if (res.status !== 201) throw new Error(`registering the admin failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, email, password: PASSWORD, token: res.body.accessToken, refreshToken: res.body.refreshToken, role: 'admin' };
}

/** An account created by the admin with a role, signed in. */
export async function createAccount(api: CheckedAgent, admin: Account, role: Account['role'], label: string = role): Promise<Account> {
  const email = uniqueEmail(label);
  const created = await api.post('/api/v1/users').set(bearer(admin.token)).send({ email, password: PASSWORD, name: label, role });
  if (created.status !== 201) throw new Error(`creating ${label} failed: ${created.status} ${JSON.stringify(created.body)}`);
  return { ...(await signIn(api, email, PASSWORD)), role };
}

export async function signIn(api: CheckedAgent, email: string, password: string = PASSWORD): Promise<Account> {
  const res = await api.post('/api/v1/auth/login').send({ email, password });
  if (res.status !== 200) throw new Error(`signing in ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, email, password, token: res.body.accessToken, refreshToken: res.body.refreshToken, role: res.body.user.role };
}

/**
 * Every row of every table, for before/after comparisons ("the database is unchanged").
 * Rate-limit counters are left out: they count every request, bad ones included, by design
 * (a flood of malformed requests must use up its budget too); they are no data of anyone's.
 */
export async function snapshotDatabase(h: DialogueHarness, opts: { except?: readonly string[] } = {}): Promise<Record<string, unknown[]>> {
  const conn = h.db.orm.em.getConnection();
  const tables = await conn.execute<{ table_name: string }[]>(
    `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not in ('chainflow_migrations', 'rate_limit') order by table_name`,
  );
  const snapshot: Record<string, unknown[]> = {};
  for (const { table_name } of tables) {
    if (opts.except?.includes(table_name)) continue;
    snapshot[table_name] = await conn.execute(`select * from "${table_name}" order by 1`);
  }
  return snapshot;
}

/**
 * The tables sessions write from the worker (runs, their events and variables, sends):
 * left out of a snapshot taken while an earlier test's session may still be moving, when
 * the request under test is an API call that must change nothing of its own.
 */
export const SESSION_TABLES = ['run', 'run_event', 'variable', 'telegram_send', 'reply_partial', 'http_attempt', 'agent_spend'] as const;

/** A graph that compiles: /start → a message. */
export function simpleGraph(slug: string, text = 'Hello from the draft'): Record<string, unknown> {
  return {
    slug,
    name: `Chain ${slug}`,
    nodes: [
      { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'any' } } },
      { id: 'ask', type: 'ask', position: { x: 200, y: 0 }, data: { prompt: text, variable: 'session.answer' } },
      { id: 'bye', type: 'message', position: { x: 400, y: 0 }, data: { text: 'You said {{ session.answer }}' } },
    ],
    edges: [
      { id: 'e1', source: 'start', target: 'ask' },
      { id: 'e2', source: 'ask', sourcePort: 'next', target: 'bye' },
    ],
  };
}
