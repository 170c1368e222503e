import { describe, expect, it } from 'vitest';
import { compileChain } from './compile/index.ts';
import { greetingGraph } from './examples.ts';
import type { Graph, GraphEdge, GraphNode } from './graph.ts';
import { hashIr, type ChainIR } from './ir.ts';
import { createChain, createEdge, createNode } from './testing.ts';

function compiled(graph: unknown, options?: Parameters<typeof compileChain>[1]): ChainIR {
  const result = compileChain(graph, options);
  if (!result.ok) throw new Error(result.errors.map((error) => `${error.message} — ${error.fix}`).join('\n'));
  return result.ir;
}

/** The same content with every object's keys reversed, arrays of nodes reversed, positions moved. */
function reshuffled(graph: Graph): unknown {
  const reverseKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reverseKeys);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(Object.entries(value).reverse().map(([key, item]) => [key, reverseKeys(item)]));
  };
  const nodes = [...graph.nodes].reverse().map((node, i) => ({ ...node, position: { x: i * 37, y: -i * 11 }, label: `moved ${i}` }));
  return reverseKeys({ ...graph, name: 'Renamed', nodes });
}

describe('the greeting example', () => {
  const result = compileChain(greetingGraph);

  it('compiles without errors or warnings', () => {
    expect(result.ok ? result.warnings : result.errors).toEqual([]);
  });

  it('enters on /start and on any message', () => {
    expect(result.ok && result.ir.entries).toEqual({ any: 'start_any', 'command:start': 'start_command' });
  });

  it('resolves the ask node ports, with a timeout port because a timeout is set', () => {
    const node = result.ok ? result.ir.nodes['ask_name'] : undefined;
    expect(node?.next).toEqual({
      next: [{ id: 'e_answer', target: 'same_as_profile' }],
      invalid: [{ id: 'e_invalid', target: 'no_name' }],
      timeout: [{ id: 'e_timeout', target: 'no_answer' }],
    });
  });
});

describe('the IR', () => {
  it('applies config defaults and normalises commands', () => {
    const ir = compiled(
      createChain({
        nodes: [createNode('start', 'start', { trigger: { kind: 'command', command: '/Help@MyBot' } }), createNode('q', 'ask', { prompt: 'Age?', variable: 'session.age' })],
        edges: [createEdge('start', 'q')],
      }),
    );
    expect(ir.entries).toEqual({ 'command:help': 'start' });
    expect(ir.nodes['start']?.config).toEqual({ trigger: { kind: 'command', command: 'help' } });
    expect(ir.nodes['q']?.config).toEqual({ prompt: 'Age?', format: 'plain', variable: 'session.age', validator: { kind: 'none' }, retries: 2 });
    expect(ir.nodes['q']?.next).toEqual({ next: [], invalid: [] });
  });

  it('orders edges by priority, keeps graph order on ties and drops empty rules', () => {
    const textIs = (value: string) => ({ condition: 'AND' as const, rules: [{ field: 'message.text', operator: 'equals', value }] });
    const ir = compiled(
      createChain({
        nodes: [
          createNode('start', 'start', { trigger: { kind: 'any' } }),
          createNode('q', 'ask', { prompt: '?', variable: 'session.x' }),
          ...['a', 'b', 'c', 'd'].map((id) => createNode(id, 'message', { text: id })),
        ],
        edges: [
          createEdge('start', 'q'),
          createEdge('q', 'd', 'next', { priority: 10, rules: { rules: [] } }),
          createEdge('q', 'b', 'next', { rules: textIs('b') }),
          createEdge('q', 'c', 'next', { rules: textIs('c') }),
          createEdge('q', 'a', 'next', { priority: -1, rules: textIs('a') }),
        ],
      }),
    );
    const edges = ir.nodes['q']?.next['next'] ?? [];
    expect(edges.map((edge) => edge.target)).toEqual(['a', 'b', 'c', 'd']);
    expect(edges[3]).toEqual({ id: 'q-next-d', target: 'd' });
  });

  it('survives a JSON round trip unchanged', () => {
    const ir = compiled(greetingGraph);
    expect(JSON.parse(JSON.stringify(ir))).toEqual(ir);
  });

  it('pins the version of a called sub-chain', () => {
    const billing = compiled(createChain({ slug: 'billing', nodes: [createNode('s', 'start', { trigger: { kind: 'api' } }), createNode('m', 'message', { text: 'Paid' })], edges: [createEdge('s', 'm')] }));
    const ir = compiled(
      createChain({ nodes: [createNode('start', 'start', { trigger: { kind: 'any' } }), createNode('call', 'subchain', { chainRef: 'billing' })], edges: [createEdge('start', 'call')] }),
      { subchains: { billing: { ir: billing, versionId: 'ver_42' } } },
    );
    expect(ir.nodes['call']?.config).toEqual({ chainRef: 'billing', versionId: 'ver_42', inputs: [], outputs: [] });
  });
});

