// Issue 11 "Robustness", rows 2, 4, 7 and 8, on the real stack: PostgreSQL for
// credentials, the Temporal dev server for retries and cancellation, and loopback servers
// speaking HTTP and the OpenAI wire protocol. Each describe names its row.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, type NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCodeActivities } from '../../activities/code.ts';
import { createCodeSandbox } from '../../activities/code-sandbox.ts';
import { idempotencyKey, type EffectInput, type EffectResult } from '../../activities/effects.ts';
import { createHttpActivities } from '../../activities/http.ts';
import { createLlmActivities } from '../../activities/llm.ts';
import type { Resolver } from '../../activities/ssrf.ts';
import { compileChain } from '../../chain/index.ts';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { createCredential } from '../../db/credential-store.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { createTestDatabase, createTestWorker, eventually, testClient, uniqueTaskQueue, type TestDatabase } from '../support/stack.ts';
import type { RobustOutcome } from './fixtures/robustness-workflows.ts';
import { codeConfig, effectInput, httpConfig, llmConfig, testSecretBox } from './support/fixtures.ts';
import { captureLogger, json, startOpenAiServer, startTestServer, type OpenAiServer, type TestServer } from './support/servers.ts';

const SECRET = 'sk_Robust_0a1b2c3d4e';
const API_KEY = 'sk-robust-llm-9f8e7d6c';
const PROVIDER_REPLY = 'internal-service-banner: admin console v3, db=10.0.0.5, build 7731';
const workflowsPath = fileURLToPath(new URL('./fixtures/robustness-workflows.ts', import.meta.url));

let db: TestDatabase;
let box: SecretBox;
let origin: TestServer;
let other: TestServer;
let provider: OpenAiServer;
let client: Client;
let worker: Worker;
let connection: NativeConnection;
let running: Promise<void>;
let taskQueue: string;
const logs = captureLogger();
const sandbox = createCodeSandbox({ poolSize: 2, queueDeadlineMs: 2000 });
const { runCode } = createCodeActivities({ logger: logs.logger, sandbox });
let httpRequest: ReturnType<typeof createHttpActivities>['httpRequest'];

/** `relay.test` is allow-listed by name and answers with loopback, like an allowed internal proxy; `rebind.test` is not. */
const resolver: Resolver = async (hostname) => {
  if (hostname.toLowerCase() === 'relay.test' || hostname.toLowerCase() === 'rebind.test') return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
};

beforeAll(async () => {
  [db, origin, other, provider, client] = await Promise.all([createTestDatabase(), startTestServer(), startTestServer(), startOpenAiServer(), testClient()]);
  box = testSecretBox();
  await createCredential(db.orm.em, box, { name: 'api_token', kind: 'secret', value: SECRET });
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
  const bundlePath = join(mkdtempSync(join(tmpdir(), 'robust-')), 'bundle.js');
  writeFileSync(bundlePath, bundle.code);
  taskQueue = uniqueTaskQueue('robust');
  ({ httpRequest } = createHttpActivities({ orm: db.orm, logger: logs.logger, secretBox: box, ssrf: { allow: ['127.0.0.1/32'] } }));
  ({ worker, connection } = await createTestWorker({ taskQueue, activities: { httpRequest, runCode }, workflowBundlePath: bundlePath }));
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await client?.connection.close();
  await sandbox.close();
  await Promise.all([origin?.close(), other?.close(), provider?.close()]);
  await db?.drop();
});

const hits = (server: TestServer, path: string) => server.requests.filter((request) => request.url.split('?')[0] === path);

async function viaTemporal(input: EffectInput<ReturnType<typeof httpConfig>>): Promise<RobustOutcome> {
  return (await viaTemporalRun(input)).outcome;
}

/** As {@link viaTemporal}, with the Temporal run id the activity's Idempotency-Key includes. */
async function viaTemporalRun(input: EffectInput<ReturnType<typeof httpConfig>>, workflow = 'robustHttp'): Promise<{ outcome: RobustOutcome; run: string }> {
  const handle = await client.workflow.start(workflow, { taskQueue, workflowId: `robust-${randomUUID()}`, args: [input] });
  return { outcome: (await handle.result()) as RobustOutcome, run: handle.firstExecutionRunId };
}

