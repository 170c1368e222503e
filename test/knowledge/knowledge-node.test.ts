// Issue 18, in chains: the knowledge node on the real stack. Chains published through the
// API (so the node carries its version and the search checks that version's publisher)
// search a base ingested from the pdf fixture, with the loopback embeddings server, and
// leave through 'ok' (the citations in the reply), 'empty' and 'error'.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { createLogger } from '../../lib/logger.ts';
import { bearer, createAccount, registerAdmin, startApi, type Account, type ApiHarness } from '../api/support/api.ts';
import { eventually } from '../support/stack.ts';
import { ingestFixture } from './ingest.ts';
import { startEmbeddingsServer, type EmbeddingsServer } from './embeddings-server.ts';

const API_KEY = 'sk-test-embeddings_node-0123456789';
let t: ApiHarness;
let admin: Account;
let editor: Account;
let server: EmbeddingsServer;
let shop: string;
let empty: string;
let slug = 0;

async function createBase(name: string): Promise<string> {
  const base = await t.api.post('/api/v1/knowledge-bases').set(bearer(admin.token)).send({ name, credentialId: 'embeddings_node', model: 'test-embed' });
  expect(base.status, base.text).toBe(201);
  return base.body.id as string;
}

/** Imports (and so publishes) start(api) → knowledge → ok / empty / error replies, as `who`. */
async function publish(who: Account, baseId: string): Promise<string> {
  const graph = {
    slug: `kb-node-${++slug}`,
    name: 'Knowledge node',
    nodes: [
      { id: 'start', type: 'start', data: { trigger: { kind: 'api' } } },
      { id: 'kb', type: 'knowledge', data: { baseId, query: '{{ run.q }}', limit: 2, variable: 'session.kb' } },
      { id: 'found', type: 'message', data: { text: 'Found: {{ session.kb.text }}' } },
      { id: 'none', type: 'message', data: { text: 'Nothing found for {{ session.kb.query }}' } },
      { id: 'err', type: 'message', data: { text: 'ERR {{ session.error.code }}: {{ session.error.message }}' } },
    ],
    edges: [
      { id: 'e1', source: 'start', sourcePort: 'next', target: 'kb' },
      { id: 'e2', source: 'kb', sourcePort: 'ok', target: 'found' },
      { id: 'e3', source: 'kb', sourcePort: 'empty', target: 'none' },
      { id: 'e4', source: 'kb', sourcePort: 'error', target: 'err' },
    ],
  };
  const imported = await t.api.post('/api/v1/chains/import').set(bearer(who.token)).set('content-type', 'application/yaml').send(toYaml(graph));
  expect(imported.status, imported.text).toBe(201);
  return imported.body.chain.slug as string;
}

/** Starts a run with `run.q`, waits for its reply; returns it and the run's variables. */
async function ask(who: Account, chain: string, q: string): Promise<{ reply: string; session: Record<string, unknown> }> {
  const started = await t.api.post('/api/v1/runs').set(bearer(who.token)).send({ chain, input: { q } });
  expect(started.status, started.text).toBe(201);
  const reply = await eventually(async () => {
    const res = await t.api.get(`/api/v1/runs/${encodeURIComponent(started.body.id)}/events?limit=500`).set(bearer(who.token));
    const out = (res.body.items as { type: string; payload: { text?: string } }[]).find((e) => e.type === 'message.out');
    return out ? String(out.payload.text) : undefined;
  }, 'the reply');
  const run = await t.api.get(`/api/v1/runs/${encodeURIComponent(started.body.id)}`).set(bearer(who.token));
  return { reply, session: (run.body.state?.variables?.session ?? {}) as Record<string, unknown> };
}

beforeAll(async () => {
  server = await startEmbeddingsServer(API_KEY);
  t = await startApi('knowledge-node', { logger: createLogger('error', 'test'), httpAllow: ['127.0.0.1/32'], deps: { httpAllowPrivate: ['127.0.0.1/32'] } });
  admin = await registerAdmin(t.api);
  editor = await createAccount(t.api, admin, 'editor', 'kb-node-editor');
  const credential = await t.api.post('/api/v1/credentials').set(bearer(admin.token)).send({ name: 'embeddings_node', kind: 'openai', value: API_KEY, meta: { baseUrl: server.baseUrl } });
  expect(credential.status, credential.text).toBe(201);
  shop = await createBase('Shop (node)');
  empty = await createBase('Empty (node)');
  await ingestFixture(t, admin.token, shop, 'price-list.pdf', 'application/pdf');
}, 90_000);

