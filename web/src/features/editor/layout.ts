// Tidy-up: dagre, left to right, per connected component (after n8n's useCanvasLayout),
// components stacked top to bottom in their current order.

import dagre from '@dagrejs/dagre';
import type { Graph, XY } from './editor.types.ts';

const DEFAULT_SIZE = { width: 200, height: 96 };
const GAP = 80;

export function tidyPositions(graph: Graph, sizes: (id: string) => { width: number; height: number } | undefined): Map<string, XY> {
  const parent = new Map(graph.nodes.map((n) => [n.id, n.id]));
  const find = (id: string): string => {
    let root = id;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(id, root);
    return root;
  };
  for (const edge of graph.edges) {
    if (parent.has(edge.source) && parent.has(edge.target)) parent.set(find(edge.source), find(edge.target));
  }
  const components = new Map<string, string[]>();
  for (const node of graph.nodes) {
    const root = find(node.id);
    components.set(root, [...(components.get(root) ?? []), node.id]);
  }

  const result = new Map<string, XY>();
  const originX = Math.min(0, ...graph.nodes.map((n) => n.position.x));
  let offsetY = Math.min(0, ...graph.nodes.map((n) => n.position.y));
  for (const ids of components.values()) {
    const members = new Set(ids);
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: 'LR', nodesep: 30, ranksep: 70, marginx: 0, marginy: 0 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const id of ids) g.setNode(id, { ...(sizes(id) ?? DEFAULT_SIZE) });
    for (const edge of graph.edges) if (members.has(edge.source) && members.has(edge.target)) g.setEdge(edge.source, edge.target);
    dagre.layout(g);
    let maxY = 0;
    for (const id of ids) {
      const laid = g.node(id);
      const size = sizes(id) ?? DEFAULT_SIZE;
      const x = Math.round(originX + laid.x - size.width / 2);
      const y = Math.round(offsetY + laid.y - size.height / 2);
      result.set(id, { x, y });
      maxY = Math.max(maxY, laid.y + size.height / 2);
    }
    offsetY += maxY + GAP;
  }
  return result;
}