describe('robustness row 2: the LLM client goes through the SSRF guard', () => {
  it('refuses a credential baseUrl on loopback at call time, and nothing of the target comes back', async () => {
    provider.script({ kind: 'error', status: 400, message: PROVIDER_REPLY });
    const before = provider.requests.length;
    const credential = await createCredential(db.orm.em, box, { name: `loop_llm_${randomUUID().slice(0, 6)}`, kind: 'openai', value: API_KEY, meta: { baseUrl: provider.baseUrl } });
    const { llmComplete } = createLlmActivities({ orm: db.orm, logger: logs.logger, secretBox: box, llm: { timeoutMs: 5000 } });
    const result = await llmComplete({ ...effectInput(llmConfig({ credentialId: credential.id, model: 'gpt-test', prompt: 'hi', variable: 'session.reply' })), memory: [] });
    expect(result).toMatchObject({ ok: false, error: { code: 'llm_ssrf_blocked', message: expect.stringMatching(/127\.0\.0\.1.*loopback/) } });
    expect(JSON.stringify(result)).not.toContain('internal-service-banner');
    expect(provider.requests.length).toBe(before);
  });

  it('judges a host name by the address it resolves to, where the connection is made', async () => {
    const before = provider.requests.length;
    const port = new URL(provider.baseUrl).port;
    const credential = await createCredential(db.orm.em, box, { name: `rebind_llm_${randomUUID().slice(0, 6)}`, kind: 'openai', value: API_KEY, meta: { baseUrl: `http://rebind.test:${port}/v1` } });
    const { llmComplete } = createLlmActivities({ orm: db.orm, logger: logs.logger, secretBox: box, ssrf: { allow: ['relay.test'], resolver }, llm: { timeoutMs: 5000 } });
    const result = await llmComplete({ ...effectInput(llmConfig({ credentialId: credential.id, model: 'gpt-test', prompt: 'hi', variable: 'session.reply' })), memory: [] });
    expect(result).toMatchObject({ ok: false, error: { code: 'llm_ssrf_blocked', message: expect.stringMatching(/rebind\.test \(127\.0\.0\.1\).*loopback/) } });
    expect(provider.requests.length).toBe(before);
  });

  it('re-checks every redirect: an allowed host redirecting to loopback is blocked', async () => {
    provider.script({ kind: 'reply', content: PROVIDER_REPLY });
    origin.route('/v1/chat/completions', (_req, res) => res.writeHead(307, { location: `${provider.baseUrl}/chat/completions` }).end());
    const before = provider.requests.length;
    const credential = await createCredential(db.orm.em, box, { name: `relay_llm_${randomUUID().slice(0, 6)}`, kind: 'openai', value: API_KEY, meta: { baseUrl: `http://relay.test:${origin.port}/v1` } });
    const { llmComplete } = createLlmActivities({ orm: db.orm, logger: logs.logger, secretBox: box, ssrf: { allow: ['relay.test'], resolver }, llm: { timeoutMs: 5000 } });
    const result = await llmComplete({ ...effectInput(llmConfig({ credentialId: credential.id, model: 'gpt-test', prompt: 'hi', variable: 'session.reply' })), memory: [] });
    expect(hits(origin, '/v1/chat/completions')).toHaveLength(1);
    expect(result).toMatchObject({ ok: false, error: { code: 'llm_ssrf_blocked' } });
    expect(JSON.stringify(result)).not.toContain('internal-service-banner');
    expect(provider.requests.length).toBe(before);
  });
});

