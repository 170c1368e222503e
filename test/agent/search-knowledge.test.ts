// Issue 18, the agent's search_knowledge tool: a scripted model (the loopback OpenAI wire
// server) calls it, gets the numbered citations of a base ingested from the pdf fixture
// (loopback embeddings server, real ingestion workflow) and answers from them; a base the
// chain's publisher may not open comes back as a tool error, not a failed session.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { createLogger } from '../../lib/logger.ts';
import { bearer, createAccount, registerAdmin, startApi, type Account, type ApiHarness } from '../api/support/api.ts';
import { startOpenAiServer, type OpenAiServer } from '../effects/support/servers.ts';
import { startEmbeddingsServer, type EmbeddingsServer } from '../knowledge/embeddings-server.ts';
import { publishGraph, runEvents, send, startSession, texts } from '../support/dialogue.ts';
import { ingestFixture } from '../knowledge/ingest.ts';
import { agentChain, providerCredential, toolMessages } from './support.ts';

const API_KEY = 'sk-test-embeddings-agent-0123456789';
let t: ApiHarness;
let admin: Account;
let embeddings: EmbeddingsServer;
let provider: OpenAiServer;
let baseId: string;

const searchTool = (extra: Record<string, unknown> = {}) => ({ kind: 'search_knowledge', name: 'search_docs', description: 'Searches the shop’s documents', baseId, limit: 2, ...extra });

/** The model: calls search_docs, then answers with the first passage it got (or the tool's error). */
function scriptSearch(query: string) {
  provider.script(
    { kind: 'tools', calls: [{ id: 'k1', name: 'search_docs', arguments: { query } }] },
    {
      kind: 'dynamic',
      answer: (body) => {
        const result = toolMessages(body)[0]?.content ?? '';
        const passage = /\[1\] [^\n]+\n([^\n]+)/.exec(result)?.[1];
        return { kind: 'reply', content: passage ? `From [1]: ${passage.slice(0, 200)}` : `No answer (${/error [a-z_]+/.exec(result)?.[0] ?? 'nothing'})` };
      },
    },
  );
}

beforeAll(async () => {
  embeddings = await startEmbeddingsServer(API_KEY);
  provider = await startOpenAiServer();
  t = await startApi('agent-knowledge', { logger: createLogger('error', 'test'), httpAllow: ['127.0.0.1/32'], deps: { httpAllowPrivate: ['127.0.0.1/32'] } });
  admin = await registerAdmin(t.api);
  const credential = await t.api.post('/api/v1/credentials').set(bearer(admin.token)).send({ name: 'embeddings_agent', kind: 'openai', value: API_KEY, meta: { baseUrl: embeddings.baseUrl } });
  expect(credential.status, credential.text).toBe(201);
  const base = await t.api.post('/api/v1/knowledge-bases').set(bearer(admin.token)).send({ name: 'Shop (agent)', credentialId: 'embeddings_agent', model: 'test-embed' });
  expect(base.status, base.text).toBe(201);
  baseId = base.body.id;
  await ingestFixture(t, admin.token, baseId, 'price-list.pdf', 'application/pdf');
}, 90_000);

afterAll(async () => {
  await t?.close();
  await provider?.close();
  await embeddings?.close();
});

describe('agent search_knowledge tool', () => {
  it('searches the base and answers from the cited passage', async () => {
    const credentialId = await providerCredential(t.h, provider.baseUrl);
    const ids = await publishGraph(t.h.db, agentChain({ credentialId, tools: [searchTool()] }));
    scriptSearch('Сколько стоит доставка по Москве?');
    const before = provider.requests.length;
    const handle = await startSession(t.h.client, t.h.taskQueue, ids);
    const reply = texts(await send(handle, 'Сколько стоит доставка?'));
    expect(reply).toHaveLength(1);
    expect(reply[0]).toMatch(/^AI: From \[1\]: .*МКАД стоит 350 рублей/);
    const requests = provider.requests.slice(before);
    expect(requests).toHaveLength(2);
    const tool = (requests[0]?.body.tools as Array<{ function: { name: string; parameters: unknown } }>).find((x) => x.function.name === 'search_docs');
    expect(tool?.function.parameters).toEqual({ type: 'object', properties: { query: { type: 'string', minLength: 1, maxLength: 2000 } }, required: ['query'], additionalProperties: false });
    const result = toolMessages(requests[1]?.body ?? {})[0]?.content ?? '';
    expect(result).toMatch(/^<tool_result name="search_docs">\n\[1\] price-list\.pdf \(chunk \d+\)\n/);
    expect(result).toMatch(/\n\n\[2\] /);
    expect(result).not.toMatch(/\[3\] /);
    const events = await runEvents(t.h.db, handle.workflowId);
    expect(events.find((e) => e.type === 'agent.tool')?.payload).toEqual({ callId: 'k1', tool: 'search_docs', kind: 'search_knowledge', ok: true, found: 2 });
  });

  it("gives the model a tool error when the base is no longer shared with the chain's publisher", async () => {
    const editor = await createAccount(t.api, admin, 'editor', 'agent-kb-editor');
    const own = await t.api.post('/api/v1/credentials').set(bearer(editor.token)).send({ name: `agent_llm_${Date.now()}`, kind: 'openai', value: 'sk-agent-editor-key-123', meta: { baseUrl: provider.baseUrl } });
    expect(own.status, own.text).toBe(201);
    const graph = agentChain({ credentialId: own.body.id, tools: [searchTool()] });
    const importAs = () => t.api.post('/api/v1/chains/import').set(bearer(editor.token)).set('content-type', 'application/yaml').send(toYaml({ ...graph, slug: `agent-kb-${Date.now()}` }));
    // Publishing is refused while the editor cannot open the base...
    const refused = await importAs();
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(refused.body)).toContain("Node 'ai', field 'tools.0.baseId': no knowledge base");
    // ...allowed once it is shared; then the share is taken back.
    expect((await t.api.post(`/api/v1/knowledge-bases/${baseId}/grants`).set(bearer(admin.token)).send({ userId: editor.id, role: 'viewer' })).status).toBe(200);
    const imported = await importAs();
    expect(imported.status, imported.text).toBe(201);
    expect((await t.api.delete(`/api/v1/knowledge-bases/${baseId}/grants/${editor.id}`).set(bearer(admin.token))).status).toBeLessThan(300);
    scriptSearch('доставка по Москве');
    const handle = await startSession(t.h.client, t.h.taskQueue, { chainId: imported.body.chain.id, versionId: imported.body.version.id });
    expect(texts(await send(handle, 'доставка?'))).toEqual(['AI: No answer (error knowledge_base_forbidden)']);
    const events = await runEvents(t.h.db, handle.workflowId);
    expect(events.find((e) => e.type === 'agent.tool')?.payload).toMatchObject({ kind: 'search_knowledge', ok: false, found: 0 });
  });
});
