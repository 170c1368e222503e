import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ChainSchema, ChainVersionSchema, RunSchema } from '../../db/entities.ts';
import { eventually } from '../support/stack.ts';
import { bearer, createAccount, registerAdmin, simpleGraph, snapshotDatabase, startApi, type Account, type ApiHarness } from './support/api.ts';

let t: ApiHarness;
let admin: Account;
let owner: Account;
let viewer: Account;

beforeAll(async () => {
  t = await startApi('chains');
  admin = await registerAdmin(t.api);
  owner = await createAccount(t.api, admin, 'editor', 'owner');
  viewer = await createAccount(t.api, admin, 'viewer', 'viewer');
});
afterAll(async () => t?.close());

const as = (account: Account) => bearer(account.token);
const em = () => t.h.db.orm.em.fork();

async function createChain(account: Account, graph: Record<string, unknown>) {
  const res = await t.api.post('/api/v1/chains').set(as(account)).send({ graph });
  expect(res.status).toBe(201);
  return res.body as { id: string; slug: string; draftRevision: number };
}

describe('creating chains', () => {
  it('starts a chain from a minimal default that compiles, owned by its creator', async () => {
    const res = await t.api.post('/api/v1/chains').set(as(owner)).send({ name: 'Lead capture!' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ slug: 'lead-capture', name: 'Lead capture!', ownerId: owner.id, role: 'owner', draftRevision: 1, activeVersion: null });
    const validation = await t.api.post(`/api/v1/chains/${res.body.id}/validate`).set(as(owner));
    expect(validation.body).toMatchObject({ ok: true, errors: [] });
  });

  it('stores a given graph as the draft without publishing it', async () => {
    const chain = await createChain(owner, simpleGraph('from-graph'));
    const got = await t.api.get(`/api/v1/chains/${chain.id}`).set(as(owner));
    expect(got.body.draft.nodes.map((n: { id: string }) => n.id)).toEqual(['start', 'ask', 'bye']);
    expect(await em().count(ChainVersionSchema, { chainId: chain.id })).toBe(0);
  });

  it('refuses a slug that exists with 409, or renames on request', async () => {
    const taken = await t.api.post('/api/v1/chains').set(as(owner)).send({ graph: simpleGraph('from-graph') });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toBe('slug_taken');
    const renamed = await t.api.post('/api/v1/chains?onConflict=rename').set(as(owner)).send({ graph: simpleGraph('from-graph') });
    expect(renamed.body.slug).toBe('from-graph-2');
  });

  it('does not let global viewers create chains', async () => {
    const res = await t.api.post('/api/v1/chains').set(as(viewer)).send({ name: 'Nope' });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/editor role/);
  });
});

describe('listing chains', () => {
  it('searches by name or slug, sorts and pages, showing only the chains one may open', async () => {
    for (const slug of ['zeta-list', 'alpha-list', 'mid-list']) await createChain(owner, simpleGraph(slug));
    const page = await t.api.get('/api/v1/chains?q=-list&sort=slug&limit=2').set(as(owner));
    expect(page.status).toBe(200);
    expect(page.body.total).toBe(3);
    expect(page.body.items.map((c: { slug: string }) => c.slug)).toEqual(['alpha-list', 'mid-list']);
    const next = await t.api.get('/api/v1/chains?q=-list&sort=-slug&offset=2&limit=2').set(as(owner));
    expect(next.body.items.map((c: { slug: string }) => c.slug)).toEqual(['alpha-list']);
    const byName = await t.api.get('/api/v1/chains?q=chain%20zeta').set(as(owner));
    expect(byName.body.items.map((c: { slug: string }) => c.slug)).toEqual(['zeta-list']);

    const nothing = await t.api.get('/api/v1/chains?q=-list').set(as(viewer));
    expect(nothing.body).toEqual({ items: [], total: 0 });
    const all = await t.api.get('/api/v1/chains?q=-list').set(as(admin));
    expect(all.body.total).toBe(3);
  });

  it('treats % and _ in the search as plain characters', async () => {
    const res = await t.api.get('/api/v1/chains?q=%25').set(as(owner));
    expect(res.body.total).toBe(0);
  });
});

