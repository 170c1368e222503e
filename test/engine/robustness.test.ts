// Issue 11 "Robustness", rows 1, 5, 6 and 10, on the real stack (real PostgreSQL, real
// Temporal, the real worker and API). Each describe names its row.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import pg from 'pg';
import { createServer, type Server } from 'node:http';
import { HttpError } from '../../api/errors.ts';
import { randomUUID } from 'node:crypto';
import { syncCleanupSchedule } from '../../temporal/schedules.ts';
import { ConfigError, loadConfig } from '../../config.ts';
import type { WorkflowHandle } from '@temporalio/client';
import { graphSchema } from '../../chain/index.ts';
import { importChain, publishChain } from '../../api/services/chain-service.ts';
import { messageSignal, stateQuery, upgradeSignal, type dialogue, type DialogueInput } from '../../temporal/contracts.ts';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { RunSchema } from '../../db/entities.ts';
import { eventually } from '../support/stack.ts';
import { publishGraph, runEvents, send, startSession, texts } from '../support/dialogue.ts';
import { historyText } from '../api/support/fixtures.ts';
import { bearer, registerAdmin, startApi, type Account, type ApiHarness } from '../api/support/api.ts';

let t: ApiHarness;
let admin: Account;

beforeAll(async () => {
  t = await startApi('robust', { httpAllow: ['127.0.0.1', '::1'] });
  admin = await registerAdmin(t.api);
});
afterAll(async () => t?.close());

const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => t.h.db.orm.em.getConnection().execute<T[]>(text, params);
const runsOf = (chainId: string) => t.h.db.orm.em.fork().count(RunSchema, { chainId });

/** any → ask (name) → message echoing it; web chat on; an API start too. */
function echoChain(slug: string) {
  return createChain({
    slug,
    webChat: { enabled: true },
    nodes: [
      createNode('start', 'start', { trigger: { kind: 'any' } }),
      createNode('api', 'start', { trigger: { kind: 'api' } }),
      createNode('ask', 'ask', { prompt: 'Name?', variable: 'session.name' }),
      createNode('m', 'message', { text: 'Hi {{ session.name }}' }),
    ],
    edges: [createEdge('start', 'ask'), createEdge('api', 'ask'), createEdge('ask', 'm')],
  });
}

