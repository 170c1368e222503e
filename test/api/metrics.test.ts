// Prometheus metrics: the API's /metrics (requests, sessions by status, run events as
// counters), its optional bearer token, and the worker's Temporal SDK exporter on
// METRICS_PORT (a real `chainflow worker` process).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, testStack, uniqueTaskQueue } from '../support/stack.ts';
import { bearer, registerAdmin, startApi, type Account, type ApiHarness } from './support/api.ts';
import { apiGraph } from './support/fixtures.ts';

let t: ApiHarness;
let admin: Account;

beforeAll(async () => {
  t = await startApi('metrics');
  admin = await registerAdmin(t.api);
});
afterAll(async () => t?.close());

/** The value of one sample (`name{labels} value`) in a Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[4]);
  }
  return undefined;
}

const scrape = async () => {
  const res = await t.api.get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return res.text;
};

describe('GET /metrics', () => {
  it('counts HTTP requests by route template and status', async () => {
    await t.api.get('/api/v1/auth/status');
    await t.api.get('/api/v1/chains/no-such-chain').set(bearer(admin.token));
    const text = await scrape();
    expect(sample(text, 'chainflow_http_requests_total', { method: 'GET', route: '/api/v1/auth/status', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'chainflow_http_requests_total', { method: 'GET', route: '/api/v1/chains/:id', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'chainflow_http_request_duration_seconds_count', { route: '/api/v1/auth/status' })).toBeGreaterThanOrEqual(1);
    expect(text).toContain('# HELP chainflow_sessions Sessions in the run table by status');
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('counts sessions by status, runs the API started, and sessions and nodes from run events', async () => {
    const baseline = await scrape();
    const nodesBefore = sample(baseline, 'chainflow_nodes_executed_total') ?? 0;
    const chain = await t.api.post('/api/v1/chains').set(bearer(admin.token)).send({ graph: apiGraph('metrics-chain') });
    await t.api.post(`/api/v1/chains/${chain.body.id}/publish`).set(bearer(admin.token)).send({});
    const started = await t.api.post('/api/v1/runs').set(bearer(admin.token)).send({ chain: chain.body.id });
    expect(started.status).toBe(201);
    const text = await eventually(async () => {
      const current = await scrape();
      return (sample(current, 'chainflow_sessions', { status: 'waiting' }) ?? 0) >= 1 && (sample(current, 'chainflow_nodes_executed_total') ?? 0) >= nodesBefore + 2 ? current : undefined;
    }, 'the session to show in the metrics');
    expect(sample(text, 'chainflow_api_runs_started_total', { channel: 'api' })).toBe(1);
    expect(sample(text, 'chainflow_sessions_started_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'chainflow_metrics_database_up')).toBe(1);

    await t.api.post(`/api/v1/runs/${encodeURIComponent(started.body.id)}/messages`).set(bearer(admin.token)).send({ text: 'tests' });
    await eventually(async () => {
      const current = await scrape();
      return (sample(current, 'chainflow_sessions_finished_total') ?? 0) >= 1 && (sample(current, 'chainflow_sessions', { status: 'completed' }) ?? 0) >= 1 ? true : undefined;
    }, 'the finished session to show in the metrics');
  });

  it('needs the bearer token when METRICS_TOKEN is set', async () => {
    const guarded = t.appWith({}, undefined, { metricsToken: 'metrics-token-0123456789' }).api;
    expect((await guarded.get('/metrics')).status).toBe(401);
    expect((await guarded.get('/metrics').set(bearer('metrics-token-wrong-wrong'))).status).toBe(401);
    const ok = await guarded.get('/metrics').set(bearer('metrics-token-0123456789'));
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('chainflow_http_requests_total');
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the worker's Temporal SDK metrics", () => {
  it('are served on METRICS_PORT in Prometheus format', async () => {
    const stack = testStack();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'chainflow-metrics-'));
    const bin = fileURLToPath(new URL('../../bin/chainflow.js', import.meta.url));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATA_DIR: join(dir, 'data'),
      DATABASE_URL: t.h.db.url,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_NAMESPACE: stack.temporalNamespace,
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('metrics-worker'),
      WORKFLOW_BUNDLE: stack.workflowBundlePath,
      CHAINFLOW_SECRET_KEY: `test:${randomBytes(32).toString('base64')}`,
      METRICS_PORT: String(port),
    };
    const worker = spawn(process.execPath, [bin, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    worker.stdout.on('data', (d: Buffer) => (output += d.toString()));
    worker.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    try {
      const text = await eventually(
        async () => {
          if (worker.exitCode !== null) throw new Error(`the worker exited: ${output.slice(-2000)}`);
          const res = await fetch(`http://127.0.0.1:${port}/metrics`);
          const body = await res.text();
          return res.ok && /^temporal_\w+/m.test(body) ? body : undefined;
        },
        'the worker metrics',
        90_000,
      );
      expect(text).toMatch(/^# (HELP|TYPE) temporal_/m);
    } finally {
      const signal = (name: NodeJS.Signals) => {
        try {
          if (worker.pid !== undefined) process.kill(-worker.pid, name);
        } catch {
          /* already gone */
        }
      };
      signal('SIGTERM');
      const kill = setTimeout(() => signal('SIGKILL'), 20_000);
      await exited;
      clearTimeout(kill);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