describe('drafts', () => {
  it('saves with the revision it started from and refuses a stale one with 409', async () => {
    const chain = await createChain(owner, simpleGraph('drafty'));
    const graph = { ...simpleGraph('drafty', 'Changed question'), name: 'Drafty' };
    const saved = await t.api.put(`/api/v1/chains/${chain.id}/draft`).set(as(owner)).send({ revision: 1, graph });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ draftRevision: 2, name: 'Drafty' });

    const before = await snapshotDatabase(t.h);
    const stale = await t.api.put(`/api/v1/chains/${chain.id}/draft`).set(as(owner)).send({ revision: 1, graph });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ error: 'stale_revision', details: { currentRevision: 2 } });
    expect(await snapshotDatabase(t.h)).toEqual(before);
  });

  it('renames the slug with the graph, refusing one that is taken', async () => {
    const chain = await createChain(owner, simpleGraph('rename-me'));
    const taken = await t.api.put(`/api/v1/chains/${chain.id}/draft`).set(as(owner)).send({ revision: 1, graph: simpleGraph('drafty') });
    expect(taken.status).toBe(409);
    const renamed = await t.api.put(`/api/v1/chains/${chain.id}/draft`).set(as(owner)).send({ revision: 1, graph: simpleGraph('renamed') });
    expect(renamed.body.slug).toBe('renamed');
    expect((await t.api.get('/api/v1/chains/renamed').set(as(owner))).body.id).toBe(chain.id);
  });

  it('validates a draft into errors naming node and field, and warnings', async () => {
    const graph = simpleGraph('broken');
    (graph.nodes as Array<{ id: string; data: Record<string, unknown> }>)[1]!.data = { prompt: '', variable: 'session.answer' };
    (graph.nodes as unknown[]).push({ id: 'lonely', type: 'message', data: { text: 'unreachable' } });
    const chain = await createChain(owner, graph);
    const res = await t.api.post(`/api/v1/chains/${chain.id}/validate`).set(as(owner));
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(false);
    expect(res.body.errors).toContainEqual(expect.objectContaining({ nodeId: 'ask', field: 'prompt', code: 'config_invalid' }));
    expect(res.body.warnings).toContainEqual(expect.objectContaining({ nodeId: 'lonely', code: 'node_unreachable' }));
  });
});

describe('versions', () => {
  let chainId: string;

  it('publishes immutable numbered versions and makes the newest active', async () => {
    const chain = await createChain(owner, simpleGraph('versioned', 'First question'));
    chainId = chain.id;
    const v1 = await t.api.post(`/api/v1/chains/${chainId}/publish`).set(as(owner)).send({ note: 'first' });
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({ number: 1, note: 'first', active: true, createdBy: owner.id });

    const draft = simpleGraph('versioned', 'Second question');
    (draft.nodes as unknown[]).push({ id: 'extra', type: 'message', position: { x: 0, y: 300 }, data: { text: 'Extra' } });
    (draft.edges as unknown[]).push({ id: 'e3', source: 'bye', target: 'extra' });
    await t.api.put(`/api/v1/chains/${chainId}/draft`).set(as(owner)).send({ revision: 1, graph: draft });
    const stale = await t.api.post(`/api/v1/chains/${chainId}/publish`).set(as(owner)).send({ revision: 1 });
    expect(stale.status).toBe(409);
    const v2 = await t.api.post(`/api/v1/chains/${chainId}/publish`).set(as(owner)).send({ note: 'second', revision: 2 });
    expect(v2.body).toMatchObject({ number: 2, active: true });

    const list = await t.api.get(`/api/v1/chains/${chainId}/versions`).set(as(owner));
    expect(list.body.total).toBe(2);
    expect(list.body.items.map((v: { number: number; active: boolean }) => [v.number, v.active])).toEqual([
      [2, true],
      [1, false],
    ]);
    const one = await t.api.get(`/api/v1/chains/${chainId}/versions/1`).set(as(owner));
    expect(one.body.graph.nodes[1].data.prompt).toBe('First question');
    expect((await t.api.get(`/api/v1/chains/${chainId}/versions/9`).set(as(owner))).status).toBe(404);
  });

  it('diffs two versions with field-level detail', async () => {
    const res = await t.api.get(`/api/v1/chains/${chainId}/diff?from=1&to=2`).set(as(owner));
    expect(res.status).toBe(200);
    expect(res.body.from).toBe(1);
    expect(res.body.to).toBe(2);
    expect(res.body.nodes.added.map((n: { id: string }) => n.id)).toEqual(['extra']);
    expect(res.body.nodes.removed).toEqual([]);
    expect(res.body.nodes.changed).toEqual([{ id: 'ask', changes: [{ field: 'data.prompt', before: 'First question', after: 'Second question' }] }]);
    expect(res.body.edges.added.map((e: { id: string }) => e.id)).toEqual(['e3']);
    const same = await t.api.get(`/api/v1/chains/${chainId}/diff?from=2&to=draft`).set(as(owner));
    expect(same.body.nodes).toEqual({ added: [], removed: [], changed: [] });
  });

  it('rolls back by making an older version active, leaving the draft alone', async () => {
    const res = await t.api.post(`/api/v1/chains/${chainId}/rollback`).set(as(owner)).send({ version: 1 });
    expect(res.status).toBe(200);
    expect(res.body.activeVersion.number).toBe(1);
    expect(res.body.draftRevision).toBe(2);
    expect(res.body.draft.nodes.map((n: { id: string }) => n.id)).toContain('extra');
  });

  it('refuses to publish a draft identical to a published version, pointing at rollback', async () => {
    const res = await t.api.post(`/api/v1/chains/${chainId}/publish`).set(as(owner)).send({});
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'already_published', details: { version: 2 } });
    expect(res.body.message).toContain('roll back');
  });

  it('refuses to publish a draft that does not compile, storing nothing', async () => {
    const graph = simpleGraph('wont-publish');
    (graph.edges as unknown[]).push({ id: 'bad', source: 'bye', target: 'nowhere' });
    const chain = await createChain(owner, graph);
    const before = await snapshotDatabase(t.h);
    const res = await t.api.post(`/api/v1/chains/${chain.id}/publish`).set(as(owner)).send({});
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('chain_invalid');
    expect(res.body.details).toContainEqual(expect.objectContaining({ edgeId: 'bad', code: 'edge_unknown_target' }));
    expect(await snapshotDatabase(t.h)).toEqual(before);
  });
});