describe('robustness row 1: code points PostgreSQL cannot store', () => {
  const BAD = { nul: 'a\u0000b', surrogate: 'a\ud800b', lowSurrogate: '\udfffz' };

  it('web chat: every field a visitor controls answers 400 naming it, and nothing starts', async () => {
    const chain = await publishGraph(t.h.db, echoChain('nul-chat'));
    const url = `/api/v1/chat/${chain.slug}/visitor-nul/messages`;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ text: BAD.nul }, 'body.text'],
      [{ text: BAD.surrogate }, 'body.text'],
      [{ text: BAD.lowSurrogate }, 'body.text'],
      [{ text: 'hi', firstName: BAD.nul }, 'body.firstName'],
      [{ buttonId: BAD.nul }, 'body.buttonId'],
      [{ buttonId: 'b1', value: BAD.surrogate }, 'body.value'],
      [{ id: BAD.nul, text: 'hi' }, 'body.id'],
    ];
    for (const [body, field] of cases) {
      const res = await request(t.app).post(url).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toBe('validation_failed');
      expect(res.body.message).toContain(field);
      expect(res.body.message).toMatch(/U\+(0000|D800|DFFF).*cannot be stored/);
    }
    expect(await runsOf(chain.chainId)).toBe(0);
    // The visitor is not wedged: a clean message is answered at once.
    const ok = await request(t.app).post(url).send({ text: 'hello 😀' });
    expect(ok.status).toBe(200);
    expect(ok.body.replies.map((r: { text: string }) => r.text)).toEqual(['Name?']);
    expect(typeof ok.body.visitorToken).toBe('string');
    const next = await request(t.app).post(url).set('X-Visitor-Token', ok.body.visitorToken).send({ text: 'Ann 😀' });
    expect(next.status).toBe(200);
    expect(next.body.replies.map((r: { text: string }) => r.text)).toEqual(['Hi Ann 😀']);
  });

  it('runs API: input keys and values at any depth, and messages, answer 400 naming the field', async () => {
    const chain = await publishGraph(t.h.db, echoChain('nul-runs'));
    const start = (input: unknown) => t.api.post('/api/v1/runs').set(bearer(admin.token)).send({ chain: chain.slug, input });
    const badKey = await start({ ['na\u0000me']: 1 });
    expect(badKey.status).toBe(400);
    expect(badKey.body.message.startsWith('body.input.na\u0000me: Contains U+0000')).toBe(true);
    const deep = await start({ order: { items: ['ok', BAD.surrogate] } });
    expect(deep.status).toBe(400);
    expect(deep.body.message).toMatch(/^body\.input\.order\.items\.1: Contains U\+D800/);
    expect(await runsOf(chain.chainId)).toBe(0);

    const started = await start({ order: { items: ['ok'] } });
    expect(started.status).toBe(201);
    const path = `/api/v1/runs/${encodeURIComponent(started.body.id)}/messages?wait=true`;
    const bad = await t.api.post(path).set(bearer(admin.token)).send({ text: BAD.nul });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('body.text');
    const good = await t.api.post(path).set(bearer(admin.token)).send({ text: 'Bob' });
    expect(good.status).toBe(200);
    expect(good.body.replies.map((r: { text: string }) => r.text)).toEqual(['Hi Bob']);
  });

  it('webhooks: NUL and lone surrogates in JSON keys and values are replaced, and the session runs', async () => {
    const chain = await publishGraph(
      t.h.db,
      createChain({
        slug: 'nul-hook',
        nodes: [
          createNode('hook', 'start', { trigger: { kind: 'webhook', hookId: 'in', auth: { mode: 'none' } } }),
          createNode('m', 'message', { text: 'Got {{ run.order.customer }}' }),
          createNode('e', 'end', { outcome: 'done' }),
        ],
        edges: [createEdge('hook', 'm'), createEdge('m', 'e')],
      }),
    );
    const body = JSON.stringify({ order: { customer: 'A\u0000nn\ud800', ['k\u0000ey']: ['x\udc00'] } });
    const res = await request(t.app).post(`/api/v1/hooks/${chain.slug}/in?q=${encodeURIComponent('v\u0000')}`).set('content-type', 'application/json').send(body);
    expect(res.status).toBe(202);
    expect(await t.h.client.workflow.getHandle(res.body.runId).result()).toMatchObject({ outcome: 'done' });
    const events = await runEvents(t.h.db, res.body.runId);
    expect(events.find((e) => e.type === 'message.out')?.payload.text).toBe('Got A\uFFFDnn\uFFFD');
    const history = await historyText(t.h.client, res.body.runId);
    expect(history).toContain('A\uFFFDnn\uFFFD');
    expect(history).not.toMatch(/\\u0000|\\ud800|\\udc00/i);
    expect(history.includes('\u0000')).toBe(false);
    const stored = await sql<{ payload: unknown }>(`select payload from run_event where run_id = ? and type = 'session.start'`, [res.body.runId]);
    expect(stored).toHaveLength(1);
  });

  it('chain bodies: graphs, names and notes sent as JSON answer 400 naming the field, and nothing changes', async () => {
    const withText = (slug: string, text: string) => {
      const graph = echoChain(slug);
      return { ...graph, nodes: graph.nodes.map((n) => (n.id === 'm' ? { ...n, data: { ...n.data, text } } : n)) };
    };
    const mIndex = echoChain('x').nodes.findIndex((n) => n.id === 'm');
    const expectNamed = (res: { status: number; body: { error?: string; message?: string } }, field: RegExp) => {
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error).toBe('validation_failed');
      expect(res.body.message).toMatch(field);
      expect(res.body.message).toMatch(/U\+(0000|D800|DFFF).*cannot be stored/);
    };
    const chains = async () => Number((await sql<{ n: string }>(`select count(*) as n from chain`))[0]!.n);
    const before = await chains();
    const create = (body: object) => t.api.post('/api/v1/chains').set(bearer(admin.token)).send(body);
    expectNamed(await create({ graph: withText('nul-create', BAD.nul) }), new RegExp(`^body\\.graph\\.nodes\\.${mIndex}\\.data\\.text: Contains U\\+0000`));
    expectNamed(await create({ name: BAD.surrogate }), /^body\.name: Contains U\+D800/);
    expectNamed(await create({ name: 'ok', description: BAD.lowSurrogate }), /^body\.description: Contains U\+DFFF/);
    const keyed = echoChain('nul-create-key');
    const badKey = await create({ graph: { ...keyed, nodes: keyed.nodes.map((n) => (n.id === 'm' ? { ...n, data: { ...n.data, ['te\u0000xt']: 'x' } } : n)) } });
    expect(badKey.status).toBe(400);
    expect(await chains()).toBe(before);

    const created = await create({ graph: withText('nul-draft', 'clean') });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    const draft = (body: object) => t.api.put(`/api/v1/chains/${id}/draft`).set(bearer(admin.token)).send(body);
    expectNamed(await draft({ revision: created.body.draftRevision, graph: withText('nul-draft', BAD.surrogate) }), new RegExp(`^body\\.graph\\.nodes\\.${mIndex}\\.data\\.text: Contains U\\+D800`));
    expectNamed(await t.api.post(`/api/v1/chains/${id}/publish`).set(bearer(admin.token)).send({ note: BAD.nul }), /^body\.note: Contains U\+0000/);
    const after = await t.api.get(`/api/v1/chains/${id}`).set(bearer(admin.token));
    expect(after.body.draftRevision).toBe(created.body.draftRevision);
    expect(after.body.activeVersion).toBeNull();
    expect(after.body.draft.nodes[mIndex].data.text).toBe('clean');
    // A clean edit still goes through.
    const ok = await draft({ revision: created.body.draftRevision, graph: withText('nul-draft', 'still clean 😀') });
    expect(ok.status).toBe(200);
  });

  it('a value a node produced is replaced at the flush, and a flush that fails for good ends the session with a clear error', async () => {
    // A code node returns NUL and a lone surrogate: the flush stores them replaced.
    const coded = await publishGraph(
      t.h.db,
      createChain({
        slug: 'nul-code',
        nodes: [
          createNode('start', 'start', { trigger: { kind: 'api' } }),
          createNode('c', 'code', { source: 'function main() { return "x\\u0000y\\ud800"; }', variable: 'session.out' }),
          createNode('m', 'message', { text: '{{ session.out }}' }),
          createNode('e', 'end', { outcome: 'done' }),
        ],
        edges: [createEdge('start', 'c'), createEdge('c', 'm', 'ok'), createEdge('m', 'e')],
      }),
    );
    const handle = await startSession(t.h.client, t.h.taskQueue, coded, { entry: 'api', channel: 'api' });
    expect(await handle.result()).toMatchObject({ outcome: 'done' });
    const out = await runEvents(t.h.db, handle.workflowId);
    expect(out.find((e) => e.type === 'message.out')?.payload.text).toBe('x\uFFFDy\uFFFD');

    // A database that refuses the session's events for good (a trigger the test adds,
    // raising "program limit exceeded" for message.in rows of this chain's runs).
    const chain = await publishGraph(t.h.db, echoChain('flush-fails'));
    await sql(`create or replace function robust_refuse() returns trigger language plpgsql as $$
      begin raise exception 'row is too big (test)' using errcode = '54000'; end $$`);
    await sql(`create trigger robust_refuse before insert on run_event for each row
      when (new.type = 'message.in' and new.run_id like 'web:${chain.chainId}:%') execute function robust_refuse()`);
    try {
      const session = await startSession(t.h.client, t.h.taskQueue, chain);
      const began = Date.now();
      // The visitor is answered (the session ended), not left waiting.
      expect(await send(session, 'hi')).toMatchObject({ ended: true, replies: [] });
      const failure = await session.result().then(
        () => undefined,
        (err: Error & { cause?: Error & { type?: string } }) => err.cause,
      );
      expect(failure?.type).toBe('persistence_failed');
      expect(failure?.message).toMatch(/could not be saved.*SQLSTATE 54000.*row is too big/);
      expect(Date.now() - began).toBeLessThan(20_000);
      const [run] = await sql<{ status: string }>(`select status from run where id = ?`, [session.workflowId]);
      expect(run?.status).toBe('failed');
      const failed = (await runEvents(t.h.db, session.workflowId)).find((e) => e.type === 'session.failed');
      expect(String(failed?.payload.message)).toMatch(/SQLSTATE 54000.*row is too big/);
    } finally {
      await sql(`drop trigger if exists robust_refuse on run_event`);
    }
  });
});

