import { describe, expect, it } from 'vitest';
import { graphSchema, type GraphInput } from '../../chain/index.ts';
import { diffGraphs, diffSummary, diffValues } from './graph-diff.ts';

const graph = (overrides: Partial<GraphInput> = {}) =>
  graphSchema.parse({
    slug: 'demo',
    name: 'Demo',
    nodes: [
      { id: 'start', type: 'start', data: { trigger: { kind: 'any' } } },
      { id: 'hello', type: 'message', position: { x: 10, y: 0 }, data: { text: 'Hello', buttons: { kind: 'inline', rows: [[{ id: 'a', text: 'A' }]] } } },
    ],
    edges: [{ id: 'e1', source: 'start', target: 'hello' }],
    ...overrides,
  });

describe('graph diff', () => {
  it('reports nothing for equal graphs, whatever their key order', () => {
    const a = graph();
    const b = JSON.parse(JSON.stringify(a, Object.keys(a).reverse())) as typeof a;
    expect(diffGraphs(a, { ...b, nodes: a.nodes, edges: a.edges })).toEqual({ settings: [], nodes: { added: [], removed: [], changed: [] }, edges: { added: [], removed: [], changed: [] } });
  });

  it('names changed fields by their path inside the node', () => {
    const before = graph();
    const after = graph();
    after.nodes[1] = { ...after.nodes[1]!, position: { x: 20, y: 0 }, data: { text: 'Hi', buttons: { kind: 'inline', rows: [[{ id: 'a', text: 'B' }]] } } };
    expect(diffGraphs(before, after).nodes.changed).toEqual([
      {
        id: 'hello',
        changes: [
          { field: 'data.buttons.rows.0.0.text', before: 'A', after: 'B' },
          { field: 'data.text', before: 'Hello', after: 'Hi' },
          { field: 'position.x', before: 10, after: 20 },
        ],
      },
    ]);
  });

  it('lists added and removed nodes and edges, matched by id', () => {
    const after = graph({
      nodes: [
        { id: 'start', type: 'start', data: { trigger: { kind: 'any' } } },
        { id: 'bye', type: 'end', data: {} },
      ],
      edges: [{ id: 'e2', source: 'start', target: 'bye' }],
    });
    const diff = diffGraphs(graph(), after);
    expect(diff.nodes.added.map((n) => n.id)).toEqual(['bye']);
    expect(diff.nodes.removed.map((n) => n.id)).toEqual(['hello']);
    expect(diff.edges.added.map((e) => e.id)).toEqual(['e2']);
    expect(diff.edges.removed.map((e) => e.id)).toEqual(['e1']);
    expect(diffSummary(diff)).toMatchObject({ nodesAdded: ['bye'], nodesRemoved: ['hello'], edgesAdded: ['e2'], edgesRemoved: ['e1'] });
  });

  it('reports chain-level settings and arrays whose length changed as whole values', () => {
    const diff = diffGraphs(graph(), graph({ name: 'Renamed', languages: ['en', 'ru'] }));
    expect(diff.settings).toEqual([
      { field: 'languages', before: null, after: ['en', 'ru'] },
      { field: 'name', before: 'Demo', after: 'Renamed' },
    ]);
    expect(diffValues([1, 2], [1, 2, 3], 'list')).toEqual([{ field: 'list', before: [1, 2], after: [1, 2, 3] }]);
  });
});