describe('robustness row 4: transformed secrets', () => {
  it('refuses filters on secrets at compile time, naming the node, the field and the fix', () => {
    const graph = createChain({
      nodes: [
        createNode('start', 'start', { trigger: { kind: 'api' } }),
        createNode('fetch', 'http', { url: 'https://api.example.com/items?key={{ secrets.api_token | upper }}' }),
        createNode('post', 'http', { method: 'POST', url: 'https://api.example.com/items', body: { kind: 'raw', text: '{{ session.x | default: secrets.api_token }}' } }),
      ],
      edges: [createEdge('start', 'fetch'), createEdge('fetch', 'post', 'ok')],
    });
    const result = compileChain(graph, { knownVariables: ['session.x'] });
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors.filter((error) => error.code === 'secret_transformed');
    expect(errors).toEqual([
      expect.objectContaining({ nodeId: 'fetch', field: 'url', message: expect.stringContaining("applies 'upper' to a secret"), fix: expect.stringContaining('{{ secrets.api_token }}') }),
      expect.objectContaining({ nodeId: 'post', field: 'body.text', message: expect.stringContaining("passes 'secrets.api_token' to a filter") }),
    ]);
  });

  it('redacts upper-cased and base64 forms of a secret from session.error (the second line)', async () => {
    origin.route('/echo', (req, res) => {
      const key = new URL(req.url, 'http://x').searchParams.get('key') ?? '';
      json(res, 400, { echoed: key, b64: Buffer.from(SECRET).toString('base64') });
    });
    // An IR the compiler would refuse: the activity must still not leak.
    const result = await httpRequest(effectInput(httpConfig({ url: `${origin.origin}/echo`, query: [{ name: 'key', value: '{{ secrets.api_token | upper }}' }], responseVariable: 'session.response' })));
    expect(hits(origin, '/echo').at(-1)?.url).toContain(SECRET.toUpperCase());
    expect(result).toMatchObject({ ok: false, error: { code: 'http_status', status: 400 } });
    const text = JSON.stringify(result);
    expect(text).toContain('[redacted]');
    expect(text.toLowerCase()).not.toContain(SECRET.toLowerCase());
    expect(text).not.toContain(Buffer.from(SECRET).toString('base64').replace(/=+$/, ''));
  });

  it('does not re-send a secret-bearing body or query to another origin on a redirect', async () => {
    other.route('/collect', (_req, res) => json(res, 200, { got: true }));
    origin.route('/pay', (_req, res) => res.writeHead(307, { location: `${other.origin}/collect` }).end());
    origin.route('/lookup', (_req, res) => res.writeHead(302, { location: `${other.origin}/collect` }).end());
    const body = await httpRequest(effectInput(httpConfig({ method: 'POST', url: `${origin.origin}/pay`, body: { kind: 'json', json: '{"token": "{{ secrets.api_token }}"}' } })));
    expect(body).toMatchObject({ ok: false, error: { code: 'http_redirect_secret', status: 307, message: expect.stringMatching(/its body contains a secret/) } });
    const query = await httpRequest(effectInput(httpConfig({ url: `${origin.origin}/lookup`, query: [{ name: 'key', value: '{{ secrets.api_token }}' }] })));
    expect(query).toMatchObject({ ok: false, error: { code: 'http_redirect_secret', message: expect.stringMatching(/its URL or query contains a secret/) } });
    expect(hits(other, '/collect')).toHaveLength(0);
    expect(JSON.stringify([body, query])).not.toContain(SECRET);
    // Without secrets the same redirect is followed.
    const plain = await httpRequest(effectInput(httpConfig({ method: 'POST', url: `${origin.origin}/pay`, body: { kind: 'json', json: '{"n": 1}' } })));
    expect(plain).toMatchObject({ ok: true });
    expect(hits(other, '/collect')).toHaveLength(1);
  });
});

