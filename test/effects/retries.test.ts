// The retry contract on the real Temporal server: transient failures are retried by the
// retry policy, final ones are not, exhausted retries reach the workflow as a typed
// failure, and no secret ends up in workflow history.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredential } from '../../db/credential-store.ts';
import { createHttpActivities } from '../../activities/http.ts';
import { createTestDatabase, createTestWorker, testClient, uniqueTaskQueue, type TestDatabase } from '../support/stack.ts';
import type { CallOutcome } from './fixtures/effect-workflows.ts';
import { effectInput, httpConfig, testSecretBox } from './support/fixtures.ts';
import { captureLogger, json, startTestServer, type TestServer } from './support/servers.ts';

const SECRET = 'sk_hist_0a1b2c3d4e5f';
const workflowsPath = fileURLToPath(new URL('./fixtures/effect-workflows.ts', import.meta.url));

let db: TestDatabase;
let server: TestServer;
let client: Client;
let worker: Worker;
let connection: NativeConnection;
let running: Promise<void>;
let taskQueue: string;

/** History as text, with every payload decoded, so a secret in any payload would show. */
function historyText(history: unknown): string {
  return JSON.stringify(history, (key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if ((key === 'data' || key === 'encoding') && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    return value;
  });
}

beforeAll(async () => {
  [db, server, client] = await Promise.all([createTestDatabase(), startTestServer(), testClient()]);
  const box = testSecretBox();
  await createCredential(db.orm.em, box, { name: 'api_token', kind: 'secret', value: SECRET });
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
  const bundlePath = join(mkdtempSync(join(tmpdir(), 'effects-')), 'bundle.js');
  writeFileSync(bundlePath, bundle.code);
  taskQueue = uniqueTaskQueue('effects');
  const activities = createHttpActivities({ orm: db.orm, logger: captureLogger().logger, secretBox: box, ssrf: { allow: ['127.0.0.1/32'] } });
  ({ worker, connection } = await createTestWorker({ taskQueue, activities, workflowBundlePath: bundlePath }));
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await client?.connection.close();
  await server?.close();
  await db?.drop();
});

async function call(path: string, extra: Partial<Parameters<typeof httpConfig>[0]> = {}): Promise<{ outcome: CallOutcome; history: string }> {
  const workflowId = `effects-${randomUUID()}`;
  const input = effectInput(httpConfig({ url: `${server.origin}${path}`, ...extra }), { session: { step: 1 } });
  const outcome = await client.workflow.execute('callHttp', { taskQueue, workflowId, args: [input] });
  const history = historyText(await client.workflow.getHandle(workflowId).fetchHistory());
  return { outcome: outcome as CallOutcome, history };
}

function hits(path: string): number {
  return server.requests.filter((request) => request.url.split('?')[0] === path).length;
}

describe('effect retries on the real Temporal server', () => {
  it('retries 500s and succeeds when the server recovers', async () => {
    let n = 0;
    server.route('/recovers', (_req, res) => (++n < 3 ? json(res, 500, {}) : json(res, 200, { done: true })));
    const { outcome } = await call('/recovers', { responseMapping: [{ variable: 'session.done', path: '$.done' }] });
    expect(outcome).toEqual({ kind: 'result', result: { ok: true, set: [{ variable: 'session.done', value: true }], event: expect.any(Object) } });
    expect(hits('/recovers')).toBe(3);
  });

  it('waits as Retry-After says after a 429, then succeeds', async () => {
    // The fixture's retry policy retries after 20 ms (the server takes up to ~1 s to hand
    // a retry out): only Retry-After makes the gap two seconds.
    const arrivals: number[] = [];
    server.route('/throttled', (_req, res) => {
      arrivals.push(performance.now());
      return arrivals.length === 1 ? json(res, 429, {}, { 'retry-after': '2' }) : json(res, 200, {});
    });
    const { outcome } = await call('/throttled');
    expect(outcome).toMatchObject({ kind: 'result', result: { ok: true } });
    expect(hits('/throttled')).toBe(2);
    const [first, second] = arrivals as [number, number];
    expect(second - first).toBeGreaterThanOrEqual(1950);
  });

  it('does not retry a 404', async () => {
    server.route('/gone', (_req, res) => json(res, 404, {}));
    const { outcome } = await call('/gone');
    expect(outcome).toMatchObject({ kind: 'result', result: { ok: false, error: { code: 'http_status', status: 404 } } });
    expect(hits('/gone')).toBe(1);
  });

  it('reports exhausted retries as a typed failure, with no secret in history', async () => {
    server.route('/down', (_req, res) => json(res, 503, { echo: 'unavailable' }));
    const { outcome, history } = await call('/down', {
      query: [{ name: 'key', value: '{{ secrets.api_token }}' }],
      headers: [{ name: 'Authorization', value: 'Bearer {{ secrets.api_token }}' }],
    });
    expect(outcome).toEqual({ kind: 'failure', type: 'http_status', message: `HTTP 503 Service Unavailable from GET ${server.origin}/down`, nonRetryable: false, details: [{ status: 503 }] });
    expect(hits('/down')).toBe(4);
    expect(server.requests.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(history).toContain('secrets.api_token');
    expect(history).toContain('http_status');
    expect(history).not.toContain(SECRET);
  });
});