describe('export and import', () => {
  it('exports YAML and JSON that import again as a copy', async () => {
    const chain = await createChain(owner, simpleGraph('roundtrip'));
    const yaml = await t.api.get(`/api/v1/chains/${chain.id}/export?format=yaml`).set(as(owner));
    expect(yaml.status).toBe(200);
    expect(yaml.headers['content-type']).toMatch(/^application\/yaml/);
    expect(yaml.headers['content-disposition']).toContain('roundtrip-draft.yaml');
    expect(parseYaml(yaml.text).slug).toBe('roundtrip');

    const json = await t.api.get(`/api/v1/chains/${chain.id}/export?format=json`).set(as(owner));
    expect(JSON.parse(json.text).nodes).toHaveLength(3);

    const imported = await t.api.post('/api/v1/chains/import?onConflict=rename').set(as(owner)).set('content-type', 'application/yaml').send(yaml.text);
    expect(imported.status).toBe(201);
    expect(imported.body.chain.slug).toBe('roundtrip-2');
    expect(imported.body.version.number).toBe(1);
    expect(imported.body.chain.activeVersion.number).toBe(1);

    const again = await t.api.post('/api/v1/chains/import?onConflict=rename').set(as(owner)).set('content-type', 'application/json').send(json.text);
    expect(again.body.chain.slug).toBe('roundtrip-3');
  });

  it('exports a published version by number', async () => {
    const chain = await createChain(owner, simpleGraph('export-version', 'Published text'));
    await t.api.post(`/api/v1/chains/${chain.id}/publish`).set(as(owner)).send({});
    await t.api.put(`/api/v1/chains/${chain.id}/draft`).set(as(owner)).send({ revision: 1, graph: simpleGraph('export-version', 'Draft text') });
    const res = await t.api.get(`/api/v1/chains/${chain.id}/export?format=json&version=1`).set(as(owner));
    expect(JSON.parse(res.text).nodes[1].data.prompt).toBe('Published text');
    expect(res.headers['content-disposition']).toContain('export-version-v1.json');
  });

  it('imports a multipart upload', async () => {
    const file = Buffer.from(JSON.stringify(simpleGraph('uploaded')));
    const res = await t.api.post('/api/v1/chains/import').set(as(owner)).attach('file', file, 'uploaded.json');
    expect(res.status).toBe(201);
    expect(res.body.chain.slug).toBe('uploaded');
    const versions = await t.api.get(`/api/v1/chains/${res.body.chain.id}/versions`).set(as(owner));
    expect(versions.body.items[0].note).toBe('imported from uploaded.json');
  });

  it('refuses an import whose slug exists with 409 unless renaming', async () => {
    const res = await t.api.post('/api/v1/chains/import').set(as(owner)).set('content-type', 'application/json').send(JSON.stringify(simpleGraph('uploaded')));
    expect(res.status).toBe(409);
    expect(res.body.message).toContain('onConflict=rename');
  });

  it('answers a bad file with 400 naming the line, storing nothing', async () => {
    const before = await snapshotDatabase(t.h);
    const res = await t.api.post('/api/v1/chains/import').set(as(owner)).set('content-type', 'text/yaml').send('slug: broken\nname: Broken\nnodes: [\n  { id: a,\n');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_file');
    expect(res.body.details.line).toBeGreaterThan(0);
    expect(await snapshotDatabase(t.h)).toEqual(before);
  });
});

