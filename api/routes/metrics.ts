// Prometheus metrics of an API process (`GET /metrics`, prom-client). Each app has its
// own registry. What the numbers mean:
//
// - chainflow_http_requests_total{method,route,status} and
//   chainflow_http_request_duration_seconds{method,route,status}: every HTTP request,
//   by route template (`/api/v1/runs/:id`, not the URL; `other` for unmatched paths).
// - chainflow_api_runs_started_total{channel}: runs this process started (POST /runs).
// - chainflow_sessions{status}: sessions in the `run` table by status (running, waiting,
//   completed, failed, stopped, terminated), counted at each scrape — the same for every
//   replica, so aggregate with max(), not sum().
// - chainflow_sessions_started_total, chainflow_sessions_finished_total,
//   chainflow_sessions_failed_total, chainflow_nodes_executed_total: run events
//   (`session.start`, `session.end`, `session.failed`, `node.enter`) written since this
//   process's first scrape, read from `run_event` by id at each scrape (no LISTEN needed;
//   at most 100 000 new events per scrape, the rest next time). Every replica counts the
//   same events: aggregate with max().
// - chainflow_agent_tokens_total{chain,model,kind}: tokens of agent model calls
//   (`agent.llm.ok` run events, kind prompt|completion) per chain and model, counted
//   like the event counters above.
// - chainflow_metrics_database_up: 1 when the scrape could read those counts.
// Process metrics (CPU, memory, event loop, GC) come from prom-client's defaults.
// Temporal SDK metrics (workflow tasks, activities, sticky cache…) are the worker's:
// METRICS_PORT exposes them on the worker process (temporal/runtime.ts).

import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type Request, type RequestHandler } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HttpError } from '../errors.ts';
import { runStatuses } from '../schemas/runs.ts';

/** Run-event types counted, and the counter each feeds. */
const EVENT_COUNTERS = {
  'session.start': 'chainflow_sessions_started_total',
  'session.end': 'chainflow_sessions_finished_total',
  'session.failed': 'chainflow_sessions_failed_total',
  'node.enter': 'chainflow_nodes_executed_total',
} as const;
type CountedEvent = keyof typeof EVENT_COUNTERS;

/** New run events read per scrape at most. */
const EVENT_BATCH = 100_000;

export interface AppMetrics {
  registry: Registry;
  /** Counts and times every request (install before the routes). */
  httpMiddleware: RequestHandler;
  /** One run started by this API. */
  runStarted(channel: string): void;
  /** `GET /metrics`; with a token, only `Authorization: Bearer <token>` may read it. */
  router(token: string | undefined): Router;
}

/** The route template of a request (its path pattern), so labels stay few. */
function routeLabel(req: Request, apiPrefix: string): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (!route || typeof route.path !== 'string') return 'other';
  const path = route.path;
  return req.originalUrl.startsWith(`${apiPrefix}/`) && !path.startsWith(apiPrefix) ? `${apiPrefix}${path}` : path;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Creates the metrics of one app, reading session counts from its database. */
