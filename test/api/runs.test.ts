// The runs API on the real stack: sessions started through the API run on a real worker
// (real activities, real Temporal, real PostgreSQL); status, state, events, messages,
// cancel, terminate, bulk cancel and migration are checked through the API itself.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { eventually } from '../support/stack.ts';
import { bearer, createAccount, registerAdmin, startApi, type Account, type ApiHarness } from './support/api.ts';

const UI = 'http://temporal-ui.test:8233';
let t: ApiHarness;
let admin: Account;
let owner: Account;
let outsider: Account;
/** The greeting example with an API start added, published twice (v2 renames the ask node). */
let greeting: { id: string; slug: string; v1: string; v2: string };

type Graph = { slug: string; name: string; webChat?: unknown; nodes: Array<{ id: string; type: string; data: Record<string, unknown> }>; edges: Array<Record<string, unknown>> };

function greetingWithApiStart(): Graph {
  const graph = parseYaml(readFileSync(new URL('../../examples/greeting.yaml', import.meta.url), 'utf8')) as Graph;
  graph.slug = 'greeting-api';
  graph.name = 'Greeting with an API start';
  graph.nodes.push({ id: 'start_api', type: 'start', position: { x: 0, y: 320 }, data: { trigger: { kind: 'api' } } } as Graph['nodes'][number]);
  graph.edges.push({ id: 'e_start_api', source: 'start_api', sourcePort: 'next', target: 'name_known' });
  return graph;
}

/** Version 2: the ask node is renamed (so sessions need a node map) and answers differently. */
function secondVersion(graph: Graph): Graph {
  const next = JSON.parse(JSON.stringify(graph)) as Graph;
  for (const node of next.nodes) {
    if (node.id === 'ask_name') node.id = 'ask_name_v2';
    if (node.id === 'reply_new') node.data = { text: 'Version two greets {{ user.name }}.' };
  }
  for (const edge of next.edges) {
    if (edge.source === 'ask_name') edge.source = 'ask_name_v2';
    if (edge.target === 'ask_name') edge.target = 'ask_name_v2';
  }
  return next;
}

const path = (id: string) => `/api/v1/runs/${encodeURIComponent(id)}`;
const as = (account: Account) => bearer(account.token);

