// Phase: where sessions can go. The flow of the graph being compiled, nodes no start
// reaches, and loops that never wait.

import type { Graph, GraphEdge, GraphNode } from '../graph.ts';
import { normalizeRules } from './edges.ts';
import { cyclicComponents, flowNode, reachable, type Flow, type FlowEdge } from './flow.ts';
import type { CheckedNode } from './nodes.ts';
import { nodeWhere, type Report } from './report.ts';

/**
 * The flow of the graph. A node that calls a chain counts as waiting when every path
 * through the callee waits (`callWaits`); a node that failed its checks counts as
 * waiting, so that its errors are not echoed as loop errors.
 */
export function graphFlow(
  nodes: Iterable<GraphNode>,
  checked: ReadonlyMap<string, CheckedNode>,
  validEdges: readonly GraphEdge[],
  callWaits: (chainRef: string) => boolean,
): Flow {
  const edgesFrom = new Map<string, FlowEdge[]>();
  for (const edge of validEdges) {
    const list = edgesFrom.get(edge.source) ?? [];
    list.push({ port: edge.sourcePort, target: edge.target, unconditional: normalizeRules(edge.rules) === undefined });
    edgesFrom.set(edge.source, list);
  }
  const flow: Flow = new Map();
  for (const node of nodes) {
    const item = checked.get(node.id);
    const base = flowNode(node.id, node.type, item, edgesFrom.get(node.id) ?? []);
    const waits = item ? base.waits || (base.calls !== undefined && callWaits(base.calls)) : true;
    flow.set(node.id, { ...base, waits });
  }
  return flow;
}

/** Warns about nodes no path from a start node reaches. */
export function checkReachable(nodes: Iterable<GraphNode>, flow: Flow, startIds: readonly string[], report: Report): void {
  if (startIds.length === 0) return;
  const reached = reachable(flow, startIds);
  for (const node of nodes) {
    if (!reached.has(node.id)) {
      report.add({ code: 'node_unreachable', nodeId: node.id, message: `${nodeWhere(node)}: no path from a start node reaches it`, fix: 'Connect it, or delete it' }, 'warning');
    }
  }
}

/** Reports loops that pass no waiting node (they would spin without waiting). */
export function checkLoops(graph: Graph, flow: Flow, report: Report): void {
  for (const component of cyclicComponents(flow, (node) => !node.waits)) {
    const ordered = graph.nodes.map((node) => node.id).filter((id) => component.includes(id));
    const first = ordered[0] ?? component[0] ?? '';
    const shown = ordered.slice(0, 10).join(' → ') + (ordered.length > 10 ? ' → …' : '');
    report.add({
      code: 'cycle_without_wait',
      nodeId: first,
      message: `Nodes ${shown} form a loop with no ask or delay, which would run forever without waiting`,
      fix: 'Put an ask or delay node in the loop, or give the loop an exit that is always taken eventually',
    });
  }
}
