import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphSchema } from '../../chain/index.ts';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { importChain, publishChain } from '../../api/services/chain-service.ts';
import { stateQuery, upgradeSignal } from '../../temporal/contracts.ts';
import { runEvents, send, startDialogueHarness, startSession, texts, type DialogueHarness } from '../support/dialogue.ts';
import { eventually } from '../support/stack.ts';

let h: DialogueHarness;
let ids: { chainId: string; v1: string; v2: string };

const v1 = createChain({
  slug: 'upgrade-me',
  nodes: [createNode('start', 'start', { trigger: { kind: 'any' } }), createNode('q1', 'ask', { prompt: 'Name?', variable: 'session.name' }), createNode('m1', 'message', { text: 'v1: hi {{ session.name }}' })],
  edges: [createEdge('start', 'q1'), createEdge('q1', 'm1')],
});
const v2 = createChain({
  slug: 'upgrade-me',
  nodes: [createNode('start', 'start', { trigger: { kind: 'any' } }), createNode('q_name', 'ask', { prompt: 'Your name, please?', variable: 'session.name' }), createNode('m2', 'message', { text: 'v2: hello {{ session.name }}' })],
  edges: [createEdge('start', 'q_name'), createEdge('q_name', 'm2')],
});

beforeAll(async () => {
  h = await startDialogueHarness('upgrade');
  const em = h.db.orm.em.fork();
  const { chain, version } = await importChain(em, graphSchema.parse(v1));
  chain.draftGraph = graphSchema.parse(v2) as unknown as Record<string, unknown>;
  const second = await publishChain(em, chain);
  ids = { chainId: chain.id, v1: version.id, v2: second.id };
});
afterAll(async () => h?.close());

describe('upgrading live sessions to another version', () => {
  it('moves a waiting session to the new version through the node map', async () => {
    const handle = await startSession(h.client, h.taskQueue, { chainId: ids.chainId, versionId: ids.v1 });
    expect(texts(await send(handle, 'hi'))).toEqual(['Name?']);
    await handle.signal(upgradeSignal, { versionId: ids.v2, nodeMap: { q1: 'q_name' } });
    const upgraded = await eventually(async () => {
      const view = await handle.query(stateQuery);
      return view.versionId === ids.v2 ? view : undefined;
    }, 'the upgrade');
    expect(upgraded).toMatchObject({ versionNumber: 2, currentNode: 'q_name', wait: { kind: 'reply', nodeId: 'q_name' } });
    expect(texts(await send(handle, 'Ann'))).toEqual(['v2: hello Ann']);
    const events = await runEvents(h.db, handle.workflowId);
    expect(events.find((e) => e.type === 'session.upgraded')?.payload).toMatchObject({ from: ids.v1, to: ids.v2, versionNumber: 2, node: 'q_name' });
  });

  it('refuses a node map that leaves the waiting node without a counterpart, and stays on its version', async () => {
    const handle = await startSession(h.client, h.taskQueue, { chainId: ids.chainId, versionId: ids.v1 });
    await send(handle, 'hi');
    await handle.signal(upgradeSignal, { versionId: ids.v2, nodeMap: {} });
    const events = await eventually(async () => {
      const all = await runEvents(h.db, handle.workflowId);
      return all.some((e) => e.type === 'session.upgrade_rejected') ? all : undefined;
    }, 'the refusal');
    expect(String(events.find((e) => e.type === 'session.upgrade_rejected')?.payload.reason)).toContain('"q1"');
    expect((await handle.query(stateQuery)).versionId).toBe(ids.v1);
    expect(texts(await send(handle, 'Bob'))).toEqual(['v1: hi Bob']);
  });
});