export function createMetrics(orm: MikroORM, apiPrefix: string): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({ name: 'chainflow_http_requests_total', help: 'HTTP requests by method, route template and status', labelNames: ['method', 'route', 'status'] as const, registers: [registry] });
  const duration = new Histogram({
    name: 'chainflow_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const apiRuns = new Counter({ name: 'chainflow_api_runs_started_total', help: 'Runs this API process started (POST /api/v1/runs), by channel', labelNames: ['channel'] as const, registers: [registry] });
  const sessions = new Gauge({ name: 'chainflow_sessions', help: 'Sessions in the run table by status, counted at scrape time', labelNames: ['status'] as const, registers: [registry] });
  const eventCounters = new Map<CountedEvent, Counter>();
  const helps: Record<CountedEvent, string> = {
    'session.start': 'Sessions started (session.start run events) since this process first scraped',
    'session.end': 'Sessions ended (session.end run events: completed, stopped, timed out…) since this process first scraped',
    'session.failed': 'Sessions failed (session.failed run events) since this process first scraped',
    'node.enter': 'Nodes executed (node.enter run events) since this process first scraped',
  };
  for (const [type, name] of Object.entries(EVENT_COUNTERS) as Array<[CountedEvent, string]>) {
    const counter = new Counter({ name, help: helps[type], registers: [registry] });
    counter.inc(0);
    eventCounters.set(type, counter);
  }
  for (const status of runStatuses) sessions.set({ status }, 0);
  const databaseUp = new Gauge({ name: 'chainflow_metrics_database_up', help: '1 when the last scrape could read the session counts from PostgreSQL, else 0 (the chainflow_sessions* numbers are then stale)', registers: [registry] });

  const agentTokens = new Counter({ name: 'chainflow_agent_tokens_total', help: 'Tokens of agent model calls (agent.llm.ok run events) by chain, model and kind (prompt, completion) since this process first scraped', labelNames: ['chain', 'model', 'kind'] as const, registers: [registry] });

  let lastEventId: string | null = null;
  const refreshFromDatabase = async () => {
    const conn = orm.em.getConnection();
    const counts = await conn.execute<{ status: string; n: string }[]>(`select status, count(*) as n from run group by status`);
    for (const status of runStatuses) sessions.set({ status }, 0);
    for (const row of counts) sessions.set({ status: row.status }, Number(row.n));
    if (lastEventId === null) {
      const [row] = await conn.execute<{ id: string }[]>(`select coalesce(max(id), 0)::text as id from run_event`);
      lastEventId = row?.id ?? '0';
      return;
    }
    const rows = await conn.execute<{ type: string; n: string; last: string }[]>(
      `select type, count(*) as n, max(id)::text as last from (select id, type from run_event where id > ? order by id limit ${EVENT_BATCH}) e group by type`,
      [lastEventId],
    );
    const tokens = await conn.execute<{ chain: string; model: string; prompt: string; completion: string }[]>(
      `select r.chain_id::text as chain, coalesce(e.payload->>'model', '') as model, sum(coalesce((e.payload->'usage'->>'promptTokens')::bigint, 0))::text as prompt, sum(coalesce((e.payload->'usage'->>'completionTokens')::bigint, 0))::text as completion
         from (select id, run_id, payload from run_event where id > ? and type = 'agent.llm.ok' order by id limit ${EVENT_BATCH}) e join run r on r.id = e.run_id group by 1, 2`,
      [lastEventId],
    );
    for (const row of tokens) {
      agentTokens.inc({ chain: row.chain, model: row.model, kind: 'prompt' }, Number(row.prompt));
      agentTokens.inc({ chain: row.chain, model: row.model, kind: 'completion' }, Number(row.completion));
    }
    let last = BigInt(lastEventId);
    for (const row of rows) {
      eventCounters.get(row.type as CountedEvent)?.inc(Number(row.n));
      if (BigInt(row.last) > last) last = BigInt(row.last);
    }
    lastEventId = last.toString();
  };
  // Concurrent scrapes share one round of queries.
  let refreshing: Promise<void> | undefined;
  const refresh = () =>
    (refreshing ??= refreshFromDatabase()
      .then(
        () => databaseUp.set(1),
        () => databaseUp.set(0),
      )
      .finally(() => (refreshing = undefined)));

  return {
    registry,
    httpMiddleware: (req, res, next) => {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        const labels = { method: req.method, route: routeLabel(req, apiPrefix), status: String(res.statusCode) };
        requests.inc(labels);
        duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      });
      next();
    },
    runStarted: (channel) => apiRuns.inc({ channel }),
    router: (token) => {
      const router = Router();
      router.get('/metrics', async (req, res) => {
        if (token !== undefined) {
          const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
          if (!match?.[1] || !timingSafeEqual(digest(match[1]), digest(token))) {
            throw new HttpError(401, 'unauthenticated', 'The metrics need Authorization: Bearer <METRICS_TOKEN> (the token this installation configured).');
          }
        }
        await refresh();
        res.type(registry.contentType).send(await registry.metrics());
      });
      return router;
    },
  };
}
