import type { ChainIR } from './ir.ts';

/** Where a node of one version lands in another under an upgrade's node map. */
export type NodeMapping =
  | { ok: true; target: string }
  | { ok: false; target: string; problem: 'missing' }
  | { ok: false; target: string; problem: 'type_changed'; fromType: string; toType: string };

/**
 * The rule a session follows when it moves from version `from` to version `to` (the
 * `upgrade` signal): node `id` becomes `nodeMap[id]`, an unmapped id stays, and the
 * target must exist in `to` with the node's type in `from` (an id `from` does not have
 * maps to a node of any type). The workflow applies it; the API plans migrations with it,
 * so what the API promises is what the session does.
 *
 * @example
 * mapNode(v1, v2, { ask: 'ask_name' }, 'ask') // { ok: true, target: 'ask_name' } when v2 has an ask node 'ask_name'
 */
export function mapNode(from: ChainIR, to: ChainIR, nodeMap: Readonly<Record<string, string>>, id: string): NodeMapping {
  const target = nodeMap[id] ?? id;
  const after = to.nodes[target];
  if (!after) return { ok: false, target, problem: 'missing' };
  const before = from.nodes[id];
  if (before && before.type !== after.type) return { ok: false, target, problem: 'type_changed', fromType: before.type, toType: after.type };
  return { ok: true, target };
}