afterAll(async () => {
  await t?.close();
  await server?.close();
});

describe('knowledge node', () => {
  it("leaves through 'ok' with the best passages and their citations in the variable", async () => {
    const chain = await publish(admin, shop);
    const { reply, session } = await ask(admin, chain, 'Сколько стоит доставка по Москве?');
    expect(reply).toMatch(/^Found: \[1\] price-list\.pdf \(chunk \d+\)\n/);
    expect(reply).toMatch(/МКАД стоит 350 рублей/);
    const kb = session.kb as { query: string; citations: Array<Record<string, unknown>> };
    expect(kb.query).toBe('Сколько стоит доставка по Москве?');
    expect(kb.citations).toHaveLength(2);
    expect(kb.citations[0]).toMatchObject({ n: 1, document: 'price-list.pdf', documentId: expect.any(String), chunkId: expect.stringMatching(/^[0-9a-f]{64}$/), text: expect.stringMatching(/МКАД/), score: expect.any(Number) });
  });

  it("leaves through 'empty' when nothing matched", async () => {
    const chain = await publish(admin, empty);
    const { reply, session } = await ask(admin, chain, 'when is the Kazan store open');
    expect(reply).toBe('Nothing found for when is the Kazan store open');
    expect(session.kb).toEqual({ query: 'when is the Kazan store open', text: '', citations: [] });
  });

  it('refuses to publish a chain searching a base its publisher cannot open, naming the node and the field', async () => {
    for (const [who, baseId] of [[editor, shop], [admin, '00000000-0000-4000-8000-000000000000']] as const) {
      const graph = { slug: `kb-refused-${++slug}`, name: 'Refused', nodes: [{ id: 'start', type: 'start', data: { trigger: { kind: 'api' } } }, { id: 'kb', type: 'knowledge', data: { baseId, variable: 'session.kb' } }], edges: [{ id: 'e1', source: 'start', sourcePort: 'next', target: 'kb' }] };
      const res = await t.api.post('/api/v1/chains/import').set(bearer(who.token)).set('content-type', 'application/yaml').send(toYaml(graph));
      expect(res.status, res.text).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(JSON.stringify(res.body)).toContain('knowledge_base_unknown');
      expect(JSON.stringify(res.body)).toContain(`Node 'kb', field 'baseId': no knowledge base '${baseId}' you can open`);
    }
  });

  it("leaves through 'error' once the base is no longer shared with the chain's publisher, or is deleted", async () => {
    const grant = await t.api.post(`/api/v1/knowledge-bases/${shop}/grants`).set(bearer(admin.token)).send({ userId: editor.id, role: 'viewer' });
    expect(grant.status, grant.text).toBe(200);
    const chain = await publish(editor, shop);
    expect((await ask(editor, chain, 'доставка по Москве')).reply).toMatch(/МКАД стоит 350 рублей/);
    const revoked = await t.api.delete(`/api/v1/knowledge-bases/${shop}/grants/${editor.id}`).set(bearer(admin.token));
    expect(revoked.status, revoked.text).toBeLessThan(300);
    const denied = await ask(editor, chain, 'доставка по Москве');
    expect(denied.reply).toMatch(/^ERR knowledge_base_forbidden: Knowledge base 'Shop \(node\)' is not shared with the user who published this chain version; share it with them/);
    const doomed = await createBase('Doomed (node)');
    const orphan = await publish(admin, doomed);
    expect((await t.api.delete(`/api/v1/knowledge-bases/${doomed}`).set(bearer(admin.token))).status).toBeLessThan(300);
    expect((await ask(admin, orphan, 'x')).reply).toMatch(new RegExp(`^ERR knowledge_base_missing: Knowledge base '${doomed}' does not exist`));
  });
});