describe('robustness row 7: one chain flooding the code pool', () => {
  const spin = (chainId: string, timeoutMs = 1000) => runCode({ ...effectInput(codeConfig({ source: 'function main() { while (true) {} }', timeoutMs })), chainId });

  it("keeps other chains' code nodes answering while one chain runs while(true) over and over", async () => {
    // Both threads started, so the calm chain's timings measure waiting, not QuickJS loading.
    await Promise.all([runCode(effectInput(codeConfig({ source: 'function main() {}' }))), runCode(effectInput(codeConfig({ source: 'function main() {}' })))]);
    const flood = Array.from({ length: 6 }, () => spin('chain-flood').then((result) => ({ result }), (error: unknown) => ({ error })));
    await eventually(() => (sandbox.stats('chain-flood').running > 0 ? true : undefined), 'the flood to start');
    const latencies: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const result = await runCode({ ...effectInput(codeConfig({ source: `function main() { return { "session.n": ${i} } }` })), chainId: 'chain-calm' });
      latencies.push(performance.now() - started);
      expect(result).toMatchObject({ ok: true, set: [{ variable: 'session.n', value: i }] });
    }
    // Behind six one-second spins on two threads, the first would wait 3 s.
    expect(Math.max(...latencies)).toBeLessThan(1500);
    const outcomes = await Promise.all(flood);
    // The flood ran one at a time; what waited past the queue deadline was answered code_busy (retryable).
    const busy = outcomes.filter((o) => 'error' in o && o.error instanceof ApplicationFailure && o.error.type === 'code_busy' && o.error.nonRetryable === false);
    const timedOut = outcomes.filter((o) => 'result' in o && (o.result as EffectResult).ok === false && JSON.stringify(o.result).includes('code_timeout'));
    expect(busy.length).toBeGreaterThanOrEqual(3);
    expect(timedOut.length + busy.length).toBe(6);
  });

  it('drops a queued job when its activity is cancelled, and heartbeats carry the cancellation', async () => {
    const blocker = { ...effectInput(codeConfig({ source: 'function main() { while (true) {} }', timeoutMs: 8000 })), chainId: 'chain-cancel' };
    const queued = { ...effectInput(codeConfig({ source: 'function main() { while (true) {} }', timeoutMs: 8000 })), chainId: 'chain-cancel' };
    const started = performance.now();
    const handle = await client.workflow.start('cancelQueuedCode', { taskQueue, workflowId: `robust-code-${randomUUID()}`, args: [blocker, queued] });
    await eventually(() => (sandbox.stats('chain-cancel').queued === 1 ? true : undefined), 'the second job to queue behind the first');
    // The pool as it is the moment the queued job goes: the workflow is still open then (it
    // completes after the cancellation reached it), so the blocker still runs. Read later, the
    // blocker may be gone too: its heartbeat cancels it once the workflow has completed.
    const dropped = await eventually(() => {
      const stats = sandbox.stats('chain-cancel');
      return stats.queued === 0 ? stats : undefined;
    }, 'the queued job to be dropped', { intervalMs: 10 });
    // Dropped while the blocker still runs (it has 8 s): not started after it.
    expect(performance.now() - started).toBeLessThan(7000);
    expect(dropped).toEqual({ running: 1, queued: 0 });
    expect(await handle.result()).toBe('cancelled');
  });
});

