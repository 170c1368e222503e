// Shared pieces of the agent tests: a provider credential for the loopback OpenAI wire
// server, and a chain around one agent node.

import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { createCredential } from '../../db/credential-store.ts';
import type { DialogueHarness } from '../support/dialogue.ts';

export async function providerCredential(h: Pick<DialogueHarness, 'db' | 'secretBox'>, baseUrl: string, stream = false): Promise<string> {
  const cred = await createCredential(h.db.orm.em.fork(), h.secretBox, { name: `agent_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`, kind: 'openai', value: 'sk-agent-test-key-123', meta: { baseUrl, stream } });
  return cred.id;
}

/** start(any) → agent → message 'AI: {{ session.answer }}'; error → 'ERR: code'; max_iterations → 'MAX'. */
export function agentChain(config: Record<string, unknown>) {
  return createChain({
    slug: 'agent',
    nodes: [
      createNode('start', 'start', { trigger: { kind: 'any' } }),
      createNode('ai', 'agent', { model: 'test-model', variable: 'session.answer', ...config }),
      createNode('ok', 'message', { text: 'AI: {{ session.answer }}' }),
      createNode('err', 'message', { text: 'ERR: {{ session.error.code }}' }),
      createNode('max', 'message', { text: 'MAX' }),
    ],
    edges: [createEdge('start', 'ai'), createEdge('ai', 'ok', 'ok'), createEdge('ai', 'err', 'error'), createEdge('ai', 'max', 'max_iterations')],
  });
}

/** The tool messages the model got in one request. */
export function toolMessages(body: Record<string, unknown>): Array<{ tool_call_id: string; content: string }> {
  return ((body.messages as Array<{ role: string; tool_call_id: string; content: string }>) ?? []).filter((m) => m.role === 'tool');
}