describe('the IR hash', () => {
  const base = compiled(greetingGraph);

  it('is the hash of the content', () => {
    expect(base.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashIr(base)).toBe(base.hash);
  });

  it('is the hash of the content with node ids that look like array indexes and object defaults', () => {
    const ir = compiled(
      createChain({
        variables: [{ name: 'session.cfg', type: 'json', default: { z: 1, 10: [{ b: 2, a: 1 }] } }],
        nodes: [createNode('10', 'start', { trigger: { kind: 'any' } }), createNode('2', 'message', { text: 'Hi' }), createNode('a', 'message', { text: 'Bye' })],
        edges: [createEdge('10', '2'), createEdge('2', 'a')],
      }),
    );
    expect(hashIr(ir)).toBe(ir.hash);
    expect(hashIr(compiled(greetingGraph))).toBe(base.hash);
  });

  it('ignores key order, node order, positions, labels and the chain name', () => {
    expect(compiled(reshuffled(greetingGraph)).hash).toBe(base.hash);
  });

  it.each<[string, (graph: Graph) => Graph]>([
    ['a changed text', (graph) => ({ ...graph, nodes: graph.nodes.map((node) => (node.id === 'reply_same' ? { ...node, data: { ...node.data, text: 'Hello, {{ user.name }}!' } } : node)) })],
    ['a retargeted edge', (graph) => ({ ...graph, edges: graph.edges.map((edge): GraphEdge => (edge.id === 'e_invalid' ? { ...edge, target: 'no_answer' } : edge)) })],
    ['a new language', (graph) => ({ ...graph, languages: ['en', 'ru', 'de'] })],
    ['a different slug', (graph) => ({ ...graph, slug: 'greeting-2' })],
  ])('changes with %s', (_name, change) => {
    expect(compiled(change(greetingGraph)).hash).not.toBe(base.hash);
  });
});

describe('the IR hash and edge order', () => {
  it('changes when the edges of one port are tried in another order', () => {
    const withVip = (answerPriority: number): Graph => ({
      ...greetingGraph,
      edges: [
        ...greetingGraph.edges.map((edge): GraphEdge => (edge.id === 'e_answer' ? { ...edge, priority: answerPriority } : edge)),
        { id: 'e_vip', source: 'ask_name', sourcePort: 'next', target: 'reply_same', rules: { condition: 'AND', rules: [{ field: 'user.name', operator: 'equals', value: 'VIP' }] } },
      ],
    });
    const vipFirst = compiled(withVip(1));
    const answerFirst = compiled(withVip(-1));
    expect(vipFirst.nodes['ask_name']?.next['next']?.map((edge) => edge.id)).toEqual(['e_vip', 'e_answer']);
    expect(answerFirst.nodes['ask_name']?.next['next']?.map((edge) => edge.id)).toEqual(['e_answer', 'e_vip']);
    expect(vipFirst.hash).not.toBe(answerFirst.hash);
  });

  it('does not change when priorities change but the order does not', () => {
    const shifted = { ...greetingGraph, edges: greetingGraph.edges.map((edge): GraphEdge => ({ ...edge, priority: 5 })) };
    expect(compiled(shifted).hash).toBe(compiled(greetingGraph).hash);
  });
});

describe('large chains', () => {
  it('compiles a generated chain of 1,000 nodes', () => {
    const nodes: GraphNode[] = [createNode('start', 'start', { trigger: { kind: 'command', command: 'start' } })];
    const edges: GraphEdge[] = [];
    let previous = 'start';
    for (let i = 0; i < 333; i++) {
      const q = `q${i}`;
      const c = `c${i}`;
      const m = `m${i}`;
      nodes.push(
        createNode(q, 'ask', { prompt: `Question ${i}, {{ user.first_name }}?`, variable: `session.a${i}`, validator: { kind: 'number', min: 0 } }),
        createNode(c, 'condition', { rules: { condition: 'AND', rules: [{ field: `session.a${i}`, operator: 'greater', value: '10' }] } }),
        createNode(m, 'message', { text: `You said {{ session.a${i} }}` }),
      );
      edges.push(createEdge(previous, q), createEdge(q, c), createEdge(c, m, 'true'), createEdge(c, q, 'false'));
      previous = m;
    }
    const ir = compiled(createChain({ nodes, edges }));
    expect(Object.keys(ir.nodes)).toHaveLength(1000);
  });
});
