// Phase: edges. Unique ids, existing ends, existing ports, valid rules; required ports
// connected; edges that can never be taken.

import type { Graph, GraphEdge, GraphNode } from '../graph.ts';
import { checkRules, type RuleGroup } from '../rules.ts';
import type { CheckedNode } from './nodes.ts';
import { edgeWhere, nodeWhere, type Report } from './report.ts';

/** An edge's rules, or undefined when it always matches (no rules, or an empty group). */
export function normalizeRules(rules: RuleGroup | undefined): RuleGroup | undefined {
  if (!rules || (rules.rules.length === 0 && !rules.not)) return undefined;
  return rules;
}

/** Reports edge ids used twice. */
export function checkEdgeIds(graph: Graph, report: Report): void {
  const edgeIds = new Set<string>();
  for (const edge of graph.edges) {
    if (edgeIds.has(edge.id)) {
      report.add({ code: 'edge_duplicate_id', edgeId: edge.id, message: `Edge id '${edge.id}' is used by more than one edge`, fix: 'Give every edge a unique id' });
    }
    edgeIds.add(edge.id);
  }
}

/** The edges that connect existing nodes through existing ports. */
export interface Edges {
  /** In graph order. */
  valid: GraphEdge[];
  /** The edges of one port, in try order (priority ascending, graph order on ties). */
  of(nodeId: string, port: string): GraphEdge[];
}

/** Checks every edge's ends, port and rules. */
export function checkEdges(graph: Graph, nodes: ReadonlyMap<string, GraphNode>, checked: ReadonlyMap<string, CheckedNode>, report: Report): Edges {
  const byPort = new Map<string, GraphEdge[]>();
  const valid: GraphEdge[] = [];
  for (const edge of graph.edges) {
    let ok = true;
    if (!nodes.has(edge.source)) {
      ok = false;
      report.add({ code: 'edge_unknown_source', edgeId: edge.id, message: `${edgeWhere(edge)}: source node '${edge.source}' does not exist`, fix: 'Reconnect the edge or delete it' });
    }
    if (!nodes.has(edge.target)) {
      ok = false;
      report.add({ code: 'edge_unknown_target', edgeId: edge.id, message: `${edgeWhere(edge)}: target node '${edge.target}' does not exist`, fix: 'Reconnect the edge to an existing node or delete it' });
    }
    const source = checked.get(edge.source);
    if (source && !source.ports.some((port) => port.id === edge.sourcePort)) {
      ok = false;
      const ports = source.ports.map((port) => `'${port.id}'`).join(', ');
      const optional = source.spec.optionalPorts;
      const hint = optional && Object.hasOwn(optional, edge.sourcePort) ? `, or ${optional[edge.sourcePort]}` : '';
      report.add({
        code: 'port_unknown',
        edgeId: edge.id,
        nodeId: edge.source,
        message: `${edgeWhere(edge)}: ${nodeWhere(source.node)} has no output port '${edge.sourcePort}'`,
        fix: ports ? `Connect from one of ${ports}${hint}` : `A ${source.node.type} node has no outputs; delete the edge`,
      });
    }
    if (edge.rules) {
      for (const problem of checkRules(edge.rules)) {
        const field = `rules.${problem.path}`;
        report.add({ code: problem.code, edgeId: edge.id, field, message: `${edgeWhere(edge, field)}: ${problem.message}`, fix: problem.fix });
      }
    }
    if (!ok) continue;
    valid.push(edge);
    const key = `${edge.source}\u0000${edge.sourcePort}`;
    const list = byPort.get(key) ?? [];
    list.push(edge);
    byPort.set(key, list);
  }
  for (const list of byPort.values()) list.sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0)); // stable: ties keep graph order
  return { valid, of: (nodeId, port) => byPort.get(`${nodeId}\u0000${port}`) ?? [] };
}

/** Required ports without an edge; edges after an unconditional one on the same port. */
export function checkPorts(checked: ReadonlyMap<string, CheckedNode>, edges: Edges, report: Report): void {
  for (const { node, ports } of checked.values()) {
    for (const port of ports) {
      const list = edges.of(node.id, port.id);
      if (port.required && list.length === 0) {
        report.add({ code: 'port_unconnected', nodeId: node.id, message: `${nodeWhere(node)}: output '${port.id}' is not connected`, fix: `Draw an edge from '${port.id}' to the node that should run next` });
      }
      const unconditional = list.findIndex((edge) => normalizeRules(edge.rules) === undefined);
      for (const shadowed of unconditional >= 0 ? list.slice(unconditional + 1) : []) {
        report.add(
          { code: 'edge_shadowed', edgeId: shadowed.id, nodeId: node.id, message: `${edgeWhere(shadowed)}: can never be taken, edge '${list[unconditional]?.id}' before it always matches`, fix: 'Give the unconditional edge a higher priority number (so it is tried last) or add rules to it' },
          'warning',
        );
      }
    }
  }
}
