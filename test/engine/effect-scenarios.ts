import { expect } from 'vitest';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { createCredential } from '../../db/credential-store.ts';
import { idempotencyKey } from '../../activities/effects.ts';
import { json, startOpenAiServer, startTestServer } from '../effects/support/servers.ts';
import { publishGraph, runEvents, send, startSession, texts, type DialogueHarness } from '../support/dialogue.ts';

const any = () => createNode('start', 'start', { trigger: { kind: 'any' } });
const say = (id: string, text: string) => createNode(id, 'message', { text });

/**
 * Scenarios of the effect nodes (http, llm, code) through the whole workflow, against
 * loopback servers speaking the real protocols. The harness must allow 127.0.0.1/::1
 * for the HTTP node (the SSRF guard blocks loopback otherwise).
 */
export function effectScenarios(harness: () => DialogueHarness): Record<'http' | 'llm' | 'code' | 'agent', () => Promise<void>> {
  const session = async (nodes: ReturnType<typeof createNode>[], edges: ReturnType<typeof createEdge>[]) => {
    const h = harness();
    const ids = await publishGraph(h.db, createChain({ slug: 'effects', nodes, edges }));
    return startSession(h.client, h.taskQueue, ids);
  };

  return {
    async http() {
      const server = await startTestServer();
      try {
        server.route('/orders/42', (req, res) => json(res, 200, { order: { id: 42, status: 'paid' }, echo: req.headers['x-user'] }));
        server.route('/broken', (_req, res) => json(res, 404, { error: 'nope' }));
        const nodes = (path: string) => [
          any(),
          createNode('call', 'http', {
            url: `${server.origin}${path}`,
            headers: [{ name: 'x-user', value: '{{ message.text }}' }],
            responseMapping: [{ variable: 'session.status', path: '$.order.status' }],
          }),
          say('ok', 'Order is {{ session.status }}'),
          say('err', 'Failed: {{ session.error.code }} {{ session.error.status }}'),
        ];
        const edges = [createEdge('start', 'call'), createEdge('call', 'ok', 'ok'), createEdge('call', 'err', 'error')];
        const handle = await session(nodes('/orders/42'), edges);
        expect(texts(await send(handle, 'ann'))).toEqual(['Order is paid']);
        expect(server.requests.at(-1)?.headers['x-user']).toBe('ann');
        // Robustness row 8: the key comes from workflow id, run, node id and the session's event sequence.
        const key = server.requests.at(-1)?.headers['idempotency-key'];
        const { runId } = await handle.describe();
        const seqs = Array.from({ length: 100 }, (_, seq) => seq).filter((seq) => idempotencyKey({ runId: handle.workflowId, nodeId: 'call', seq }, runId) === key);
        expect(seqs).toHaveLength(1);
        expect(texts(await send(await session(nodes('/broken'), edges), 'ann'))).toEqual(['Failed: http_status 404']);
      } finally {
        await server.close();
      }
    },

    async llm() {
      const h = harness();
      const provider = await startOpenAiServer();
      try {
        const cred = await createCredential(h.db.orm.em.fork(), h.secretBox, { name: `llm_${Date.now()}`, kind: 'openai', value: 'sk-test-key-123', meta: { baseUrl: provider.baseUrl } });
        const nodes = [
          any(),
          createNode('ai', 'llm', { credentialId: cred.id, model: 'test-model', system: 'Be brief', prompt: 'Say hi to {{ message.text }}', variable: 'session.answer' }),
          say('ok', 'AI: {{ session.answer }}'),
          say('err', 'AI failed: {{ session.error.code }}'),
        ];
        const edges = [createEdge('start', 'ai'), createEdge('ai', 'ok', 'ok'), createEdge('ai', 'err', 'error')];
        provider.script({ kind: 'reply', content: 'Hello, Ann!' });
        const handle = await session(nodes, edges);
        expect(texts(await send(handle, 'Ann'))).toEqual(['AI: Hello, Ann!']);
        expect(provider.requests.at(-1)?.body).toMatchObject({ model: 'test-model', messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Say hi to Ann' }] });
        provider.script({ kind: 'error', status: 401, message: 'bad key' });
        expect(texts(await send(await session(nodes, edges), 'Bob'))).toEqual([expect.stringMatching(/^AI failed: /)]);
        const events = await runEvents(h.db, handle.workflowId);
        expect(JSON.stringify(events)).not.toContain('sk-test-key-123');
      } finally {
        await provider.close();
      }
    },

    async agent() {
      // The agent's tools, approvals and memory: test/agent/. Here its ports 'ok' and 'error'.
      const h = harness();
      const provider = await startOpenAiServer();
      try {
        const cred = await createCredential(h.db.orm.em.fork(), h.secretBox, { name: `agent_${Date.now()}`, kind: 'openai', value: 'sk-test-key-456', meta: { baseUrl: provider.baseUrl } });
        const nodes = [any(), createNode('ai', 'agent', { credentialId: cred.id, model: 'test-model', variable: 'session.answer' }), say('ok', 'AI: {{ session.answer }}'), say('err', 'AI failed: {{ session.error.code }}')];
        const edges = [createEdge('start', 'ai'), createEdge('ai', 'ok', 'ok'), createEdge('ai', 'err', 'error')];
        provider.script({ kind: 'reply', content: 'Done.' });
        expect(texts(await send(await session(nodes, edges), 'go'))).toEqual(['AI: Done.']);
        provider.script({ kind: 'error', status: 401, message: 'bad key' });
        expect(texts(await send(await session(nodes, edges), 'go'))).toEqual(['AI failed: llm_unauthorized']);
      } finally {
        await provider.close();
      }
    },

    async code() {
      const nodes = (source: string) => [
        any(),
        createNode('js', 'code', { source, variable: 'session.result' }),
        say('ok', 'Result {{ session.result }}'),
        say('err', 'Code failed: {{ session.error.code }}'),
      ];
      const edges = [createEdge('start', 'js'), createEdge('js', 'ok', 'ok'), createEdge('js', 'err', 'error')];
      expect(texts(await send(await session(nodes('function main(message) { return message.text.length * 2; }'), edges), 'abcd'))).toEqual(['Result 8']);
      expect(texts(await send(await session(nodes('function main() { throw new Error("boom"); }'), edges), 'x'))).toEqual(['Code failed: code_error']);
    },
  };
}
