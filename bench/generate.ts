import type { Graph, GraphEdge, GraphNode } from '../chain/index.ts';
import { createChain, createEdge, createNode } from '../chain/testing.ts';

/**
 * A chain of `blocks` × (ask → condition → two messages) after a start node: each
 * condition has two branches that meet again at the next ask. 250 blocks ≈ 1,000 nodes.
 * Blocks are laid out ten to a row, as an editor would see them.
 */
export function generateChain(nodeCount: number): Graph {
  const nodes: GraphNode[] = [createNode('start', 'start', { trigger: { kind: 'any' } }, { x: 0, y: 0 })];
  const edges: GraphEdge[] = [];
  let previous: string[] = ['start'];
  for (let i = 0; nodes.length + 4 <= nodeCount + 1; i++) {
    const [q, c, hi, lo] = [`q${i}`, `c${i}`, `hi${i}`, `lo${i}`];
    const x = 300 + (i % 10) * 960;
    const y = Math.floor(i / 10) * 420;
    nodes.push(
      createNode(q, 'ask', { prompt: `Question ${i}, {{ user.first_name | default: "friend" }}?`, variable: `session.a${i}`, validator: { kind: 'number', min: 0 } }, { x, y }),
      createNode(c, 'condition', { rules: { condition: 'AND', rules: [{ field: `session.a${i}`, operator: 'greater', value: 10 }] } }, { x: x + 240, y }),
      createNode(hi, 'message', { text: `{{ session.a${i} }} is a lot` }, { x: x + 480, y: y - 100 }),
      createNode(lo, 'message', { text: `{{ session.a${i} }} is not much` }, { x: x + 480, y: y + 100 }),
    );
    for (const p of previous) edges.push(createEdge(p, q));
    edges.push(createEdge(q, c), createEdge(c, hi, 'true'), createEdge(c, lo, 'false'));
    previous = [hi, lo];
  }
  return createChain({ slug: 'generated', name: `Generated ${nodes.length}`, nodes, edges });
}
