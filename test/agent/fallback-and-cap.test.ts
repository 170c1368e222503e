// The agent's fallback model (the primary fails: 5xx, unknown model, no answer at all)
// and the per-chain spend cap counted in PostgreSQL across sessions.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiServer, type LlmBehaviour, type OpenAiServer } from '../effects/support/servers.ts';
import { publishGraph, runEvents, send, startDialogueHarness, startSession, texts, type DialogueHarness } from '../support/dialogue.ts';
import { agentChain, providerCredential } from './support.ts';

let h: DialogueHarness;
let provider: OpenAiServer;
let credentialId: string;
beforeAll(async () => {
  h = await startDialogueHarness('agent-fallback', { httpAllow: ['127.0.0.1', '::1'] });
  provider = await startOpenAiServer();
  credentialId = await providerCredential(h, provider.baseUrl);
});
afterAll(async () => {
  await provider?.close();
  await h?.close();
});

describe('agent fallback model', () => {
  const failures: Array<[string, LlmBehaviour, { code: string; status?: number }]> = [
    ['answers 503', { kind: 'error', status: 503, message: 'The server is overloaded', type: 'server_error' }, { code: 'llm_server_error', status: 503 }],
    ['does not exist (vLLM 404)', { kind: 'error', status: 404, message: 'The model `test-model` does not exist.', type: 'NotFoundError' }, { code: 'llm_not_found', status: 404 }],
    ['is not a valid model ID (OpenRouter 400)', { kind: 'error', status: 400, message: 'test-model is not a valid model ID' }, { code: 'llm_not_found', status: 400 }],
    ['drops the connection', { kind: 'drop' }, { code: 'llm_network' }],
  ];
  it.each(failures)('answers with the fallback model when the primary %s, and the run events say which model served', async (_name, failure, expected) => {
    provider.script({ kind: 'dynamic', answer: (body) => (body.model === 'test-model' ? failure : { kind: 'reply', content: `served by ${String(body.model)}` }) });
    const before = provider.requests.length;
    const ids = await publishGraph(h.db, agentChain({ credentialId, fallbackModel: 'backup-model' }));
    const handle = await startSession(h.client, h.taskQueue, ids);
    expect(texts(await send(handle, 'hi'))).toEqual(['AI: served by backup-model']);
    expect(provider.requests.slice(before).map((r) => r.body.model)).toEqual(['test-model', 'backup-model']);
    const served = (await runEvents(h.db, handle.workflowId)).filter((e) => e.type === 'agent.llm.ok');
    expect(served).toHaveLength(1);
    expect(served[0]?.payload).toMatchObject({ model: 'backup-model', fallbackFrom: { model: 'test-model', ...expected } });
  });

  it('leaves through error naming the primary failure when there is no fallback model', async () => {
    provider.script({ kind: 'error', status: 404, message: 'The model `test-model` does not exist.', type: 'NotFoundError' });
    const ids = await publishGraph(h.db, agentChain({ credentialId }));
    const handle = await startSession(h.client, h.taskQueue, ids);
    expect(texts(await send(handle, 'hi'))).toEqual(['ERR: llm_not_found']);
  });
});

describe('agent per-chain spend cap', () => {
  it('stops the chain’s agents past the cap across sessions, leaving through error with agent_spend_cap', async () => {
    provider.script({ kind: 'reply', content: 'fine', usage: { prompt_tokens: 12, completion_tokens: 8 } });
    const capped = await publishGraph(h.db, agentChain({ credentialId, spendCapTokens: 30, spendCapPer: 'day' }));
    const other = await publishGraph(h.db, agentChain({ credentialId, spendCapTokens: 30, spendCapPer: 'month' }));
    const ask = async (ids: { chainId: string; versionId: string }) => {
      const handle = await startSession(h.client, h.taskQueue, ids);
      return { handle, replies: texts(await send(handle, 'hi')) };
    };
    // 20 tokens, then 40 (the second call started under the cap), then stopped.
    expect((await ask(capped)).replies).toEqual(['AI: fine']);
    expect((await ask(capped)).replies).toEqual(['AI: fine']);
    const before = provider.requests.length;
    const stopped = await ask(capped);
    expect(stopped.replies).toEqual(['ERR: agent_spend_cap']);
    expect(provider.requests.length).toBe(before);
    const error = (await runEvents(h.db, stopped.handle.workflowId)).find((e) => e.type === 'node.error');
    expect(String(error?.payload.message)).toMatch(/spent 40 tokens this day \(UTC\), at the chain's spend cap of 30 \(spendCapTokens of node 'ai'\).*Raise the cap/);
    // Counted per chain: another chain's agents still answer.
    expect((await ask(other)).replies).toEqual(['AI: fine']);
    const rows = await h.db.orm.em.getConnection().execute<{ chain_id: string; period: string; tokens: string }[]>(`select chain_id, period, tokens from agent_spend where chain_id in (?, ?) order by chain_id, period`, [capped.chainId, other.chainId]);
    expect(rows.filter((r) => r.chain_id === capped.chainId).map((r) => [r.period.slice(0, 1), Number(r.tokens)])).toEqual([['d', 40], ['m', 40]]);
    expect(rows.filter((r) => r.chain_id === other.chainId).map((r) => Number(r.tokens))).toEqual([20, 20]);
  });
});