describe('deleting chains', () => {
  it('refuses while sessions run, and with force terminates them first', async () => {
    const chain = await createChain(owner, simpleGraph('busy'));
    const sim = await t.api.post(`/api/v1/chains/${chain.id}/simulate/busy-1/messages`).set(as(owner)).send({ text: 'hi' });
    expect(sim.status).toBe(200);
    expect(sim.body.waitingAt).toBe('ask');
    await eventually(async () => ((await em().findOne(RunSchema, { id: sim.body.runId }))?.status === 'waiting' ? true : undefined), 'the run row');

    const refused = await t.api.delete(`/api/v1/chains/${chain.id}`).set(as(owner));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'sessions_running', details: { running: 1, runIds: [sim.body.runId] } });

    const forced = await t.api.delete(`/api/v1/chains/${chain.id}?force=true`).set(as(owner));
    expect(forced.status).toBe(204);
    const described = await t.h.client.workflow.getHandle(sim.body.runId).describe();
    expect(described.status.name).toBe('TERMINATED');
    expect(await em().count(ChainSchema, { id: chain.id })).toBe(0);
    expect(await em().count(RunSchema, { chainId: chain.id })).toBe(0);
    expect((await t.api.get(`/api/v1/chains/${chain.id}`).set(as(owner))).status).toBe(404);
  });

  it('refuses to delete a chain another chain calls as a sub-chain', async () => {
    const callee = await createChain(owner, simpleGraph('callee'));
    await t.api.post(`/api/v1/chains/${callee.id}/publish`).set(as(owner)).send({});
    await createChain(owner, {
      slug: 'caller',
      name: 'Caller',
      nodes: [
        { id: 'start', type: 'start', data: { trigger: { kind: 'any' } } },
        { id: 'call', type: 'subchain', data: { chainRef: 'callee' } },
      ],
      edges: [{ id: 'e', source: 'start', target: 'call' }],
    });
    const res = await t.api.delete(`/api/v1/chains/${callee.id}`).set(as(owner));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'chain_in_use', details: { callers: ['caller'] } });
  });
});