describe('robustness row 6: stop and upgrade during the flush before continue-as-new', () => {
  // any → ask → message → ask …, two messages per run: after the second message the
  // session flushes `session.continued` and continues as new. A trigger the test adds
  // makes that flush wait on an advisory lock the test holds (a real database lock), with
  // a short workflow-task timeout so the SDK heartbeats the task and the signal is
  // delivered to the workflow while the flush still waits.
  const LOOP = (slug: string, text: string, askId: string) =>
    createChain({
      slug,
      nodes: [
        createNode('start', 'start', { trigger: { kind: 'any' } }),
        createNode(askId, 'ask', { prompt: 'Name?', variable: 'session.name' }),
        createNode('m', 'message', { text: `${text} {{ session.name }}` }),
      ],
      edges: [createEdge('start', askId), createEdge(askId, 'm'), createEdge('m', askId)],
    });

  async function atTheFlush(versionId: string, chainId: string, lockKey: number, signal: (handle: WorkflowHandle<typeof dialogue>) => Promise<void>) {
    const visitor = `v${lockKey}`;
    const workflowId = `web:${chainId}:${visitor}`;
    const holder = new pg.Client({ connectionString: t.h.db.url });
    await holder.connect();
    await holder.query('select pg_advisory_lock($1)', [lockKey]);
    await sql(`create or replace function robust_hold() returns trigger language plpgsql as $$
      begin perform pg_advisory_xact_lock(${lockKey}); return new; end $$`);
    await sql(`create trigger robust_hold_${lockKey} before insert on run_event for each row
      when (new.type = 'session.continued' and new.run_id = '${workflowId}') execute function robust_hold()`);
    try {
      const input: DialogueInput = {
        chainId,
        versionId,
        channel: 'web',
        owners: { user: `web:${visitor}`, chat: `web:${visitor}`, bot: `chain:${chainId}` },
        limits: { messagesPerRun: 2 },
      };
      const handle = await t.h.client.workflow.start<typeof dialogue>('dialogue', { taskQueue: t.h.taskQueue, workflowId, args: [input], workflowTaskTimeout: '2s' });
      const firstRunId = handle.firstExecutionRunId;
      expect(texts(await send(handle, 'hi'))).toEqual(['Name?']);
      await handle.signal(messageSignal, { id: `second-${lockKey}`, text: 'Ann' });
      await eventually(async () => {
        const rows = await sql<{ n: number }>(`select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = ? and not granted`, [lockKey]);
        return rows[0]?.n === 1 || undefined;
      }, 'the flush waiting on the lock');
      await signal(handle);
      // Released only once a workflow task that ran after the signal has completed: the
      // handler ran while the flush still waited.
      await eventually(async () => {
        const events = (await t.h.client.workflow.getHandle(workflowId, firstRunId).fetchHistory()).events ?? [];
        const at = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes && e.workflowExecutionSignaledEventAttributes.signalName !== 'message');
        return (at >= 0 && events.slice(at).some((e) => e.workflowTaskCompletedEventAttributes)) || undefined;
      }, 'the signal delivered during the flush');
      await holder.query('select pg_advisory_unlock($1)', [lockKey]);
      return { handle, firstRunId };
    } finally {
      await holder.end();
      await sql(`drop trigger if exists robust_hold_${lockKey} on run_event`);
    }
  }

  it('a stop sent then ends the session as stopped instead of continuing as new without it', async () => {
    const chain = await publishGraph(t.h.db, LOOP('stop-at-flush', 'Hi', 'q'));
    // Through the API: it answers 202, so the stop must happen.
    const { handle, firstRunId } = await atTheFlush(chain.versionId, chain.chainId, 61001, async (h) => {
      const res = await t.api.post(`/api/v1/runs/${encodeURIComponent(h.workflowId)}/cancel`).set(bearer(admin.token)).send({ reason: 'closed by test' });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
    });
    expect(await t.h.client.workflow.getHandle(handle.workflowId, firstRunId).result()).toMatchObject({ outcome: 'closed by test' });
    const events = (await t.h.client.workflow.getHandle(handle.workflowId, firstRunId).fetchHistory()).events ?? [];
    expect(events.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)).toBe(false);
    const [run] = await sql<{ status: string }>(`select status from run where id = ?`, [handle.workflowId]);
    expect(run?.status).toBe('stopped');
  });

  it('an upgrade sent then moves the session to the new version', async () => {
    const em = t.h.db.orm.em.fork();
    const { chain, version } = await importChain(em, graphSchema.parse({ ...LOOP(`upgrade-at-flush-${Date.now()}`, 'v1:', 'q'), webChat: { enabled: true } }));
    chain.draftGraph = graphSchema.parse({ ...LOOP(chain.slug, 'v2:', 'q2') }) as unknown as Record<string, unknown>;
    const second = await publishChain(em, chain);
    const { handle } = await atTheFlush(version.id, chain.id, 61002, (h) => h.signal(upgradeSignal, { versionId: second.id, nodeMap: { q: 'q2' } }));
    const latest = t.h.client.workflow.getHandle<typeof dialogue>(handle.workflowId);
    const view = await eventually(async () => {
      const v = await latest.query(stateQuery);
      return v.versionId === second.id ? v : undefined;
    }, 'the upgrade applied');
    expect(view).toMatchObject({ versionNumber: 2, currentNode: 'q2' });
    expect(texts(await send(latest, 'Bob'))).toEqual(['v2: Bob', 'Name?']);
    const events = await runEvents(t.h.db, handle.workflowId);
    expect(events.some((e) => e.type === 'session.upgraded')).toBe(true);
    // Continuing as new is not a failure.
    expect(events.filter((e) => e.type === 'session.failed')).toEqual([]);
  });
});