describe('robustness row 8: idempotency keys and unsafe retries', () => {
  it('sends the same Idempotency-Key on every retry of a call, derived from workflow, run, node and event sequence', async () => {
    let n = 0;
    origin.route('/orders', (_req, res) => (++n < 3 ? json(res, 503, {}) : json(res, 201, { id: 1 })));
    const input = { ...effectInput(httpConfig({ method: 'POST', url: `${origin.origin}/orders`, body: { kind: 'json', json: '{"item": 1}' } })), seq: 17 };
    const { outcome, run } = await viaTemporalRun(input);
    expect(outcome).toMatchObject({ kind: 'result', result: { ok: true } });
    const keys = hits(origin, '/orders').map((request) => request.headers['idempotency-key']);
    expect(keys).toEqual([idempotencyKey(input, run), idempotencyKey(input, run), idempotencyKey(input, run)]);
    expect(idempotencyKey(input, run)).toMatch(/^cf-[0-9a-f]{32}$/);
    // Another visit of the node (a later event sequence) is another call.
    expect(idempotencyKey({ ...input, seq: 18 }, run)).not.toBe(idempotencyKey(input, run));
  });

  it('does not send a POST again after a timeout unless the node opts in', async () => {
    origin.route('/slow', () => undefined); // never answers
    origin.route('/slow-opt-in', () => undefined);
    const once = await viaTemporal(effectInput(httpConfig({ method: 'POST', url: `${origin.origin}/slow`, timeoutMs: 300, body: { kind: 'json', json: '{}' } })));
    expect(once).toMatchObject({ kind: 'result', result: { ok: false, error: { code: 'http_timeout', message: expect.stringContaining('retryUnsafe') } } });
    expect(hits(origin, '/slow')).toHaveLength(1);

    const optIn = effectInput(httpConfig({ method: 'POST', url: `${origin.origin}/slow-opt-in`, timeoutMs: 300, retryUnsafe: true, body: { kind: 'json', json: '{}' } }));
    const timedOut = await viaTemporalRun(optIn);
    expect(timedOut.outcome).toMatchObject({ kind: 'failure', type: 'http_timeout' });
    const retried = hits(origin, '/slow-opt-in');
    expect(retried).toHaveLength(4);
    expect(new Set(retried.map((request) => request.headers['idempotency-key']))).toEqual(new Set([idempotencyKey(optIn, timedOut.run)]));
  });

  it('robustness row 8: a POST in flight when the attempt is lost is not sent again, unless the node opts in', async () => {
    origin.route('/lost', () => undefined); // receives the POST, never answers
    origin.route('/lost-opt-in', () => undefined);
    const lost = (input: EffectInput<ReturnType<typeof httpConfig>>) => viaTemporalRun(input, 'robustHttpWorkerLost');
    const input = { ...effectInput(httpConfig({ method: 'POST', url: `${origin.origin}/lost`, timeoutMs: 5000, body: { kind: 'json', json: '{"pay": 1}' } })), seq: 7 };
    const { outcome, run } = await lost(input);
    expect(outcome).toMatchObject({ kind: 'result', result: { ok: false, error: { code: 'http_outcome_unknown', message: expect.stringContaining('retryUnsafe') } } });
    expect(JSON.stringify(outcome)).toMatch(/may have been sent before the worker stopped/);
    expect(hits(origin, '/lost')).toHaveLength(1);
    const [record] = await db.orm.em.getConnection().execute<{ outcome: string | null; attempts: number }[]>(`select outcome, attempts from http_attempt where idempotency_key = ?`, [idempotencyKey(input, run)]);
    expect(record).toMatchObject({ attempts: 1 });

    // Opted in: every attempt sends it again, with the same key, and no record is kept.
    const optIn = { ...effectInput(httpConfig({ method: 'POST', url: `${origin.origin}/lost-opt-in`, timeoutMs: 5000, retryUnsafe: true, body: { kind: 'json', json: '{}' } })), seq: 8 };
    const optedIn = await lost(optIn);
    expect(optedIn.outcome).toMatchObject({ kind: 'failure', type: 'TimeoutFailure' });
    const sent = hits(origin, '/lost-opt-in');
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((request) => request.headers['idempotency-key']))).toEqual(new Set([idempotencyKey(optIn, optedIn.run)]));
    expect(await db.orm.em.getConnection().execute(`select 1 from http_attempt where idempotency_key = ?`, [idempotencyKey(optIn, optedIn.run)])).toHaveLength(0);
  }, 60_000);

  it('robustness row 8: a POST that was never sent, or answered 5xx, is sent again on retry; its record ends done, and a later session sends its own', async () => {
    let n = 0;
    origin.route('/flaky-post', (_req, res) => (++n < 2 ? json(res, 503, {}) : json(res, 201, { ok: true })));
    const input = { ...effectInput(httpConfig({ method: 'POST', url: `${origin.origin}/flaky-post`, body: { kind: 'json', json: '{}' } })), seq: 9 };
    const first = await viaTemporalRun(input);
    expect(first.outcome).toMatchObject({ kind: 'result', result: { ok: true } });
    expect(hits(origin, '/flaky-post')).toHaveLength(2);
    const [record] = await db.orm.em.getConnection().execute<{ outcome: string | null; attempts: number }[]>(`select outcome, attempts from http_attempt where idempotency_key = ?`, [idempotencyKey(input, first.run)]);
    expect(record).toEqual({ outcome: 'done', attempts: 2 });
    // A later session with the same session identity and event sequence (the chat's next
    // session: same input, another run) is another call: sent, and under its own key, so
    // an API that remembers keys does not answer it with the first session's result.
    const later = await viaTemporalRun(input);
    expect(later.outcome).toMatchObject({ kind: 'result', result: { ok: true } });
    const requests = hits(origin, '/flaky-post');
    expect(requests).toHaveLength(3);
    expect(requests[2]?.headers['idempotency-key']).toBe(idempotencyKey(input, later.run));
    expect(requests[2]?.headers['idempotency-key']).not.toBe(requests[0]?.headers['idempotency-key']);
  });

  it('gives LLM calls an Idempotency-Key too', async () => {
    provider.script({ kind: 'reply', content: 'ok' });
    const credential = await createCredential(db.orm.em, box, { name: `key_llm_${randomUUID().slice(0, 6)}`, kind: 'openai', value: API_KEY, meta: { baseUrl: provider.baseUrl } });
    const { llmComplete } = createLlmActivities({ orm: db.orm, logger: logs.logger, secretBox: box, ssrf: { allow: ['127.0.0.1/32'] }, llm: { timeoutMs: 5000 } });
    const input = { ...effectInput(llmConfig({ credentialId: credential.id, model: 'gpt-test', prompt: 'hi', variable: 'session.reply' })), seq: 4, memory: [] };
    expect(await llmComplete(input)).toMatchObject({ ok: true });
    expect(provider.requests.at(-1)?.headers['idempotency-key']).toBe(idempotencyKey(input));
  });
});
