import { describe, expect, it } from 'vitest';
import { compileChain } from './compile/index.ts';
import type { ChainIR } from './ir.ts';
import { mapNode } from './node-map.ts';
import { createChain, createEdge, createNode } from './testing.ts';

function compiled(nodes: ReturnType<typeof createNode>[], edges: ReturnType<typeof createEdge>[]): ChainIR {
  const result = compileChain(createChain({ nodes, edges }));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.ir;
}

const start = () => createNode('start', 'start', { trigger: { kind: 'command', command: '/start' } });
const v1 = compiled([start(), createNode('ask', 'ask', { prompt: 'Name?', variable: 'session.name' }), createNode('bye', 'message', { text: 'Bye' })], [createEdge('start', 'ask'), createEdge('ask', 'bye')]);
const v2 = compiled(
  [start(), createNode('ask_name', 'ask', { prompt: 'Your name?', variable: 'session.name' }), createNode('ask', 'message', { text: 'Now a message' })],
  [createEdge('start', 'ask_name'), createEdge('ask_name', 'ask')],
);

describe('node mapping of an upgrade', () => {
  it('keeps an unmapped id when the new version has it with the same type', () => {
    expect(mapNode(v1, v2, {}, 'start')).toEqual({ ok: true, target: 'start' });
  });

  it('follows the node map to a node of the same type', () => {
    expect(mapNode(v1, v2, { ask: 'ask_name' }, 'ask')).toEqual({ ok: true, target: 'ask_name' });
  });

  it('refuses a target of another type, naming both types', () => {
    expect(mapNode(v1, v2, {}, 'ask')).toEqual({ ok: false, target: 'ask', problem: 'type_changed', fromType: 'ask', toType: 'message' });
  });

  it('refuses a target the new version lacks', () => {
    expect(mapNode(v1, v2, {}, 'bye')).toEqual({ ok: false, target: 'bye', problem: 'missing' });
    expect(mapNode(v1, v2, { ask: 'nowhere' }, 'ask')).toEqual({ ok: false, target: 'nowhere', problem: 'missing' });
  });

  it('lets an id the old version does not know map to a node of any type', () => {
    expect(mapNode(v1, v2, { ghost: 'ask' }, 'ghost')).toEqual({ ok: true, target: 'ask' });
  });
});