describe('robustness row 5: bounded session state, clipped errors, lean activity inputs, IR size', () => {
  const limits = { maxStateBytes: 60_000 };
  const big = (n: number) => `function main() { return "${'x'.repeat(10)}".repeat(${n / 10}); }`;

  it('the write that passes the cap leaves through error, or fails the session with state_too_large naming the variable', async () => {
    const chain = await publishGraph(
      t.h.db,
      createChain({
        slug: 'state-cap',
        nodes: [
          createNode('start', 'start', { trigger: { kind: 'api' } }),
          createNode('a', 'code', { source: big(35_000), variable: 'session.a' }),
          createNode('b', 'code', { source: big(35_000), variable: 'session.b' }),
          createNode('caught', 'message', { text: 'caught {{ session.error.code }} at {{ session.error.nodeId }}' }),
          createNode('twice', 'set', { assignments: [{ variable: 'session.c', value: '{{ session.a }}{{ session.a }}' }] }),
        ],
        edges: [createEdge('start', 'a'), createEdge('a', 'b', 'ok'), createEdge('b', 'caught', 'error'), createEdge('caught', 'twice')],
      }),
    );
    const handle = await startSession(t.h.client, t.h.taskQueue, chain, { entry: 'api', channel: 'api', limits });
    const failure = await handle.result().then(
      () => undefined,
      (err: Error & { cause?: Error & { type?: string } }) => err.cause,
    );
    const events = await runEvents(t.h.db, handle.workflowId);
    // b's result would pass the cap: not kept, and b leaves through 'error'.
    const error = events.find((e) => e.type === 'node.error')?.payload;
    expect(error).toMatchObject({ nodeId: 'b', code: 'state_too_large' });
    expect(String(error?.message)).toContain('session.b');
    expect(events.find((e) => e.type === 'message.out')?.payload.text).toBe('caught state_too_large at b');
    expect(events.some((e) => e.type === 'variable.set' && e.payload.variable === 'session.b')).toBe(false);
    // The set node has no 'error' port: the session fails, naming the variable.
    expect(failure?.type).toBe('state_too_large');
    expect(failure?.message).toMatch(/session\.c .*over its limit of 60000/);
    const [run] = await sql<{ status: string }>(`select status from run where id = ?`, [handle.workflowId]);
    expect(run?.status).toBe('failed');
  });

  it('error messages are clipped (~1 KB) in session.error, run events and the failure', async () => {
    const chain = await publishGraph(
      t.h.db,
      createChain({
        slug: 'long-error',
        nodes: [
          createNode('start', 'start', { trigger: { kind: 'api' } }),
          createNode('c', 'code', { source: 'function main() { throw new Error("boom ".repeat(2000)); }', variable: 'session.r' }),
        ],
        edges: [createEdge('start', 'c')],
      }),
    );
    const handle = await startSession(t.h.client, t.h.taskQueue, chain, { entry: 'api', channel: 'api' });
    const failure = await handle.result().then(
      () => undefined,
      (err: Error & { cause?: Error }) => err.cause,
    );
    expect(failure?.message).toContain('boom boom');
    expect(failure?.message.length).toBeLessThan(1300);
    const events = await runEvents(t.h.db, handle.workflowId);
    for (const e of events.filter((x) => x.type === 'node.error' || x.type === 'session.failed')) expect(String(e.payload.message).length).toBeLessThan(1300);
    expect(events.some((e) => e.type === 'node.error')).toBe(true);
  });

  it('an HTTP activity receives only the variables its templates reference', async () => {
    let server: Server | undefined;
    try {
      server = createServer((req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ path: req.url }));
      });
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      const chain = await publishGraph(
        t.h.db,
        createChain({
          slug: 'lean-input',
          variables: [
            { name: 'session.id', type: 'string' },
            { name: 'session.huge', type: 'string' },
            { name: 'user.tier', type: 'string' },
          ],
          nodes: [
            createNode('start', 'start', { trigger: { kind: 'api' } }),
            createNode('fill', 'code', { source: 'function main() { return { "session.huge": "h".repeat(40000), "session.id": "42", "user.tier": "gold" }; }' }),
            createNode('get', 'http', { method: 'GET', url: `http://127.0.0.1:${port}/items/{{ session.id }}?tier={{ user.tier | upper }}`, responseVariable: 'session.reply' }),
            createNode('e', 'end', { outcome: 'done' }),
          ],
          edges: [createEdge('start', 'fill'), createEdge('fill', 'get', 'ok'), createEdge('get', 'e', 'ok')],
        }),
      );
      const handle = await startSession(t.h.client, t.h.taskQueue, chain, { entry: 'api', channel: 'api' });
      expect(await handle.result()).toMatchObject({ outcome: 'done' });
      const history = await handle.fetchHistory();
      const scheduled = history.events?.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'httpRequest');
      const payload = scheduled?.activityTaskScheduledEventAttributes?.input?.payloads?.[0]?.data;
      const input = JSON.parse(Buffer.from(payload ?? new Uint8Array()).toString('utf8')) as { scope: Record<string, Record<string, unknown>> };
      expect(input.scope.session).toEqual({ id: '42' });
      expect(input.scope.user).toEqual({ tier: 'gold' });
      expect(JSON.stringify(input).length).toBeLessThan(5000);
      const reply = (await runEvents(t.h.db, handle.workflowId)).find((e) => e.type === 'variable.set' && e.payload.variable === 'session.reply');
      expect(JSON.stringify(reply?.payload.value)).toContain('/items/42?tier=GOLD');
    } finally {
      server?.close();
    }
  });

  it('publish refuses a chain whose IR is over 256 KB, with a clear message', async () => {
    const source = `function main() { return 1; }\n// ${'p'.repeat(95_000)}`;
    const graph = createChain({
      slug: `huge-${Date.now()}`,
      nodes: [
        createNode('start', 'start', { trigger: { kind: 'api' } }),
        ...['c1', 'c2', 'c3'].map((id) => createNode(id, 'code', { source, variable: `session.${id}` })),
      ],
      edges: [createEdge('start', 'c1'), createEdge('c1', 'c2', 'ok'), createEdge('c2', 'c3', 'ok')],
    });
    const refused = await importChain(t.h.db.orm.em.fork(), graphSchema.parse(graph)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(HttpError);
    expect(refused).toMatchObject({ status: 422, code: 'chain_too_large' });
    expect((refused as HttpError).message).toMatch(/is \d+ KB, over the 256 KB limit: split it into sub-chains/);
  });
});