async function start(body: Record<string, unknown>, who: Account = owner) {
  const res = await t.api.post('/api/v1/runs').set(as(who)).send({ chain: greeting.slug, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; status: string; versionId: string; temporalUiUrl: string | null };
}

async function run(id: string, who: Account = owner) {
  const res = await t.api.get(path(id)).set(as(who));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function events(id: string): Promise<Array<{ id: number; type: string; nodeId: string | null; payload: Record<string, unknown> }>> {
  const res = await t.api.get(`${path(id)}/events?limit=500`).set(as(owner));
  expect(res.status).toBe(200);
  return res.body.items;
}

const outTexts = (items: Awaited<ReturnType<typeof events>>) => items.filter((e) => e.type === 'message.out').map((e) => String(e.payload.text));

/** Polls GET /runs/{id} until `ready` holds for it. */
const runWhen = (id: string, what: string, ready: (body: Record<string, unknown>) => boolean) =>
  eventually(async () => {
    const body = await run(id);
    return ready(body) ? body : undefined;
  }, what);

beforeAll(async () => {
  t = await startApi('runs', { deps: { temporalUiUrl: UI } });
  admin = await registerAdmin(t.api);
  owner = await createAccount(t.api, admin, 'editor', 'owner');
  outsider = await createAccount(t.api, admin, 'editor', 'outsider');
  const graph = greetingWithApiStart();
  const imported = await t.api.post('/api/v1/chains/import').set(as(owner)).set('content-type', 'application/yaml').send(toYaml(graph));
  expect(imported.status, JSON.stringify(imported.body)).toBe(201);
  const chain = imported.body.chain;
  await t.api.put(`/api/v1/chains/${chain.id}/draft`).set(as(owner)).send({ revision: chain.draftRevision, graph: secondVersion(graph) });
  const v2 = await t.api.post(`/api/v1/chains/${chain.id}/publish`).set(as(owner)).send({ note: 'ask renamed' });
  expect(v2.status).toBe(201);
  // New runs start on version 1 unless told otherwise.
  await t.api.post(`/api/v1/chains/${chain.id}/rollback`).set(as(owner)).send({ version: 1 });
  greeting = { id: chain.id, slug: chain.slug, v1: imported.body.version.id, v2: v2.body.id };
});
afterAll(async () => t?.close());

describe('starting a run', () => {
  it('starts the greeting at its API start, which reaches its first reply and waits for the name', async () => {
    const started = await start({ input: { source: 'runs-test' } });
    expect(started.id).toMatch(/^run:[0-9a-f-]{36}$/);
    expect(started.versionId).toBe(greeting.v1);
    expect(started.temporalUiUrl).toBe(`${UI}/namespaces/${t.h.client.options.namespace}/workflows/${encodeURIComponent(started.id)}`);

    const waiting = await runWhen(started.id, 'the run to wait for the name', (r) => r.status === 'waiting');
    expect(outTexts(await events(started.id))).toEqual(["Hi! I'm the greeting bot. What's your name?"]);
    expect(waiting).toMatchObject({
      id: started.id,
      chainId: greeting.id,
      channel: 'api',
      currentNode: 'ask_name',
      temporal: { status: 'RUNNING' },
      state: { currentNode: 'ask_name', callStack: [{ versionId: greeting.v1, nodeId: 'ask_name' }], ended: false },
      temporalUiUrl: started.temporalUiUrl,
    });
    expect(waiting.state.variables.run).toMatchObject({ source: 'runs-test' });
    expect(waiting.temporal.historyLength).toBeGreaterThan(0);
  });

  it("accepts the run id with a raw ':' in the URL as well as encoded", async () => {
    const started = await start({});
    const raw = await t.api.get(`/api/v1/runs/${started.id}`).set(as(owner));
    expect(raw.status).toBe(200);
    expect(raw.body.id).toBe(started.id);
  });

  it('runs a chosen version by number or id', async () => {
    expect((await start({ version: 2 })).versionId).toBe(greeting.v2);
    expect((await start({ versionId: greeting.v1 })).versionId).toBe(greeting.v1);
  });

  it('refuses a chain without an API start with 409 naming the problem', async () => {
    const plain = await t.api.post('/api/v1/chains/import?onConflict=rename').set(as(owner)).set('content-type', 'application/yaml').send(readFileSync(new URL('../../examples/greeting.yaml', import.meta.url), 'utf8'));
    const res = await t.api.post('/api/v1/runs').set(as(owner)).send({ chain: plain.body.chain.id });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('no_api_start');
    expect(res.body.message).toMatch(/has no API start; add a start node with trigger kind 'api'/);
  });

  it("starts a visitor's web-chat session on channel web, which the web chat then continues", async () => {
    const started = await start({ channel: 'web', visitorId: 'visitor-7' });
    expect(started.id).toBe(`web:${greeting.id}:visitor-7`);
    await runWhen(started.id, 'the web session to wait', (r) => r.status === 'waiting');
    const again = await t.api.post('/api/v1/runs').set(as(owner)).send({ chain: greeting.slug, channel: 'web', visitorId: 'visitor-7' });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('run_exists');
    const chat = await t.api.post(`/api/v1/chat/${greeting.slug}/visitor-7/messages`).send({ text: 'Ann' });
    expect(chat.status, JSON.stringify(chat.body)).toBe(200);
    expect(chat.body.runId).toBe(started.id);
    expect(chat.body.replies.map((r: { text: string }) => r.text)).toEqual(['Nice to meet you, Ann! I’ll call you that instead of your Telegram name.']);
  });

  it('shows runs only to those who may open the chain', async () => {
    const started = await start({});
    const res = await t.api.get(path(started.id)).set(as(outsider));
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('run_not_found');
    const listed = await t.api.get(`/api/v1/runs?chainId=${greeting.id}`).set(as(outsider));
    expect(listed.body).toEqual({ items: [], total: 0 });
    expect((await t.api.post('/api/v1/runs').set(as(outsider)).send({ chain: greeting.slug })).status).toBe(404);
  });
});

describe('messages', () => {
  it("with wait=true answer with the bot's replies until its next wait", async () => {
    const started = await start({});
    await runWhen(started.id, 'the run to wait', (r) => r.status === 'waiting');
    const res = await t.api.post(`${path(started.id)}/messages?wait=true`).set(as(owner)).send({ text: 'Ann' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ runId: started.id, duplicate: false, ended: true });
    expect(res.body.replies.map((r: { text: string }) => r.text)).toEqual(['Nice to meet you, Ann! I’ll call you that instead of your Telegram name.']);
    await runWhen(started.id, 'the run to complete', (r) => r.status === 'completed' && (r.temporal as { status: string }).status === 'COMPLETED');
    const late = await t.api.post(`${path(started.id)}/messages`).set(as(owner)).send({ text: 'again' });
    expect(late.status).toBe(409);
    expect(late.body.error).toBe('run_closed');
  });

  it('without wait are queued (202), and the replies land in the run events', async () => {
    const started = await start({});
    const res = await t.api.post(`${path(started.id)}/messages`).set(as(owner)).send({ text: 'Bob', id: 'client-1' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ runId: started.id, messageId: 'client-1' });
    const items = await eventually(async () => {
      const all = await events(started.id);
      return outTexts(all).length === 2 ? all : undefined;
    }, 'the reply to the queued message');
    expect(outTexts(items)[1]).toBe('Nice to meet you, Bob! I’ll call you that instead of your Telegram name.');
    expect(items.some((e) => e.type === 'message.in' && e.payload.text === 'Bob')).toBe(true);
  });
});

describe('listing runs and their events', () => {
  it('filters by chain, version, channel, status and start time, with paging', async () => {
    const before = new Date(Date.now() - 1000).toISOString();
    const a = await start({ version: 2 });
    const b = await start({ version: 2 });
    await runWhen(b.id, 'b to wait', (r) => r.status === 'waiting');
    await runWhen(a.id, 'a to wait', (r) => r.status === 'waiting');
    const list = async (query: string) => {
      const res = await t.api.get(`/api/v1/runs?${query}`).set(as(owner));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as { items: Array<{ id: string }>; total: number };
    };
    const mine = await list(`chainId=${greeting.id}&versionId=${greeting.v2}&channel=api&status=waiting&startedAfter=${encodeURIComponent(before)}`);
    expect(mine.items.map((r) => r.id).sort()).toEqual(expect.arrayContaining([a.id, b.id].sort()));
    const page = await list(`chainId=${greeting.id}&versionId=${greeting.v2}&status=waiting&limit=1`);
    expect(page.items).toHaveLength(1);
    expect(page.total).toBeGreaterThanOrEqual(2);
    expect((await list(`chainId=${greeting.id}&startedBefore=${encodeURIComponent(before)}&startedAfter=${encodeURIComponent(before)}`)).total).toBe(0);
    expect((await list(`chainId=${greeting.id}&channel=telegram_bot`)).total).toBe(0);
  });

  it('pages events by afterId', async () => {
    const started = await start({});
    await runWhen(started.id, 'the run to wait', (r) => r.status === 'waiting');
    const all = await events(started.id);
    expect(all.map((e) => e.type)).toEqual(expect.arrayContaining(['session.start', 'node.enter', 'message.out']));
    const first = await t.api.get(`${path(started.id)}/events?limit=2`).set(as(owner));
    expect(first.body.items).toEqual(all.slice(0, 2));
    expect(first.body.total).toBe(all.length);
    const rest = await t.api.get(`${path(started.id)}/events?afterId=${first.body.items[1].id}`).set(as(owner));
    expect(rest.body.items).toEqual(all.slice(2));
    expect(rest.body.total).toBe(all.length - 2);
  });
});

describe('ending runs', () => {
  it('cancel ends a run cleanly with the reason as its outcome, shown as stopped in list and get', async () => {
    const started = await start({});
    await runWhen(started.id, 'the run to wait', (r) => r.status === 'waiting');
    const res = await t.api.post(`${path(started.id)}/cancel`).set(as(owner)).send({ reason: 'no longer needed' });
    expect(res.status).toBe(202);
    const stopped = await runWhen(started.id, 'the run to stop', (r) => r.status === 'stopped');
    expect(stopped).toMatchObject({ temporal: { status: 'COMPLETED' } });
    expect(stopped.closedAt).not.toBeNull();
    expect((await events(started.id)).find((e) => e.type === 'session.end')?.payload).toMatchObject({ outcome: 'no longer needed', stopped: true });
    const listed = await t.api.get(`/api/v1/runs?chainId=${greeting.id}&status=stopped`).set(as(owner));
    expect(listed.body.items.map((r: { id: string }) => r.id)).toContain(started.id);
    const again = await t.api.post(`${path(started.id)}/cancel`).set(as(owner));
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('run_closed');
  });

  it('terminate ends a run at once, shown as terminated in list and get', async () => {
    const started = await start({});
    await runWhen(started.id, 'the run to wait', (r) => r.status === 'waiting');
    const res = await t.api.post(`${path(started.id)}/terminate`).set(as(owner)).send({ reason: 'stuck' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ runId: started.id, status: 'terminated', reason: 'stuck' });
    const listed = await t.api.get(`/api/v1/runs?chainId=${greeting.id}&status=terminated`).set(as(owner));
    expect(listed.body.items.map((r: { id: string }) => r.id)).toContain(started.id);
    const got = await run(started.id);
    expect(got).toMatchObject({ status: 'terminated', temporal: { status: 'TERMINATED' } });
    expect(got.closedAt).not.toBeNull();
    const again = await t.api.post(`${path(started.id)}/terminate`).set(as(owner));
    expect(again.status).toBe(409);
  });

  it('bulk cancel stops the live sessions of a chain version and counts them', async () => {
    const chain = await t.api.post('/api/v1/chains/import?onConflict=rename').set(as(owner)).set('content-type', 'application/yaml').send(toYaml({ ...greetingWithApiStart(), slug: 'bulk-greeting' }));
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.api.post('/api/v1/runs').set(as(owner)).send({ chain: chain.body.chain.id });
      ids.push(res.body.id as string);
    }
    for (const id of ids) await runWhen(id, `${id} to wait`, (r) => r.status === 'waiting');
    const res = await t.api.post('/api/v1/runs/cancel').set(as(owner)).send({ chainId: chain.body.chain.slug, status: 'waiting', reason: 'maintenance' });
    expect(res.status).toBe(202);
    expect(res.body.count).toBe(3);
    expect(res.body.runIds.sort()).toEqual([...ids].sort());
    for (const id of ids) await runWhen(id, `${id} to stop`, (r) => r.status === 'stopped');
    const none = await t.api.post('/api/v1/runs/cancel').set(as(owner)).send({ chainId: chain.body.chain.id });
    expect(none.body).toEqual({ count: 0, runIds: [] });
  });
});

describe('migrating waiting sessions', () => {
  it('lists on a dry run which sessions can move, moves them with the node map, and they answer on the new version', async () => {
    const started = await start({ versionId: greeting.v1 });
    await runWhen(started.id, 'the run to wait at ask_name', (r) => r.currentNode === 'ask_name');
    const migrate = (body: Record<string, unknown>) => t.api.post('/api/v1/runs/migrate').set(as(owner)).send({ fromVersionId: greeting.v1, toVersionId: greeting.v2, ...body });

    const unmapped = await migrate({ dryRun: true });
    expect(unmapped.status, JSON.stringify(unmapped.body)).toBe(200);
    const item = unmapped.body.items.find((i: { runId: string }) => i.runId === started.id);
    expect(item).toMatchObject({ currentNode: 'ask_name', targetNode: 'ask_name', movable: false });
    expect(item.problem).toMatch(/'ask_name' is not in version 2; map it in nodeMap/);
    expect(unmapped.body).toMatchObject({ dryRun: true, moved: 0, from: { id: greeting.v1, number: 1 }, to: { id: greeting.v2, number: 2 } });

    const planned = await migrate({ dryRun: true, nodeMap: { ask_name: 'ask_name_v2' } });
    expect(planned.body.items.find((i: { runId: string }) => i.runId === started.id)).toEqual({ runId: started.id, currentNode: 'ask_name', targetNode: 'ask_name_v2', movable: true });
    expect(planned.body.moved).toBe(0);
    expect((await run(started.id)).versionId).toBe(greeting.v1);

    const moved = await migrate({ nodeMap: { ask_name: 'ask_name_v2' } });
    expect(moved.status).toBe(200);
    expect(moved.body.moved).toBeGreaterThanOrEqual(1);
    const upgraded = await runWhen(started.id, 'the session to move to version 2', (r) => (r.state as { callStack: Array<{ versionId: string }> } | null)?.callStack[0]?.versionId === greeting.v2);
    expect(upgraded.state.currentNode).toBe('ask_name_v2');
    expect((await events(started.id)).some((e) => e.type === 'session.upgraded')).toBe(true);
    const reply = await t.api.post(`${path(started.id)}/messages?wait=true`).set(as(owner)).send({ text: 'Ann' });
    expect(reply.body.replies.map((r: { text: string }) => r.text)).toEqual(['Version two greets Ann.']);
    await runWhen(started.id, 'the index to show version 2', (r) => r.versionId === greeting.v2);
  });
});