describe('sharing', () => {
  it('gives a viewer read access and an editor write access, and takes it back', async () => {
    const chain = await createChain(owner, simpleGraph('shared'));
    expect((await t.api.get(`/api/v1/chains/${chain.id}`).set(as(viewer))).status).toBe(404);

    const shared = await t.api.post(`/api/v1/chains/${chain.id}/grants`).set(as(owner)).send({ email: viewer.email, role: 'viewer' });
    expect(shared.status).toBe(200);
    expect(shared.body).toMatchObject({ userId: viewer.id, role: 'viewer', source: 'grant' });
    const seen = await t.api.get(`/api/v1/chains/${chain.id}`).set(as(viewer));
    expect(seen.body.role).toBe('viewer');
    const edit = await t.api.put(`/api/v1/chains/${chain.id}/draft`).set(as(viewer)).send({ revision: 1, graph: simpleGraph('shared') });
    expect(edit.status).toBe(403);
    expect(edit.body.message).toMatch(/editor role/);

    const editor = await createAccount(t.api, admin, 'editor', 'co-editor');
    await t.api.post(`/api/v1/chains/${chain.id}/grants`).set(as(owner)).send({ userId: editor.id, role: 'editor' });
    expect((await t.api.put(`/api/v1/chains/${chain.id}/draft`).set(as(editor)).send({ revision: 1, graph: simpleGraph('shared') })).status).toBe(200);
    expect((await t.api.post(`/api/v1/chains/${chain.id}/grants`).set(as(editor)).send({ userId: viewer.id, role: 'editor' })).status).toBe(403);

    const grants = await t.api.get(`/api/v1/chains/${chain.id}/grants`).set(as(viewer));
    expect(grants.body.items.map((g: { email: string; role: string; source: string }) => [g.email, g.role, g.source])).toEqual([
      [owner.email, 'owner', 'owner'],
      ...[
        [editor.email, 'editor', 'grant'],
        [viewer.email, 'viewer', 'grant'],
      ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    ]);

    expect((await t.api.delete(`/api/v1/chains/${chain.id}/grants/${viewer.id}`).set(as(owner))).status).toBe(204);
    expect((await t.api.get(`/api/v1/chains/${chain.id}`).set(as(viewer))).status).toBe(404);
    expect((await t.api.delete(`/api/v1/chains/${chain.id}/grants/${owner.id}`).set(as(owner))).status).toBe(409);
  });
});

describe('the simulator and web chat', () => {
  it('runs the draft, and restarts the session when the draft changed', async () => {
    const chain = await createChain(owner, simpleGraph('simulated', 'Draft one?'));
    const first = await t.api.post(`/api/v1/chains/${chain.id}/simulate/v1/messages`).set(as(owner)).send({ text: 'hi' });
    expect(first.status).toBe(200);
    expect(first.body.runId).toBe(`web:${chain.id}:sim-v1`);
    expect(first.body.replies.map((r: { text: string }) => r.text)).toEqual(['Draft one?']);
    expect(first.body.restarted).toBe(false);
    const draftVersion = await em().findOneOrFail(ChainVersionSchema, { id: first.body.versionId });
    expect(draftVersion.kind).toBe('draft');

    await t.api.put(`/api/v1/chains/${chain.id}/draft`).set(as(owner)).send({ revision: 1, graph: simpleGraph('simulated', 'Draft two?') });
    await eventually(async () => ((await em().findOne(RunSchema, { id: first.body.runId }))?.status === 'waiting' ? true : undefined), 'the run row');
    const second = await t.api.post(`/api/v1/chains/${chain.id}/simulate/v1/messages`).set(as(owner)).send({ text: 'hi again' });
    expect(second.body.restarted).toBe(true);
    expect(second.body.replies.map((r: { text: string }) => r.text)).toEqual(['Draft two?']);

    const transcript = await t.api.get(`/api/v1/chains/${chain.id}/simulate/v1/messages`).set(as(owner));
    expect(transcript.body.items.map((i: { direction: string }) => i.direction)).toContain('out');

    expect((await t.api.delete(`/api/v1/chains/${chain.id}/simulate/v1`).set(as(owner))).status).toBe(204);
    expect((await t.h.client.workflow.getHandle(first.body.runId).describe()).status.name).toBe('TERMINATED');
  });

  it('answers 422 when the draft does not compile', async () => {
    const graph = simpleGraph('sim-broken');
    graph.edges = [];
    const chain = await createChain(owner, { ...graph, nodes: [{ id: 'x', type: 'message', data: { text: 'no start' } }] });
    const res = await t.api.post(`/api/v1/chains/${chain.id}/simulate/v1/messages`).set(as(owner)).send({ text: 'hi' });
    expect(res.status).toBe(422);
    expect(res.body.details).toContainEqual(expect.objectContaining({ code: 'start_missing' }));
  });

  it("accepts an editor's token in web chat when web chat is disabled, and nobody else", async () => {
    const chain = await createChain(owner, simpleGraph('private-chat', 'Published question?'));
    await t.api.post(`/api/v1/chains/${chain.id}/publish`).set(as(owner)).send({});
    const anonymous = await t.api.post(`/api/v1/chat/${chain.id}/visitor-1/messages`).send({ text: 'hi' });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body.error).toBe('web_chat_disabled');
    const asViewer = await t.api.post(`/api/v1/chat/${chain.id}/visitor-1/messages`).set(as(viewer)).send({ text: 'hi' });
    expect(asViewer.status).toBe(403);
    const asOwner = await t.api.post(`/api/v1/chat/${chain.id}/visitor-1/messages`).set(as(owner)).send({ text: 'hi' });
    expect(asOwner.status).toBe(200);
    expect(asOwner.body.replies.map((r: { text: string }) => r.text)).toEqual(['Published question?']);
    const expired = await t.api.post(`/api/v1/chat/${chain.id}/visitor-1/messages`).set({ Authorization: 'Bearer expired.or.wrong' }).send({ text: 'hi' });
    expect(expired.status).toBe(401);
  });

  it("keeps public visitors out of the simulator's sessions", async () => {
    const chain = await createChain(owner, { ...simpleGraph('public-chat'), webChat: { enabled: true } });
    await t.api.post(`/api/v1/chains/${chain.id}/publish`).set(as(owner)).send({});
    const res = await t.api.post(`/api/v1/chat/${chain.id}/sim-v1/messages`).send({ text: 'hi' });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/^params\.visitorId: .*simulator/);
  });
});