describe('robustness row 10: retention cleanup as a daily Temporal Schedule', () => {
  it('parses the retention settings, with documented defaults', () => {
    expect(loadConfig({}).retention).toEqual({ auditEntryDays: 365, runEventDays: 90, refreshTokenDays: 30, variableDays: 365, inviteDays: 30, draftVersionDays: 7 });
    expect(loadConfig({ RETENTION_RUN_EVENT_DAYS: '14', RETENTION_VARIABLE_DAYS: '0' }).retention).toMatchObject({ runEventDays: 14, variableDays: 0 });
    expect(() => loadConfig({ RETENTION_AUDIT_DAYS: 'soon' })).toThrow(ConfigError);
    expect(() => loadConfig({ RETENTION_AUDIT_DAYS: 'soon' })).toThrow(/RETENTION_AUDIT_DAYS/);
  });

  it('removes rows past retention and keeps rows in use', async () => {
    const ago = (days: number) => new Date(Date.now() - days * 86_400_000);
    const ahead = (days: number) => new Date(Date.now() + days * 86_400_000);
    const chain = await publishGraph(t.h.db, echoChain('retention'));
    const mark = randomUUID().slice(0, 8);

    await sql(`insert into audit_entry (at, action, summary) values (?, ?, '{}'), (?, ?, '{}')`, [ago(400), `old-${mark}`, ago(1), `new-${mark}`]);

    const closedRun = `run:closed-${mark}`;
    const liveRun = `run:live-${mark}`;
    for (const [id, status, closed] of [[closedRun, 'completed', ago(100)], [liveRun, 'waiting', null]] as const) {
      await sql(`insert into run (id, chain_id, version_id, channel, status, started_at, updated_at, closed_at) values (?, ?, ?, 'api', ?, ?, ?, ?)`, [id, chain.chainId, chain.versionId, status, ago(120), ago(100), closed]);
      await sql(`insert into run_event (run_id, seq, type, payload, at) values (?, 0, 'session.start', '{}', ?)`, [id, ago(110)]);
    }

    const family = randomUUID();
    const lone = randomUUID();
    const token = (fam: string, created: Date, expires: Date, used: Date | null) =>
      sql(`insert into refresh_token (id, user_id, family_id, token_hash, created_at, expires_at, used_at) values (?, ?, ?, ?, ?, ?, ?) returning id`, [randomUUID(), admin.id, fam, randomUUID().replaceAll('-', ''), created, expires, used]);
    await token(family, ago(60), ago(30), ago(40)); // superseded and old: removed
    await token(family, ago(40), ahead(5), null); // the family's newest, still valid: kept
    await token(lone, ago(80), ago(50), null); // expired long ago: removed

    const variable = (scope: string, owner: string, name: string, updated: Date) =>
      sql(`insert into variable (id, scope, owner_key, name, value, updated_at) values (?, ?, ?, ?, '1', ?)`, [randomUUID(), scope, owner, name, updated]);
    await variable('user', `web:${mark}`, 'stale', ago(400));
    await variable('user', `web:${mark}`, 'fresh', ago(2));
    await variable('bot', `chain:${chain.chainId}`, 'counter', ago(400)); // the chain exists: kept

    const invite = (created: Date, expires: Date, used: Date | null) =>
      sql(`insert into invite (id, code_hash, role, created_at, expires_at, used_at) values (?, ?, 'viewer', ?, ?, ?)`, [randomUUID(), randomUUID().replaceAll('-', ''), created, expires, used]);
    await invite(ago(60), ago(45), ago(40)); // used long ago: removed
    await invite(ago(60), ago(40), null); // expired long ago: removed
    await invite(ago(40), ahead(10), null); // still open: kept

    const draft = async (created: Date) => {
      const id = randomUUID();
      await sql(`insert into chain_version (id, chain_id, kind, number, graph, ir, hash, note, created_at) select ?, chain_id, 'draft', null, graph, ir, ?, '', ? from chain_version where id = ?`, [id, id.replaceAll('-', ''), created, chain.versionId]);
      return id;
    };
    const oldDraft = await draft(ago(10));
    const usedDraft = await draft(ago(10));
    const newDraft = await draft(ago(1));
    await sql(`insert into run (id, chain_id, version_id, channel, status, started_at, updated_at) values (?, ?, ?, 'web', 'waiting', ?, ?)`, [`web:${chain.chainId}:sim-${mark}`, chain.chainId, usedDraft, ago(10), ago(10)]);

    const attempt = (key: string, created: Date) =>
      sql(`insert into http_attempt (key, idempotency_key, run_id, node_id, outcome, attempts, created_at, updated_at) values (?, ?, ?, 'pay', null, 1, ?, ?)`, [key, key, liveRun, created, created]);
    await attempt(`old-${mark}`, ago(100)); // past the run-event retention: removed
    await attempt(`new-${mark}`, ago(1)); // kept

    const send = (runId: string, sent: Date) =>
      sql(`insert into telegram_send (run_id, message_id, bot_id, telegram_message_ids, sent_at) values (?, '1', ?, '[1]', ?)`, [runId, randomUUID(), sent]);
    const endedChat = `chat:ended-${mark}`;
    await sql(`insert into run (id, chain_id, version_id, channel, status, started_at, updated_at, closed_at) values (?, ?, ?, 'telegram_bot', 'completed', ?, ?, ?)`, [endedChat, chain.chainId, chain.versionId, ago(0.2), ago(0.1), ago(0.1)]);
    await send(`${endedChat}/exec-a`, ago(0.15)); // its session ended over an hour ago (the run closed after the send): removed
    await send(`${liveRun}/exec-b`, ago(1)); // its session still waits: kept
    await send(`run:gone-${mark}/exec-c`, ago(100)); // past the run-event retention: removed

    const scheduleId = `test:retention-${mark}`;
    await syncCleanupSchedule(t.h.client, { taskQueue: t.h.taskQueue, retention: loadConfig({}).retention, scheduleId });
    const schedule = t.h.client.schedule.getHandle(scheduleId);
    try {
      const described = await schedule.describe();
      expect(described.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 3 }], minute: [{ start: 17 }] });
      expect(described.action).toMatchObject({ workflowType: 'retentionCleanup' });
      await schedule.trigger();
      await eventually(async () => {
        const info = await schedule.describe();
        const recent = info.info.recentActions[0];
        if (!recent) return undefined;
        const run = await t.h.client.workflow.getHandle(recent.action.workflow.workflowId, recent.action.workflow.firstExecutionRunId).describe();
        return run.status.name === 'COMPLETED' || undefined;
      }, 'the cleanup run');
    } finally {
      await schedule.delete();
    }

    const count = async (text: string, params: unknown[]) => (await sql<{ n: number }>(`select count(*)::int as n from ${text}`, params))[0]?.n;
    expect(await count(`audit_entry where action = ?`, [`old-${mark}`])).toBe(0);
    expect(await count(`audit_entry where action = ?`, [`new-${mark}`])).toBe(1);
    expect(await count(`run_event where run_id = ?`, [closedRun])).toBe(0);
    expect(await count(`run_event where run_id = ?`, [liveRun])).toBe(1);
    expect(await count(`refresh_token where family_id = ?`, [family])).toBe(1);
    expect(await count(`refresh_token where family_id = ? and expires_at > now()`, [family])).toBe(1);
    expect(await count(`refresh_token where family_id = ?`, [lone])).toBe(0);
    expect(await count(`refresh_token where user_id = ? and created_at > now() - interval '1 day'`, [admin.id])).toBeGreaterThan(0);
    expect((await sql<{ name: string }>(`select name from variable where owner_key in (?, ?) order by name`, [`web:${mark}`, `chain:${chain.chainId}`])).map((r) => r.name)).toEqual(['counter', 'fresh']);
    expect(await count(`invite where created_at < now() - interval '39 days'`, [])).toBe(1);
    expect((await sql<{ key: string }>(`select key from http_attempt where key in (?, ?)`, [`old-${mark}`, `new-${mark}`])).map((r) => r.key)).toEqual([`new-${mark}`]);
    expect((await sql<{ id: string }>(`select id from chain_version where id in (?, ?, ?) order by created_at`, [oldDraft, usedDraft, newDraft])).map((r) => r.id).sort()).toEqual([usedDraft, newDraft].sort());
    expect(await count(`chain_version where id = ?`, [chain.versionId])).toBe(1);
    expect((await sql<{ run_id: string }>(`select run_id from telegram_send where run_id like ?`, [`%-${mark}/%`])).map((r) => r.run_id)).toEqual([`${liveRun}/exec-b`]);
  });
});
