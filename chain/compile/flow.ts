// Graph algorithms of the compiler, over a uniform "flow" view built from the node specs'
// facts (jumps, calls, terminal, error ports, waits), either for the graph being
// compiled or from the IR of a sub-chain.

import type { ChainIR } from '../ir.ts';
import { specFor } from '../nodes/index.ts';
import { portsOf, waitsOf, type NodeSpec } from '../nodes/spec.ts';

export interface FlowNode {
  id: string;
  type: string;
  /** Waits for the user or a timer (ask, delay). */
  waits: boolean;
  /** Successors: edge targets and a goto's target. */
  successors: string[];
  /** May finish the chain here (an end node, or a port without an unconditional edge). */
  mayExit: boolean;
  /** Sub-chain reference of a subchain node. */
  calls?: string;
}

export type Flow = Map<string, FlowNode>;

/** One outgoing edge as the flow sees it. */
export interface FlowEdge {
  port: string;
  target: string;
  /** Has no rules, so it is always taken when its port is. */
  unconditional: boolean;
}

/** A node's spec with its (valid) config: what its facts are computed from. */
export interface NodeFacts {
  spec: NodeSpec;
  config: unknown;
}

/**
 * The flow view of one node, from its spec: successors are its jumps and its edges'
 * targets; it may exit when its spec is terminal or when a port that is not an error
 * port has no unconditional edge. `facts` is undefined for a node of an unknown type or
 * with an invalid config: no ports, jumps or call, and no wait (callers decide).
 */
export function flowNode(id: string, type: string, facts: NodeFacts | undefined, edges: readonly FlowEdge[]): FlowNode {
  if (!facts) return { id, type, waits: false, successors: edges.map((edge) => edge.target), mayExit: false };
  const { spec, config } = facts;
  const errorPorts = spec.errorPorts ?? [];
  const openPort = portsOf(spec, config).some(
    (port) => !errorPorts.includes(port.id) && !edges.some((edge) => edge.port === port.id && edge.unconditional),
  );
  const calls = spec.calls?.chainRef(config);
  return {
    id,
    type,
    waits: waitsOf(spec, config),
    successors: [...(spec.jumps?.(config) ?? []), ...edges.map((edge) => edge.target)],
    mayExit: (spec.terminal ?? false) || openPort,
    ...(calls !== undefined ? { calls } : {}),
  };
}

/** Builds the flow view of a compiled chain. */
export function flowFromIr(ir: ChainIR): Flow {
  const flow: Flow = new Map();
  for (const node of Object.values(ir.nodes)) {
    const spec = specFor(node.type);
    const edges = Object.entries(node.next).flatMap(([port, list]) =>
      list.map((edge): FlowEdge => ({ port, target: edge.target, unconditional: edge.rules === undefined })),
    );
    flow.set(node.id, flowNode(node.id, node.type, spec ? { spec, config: node.config } : undefined, edges));
  }
  return flow;
}

/** Node ids reachable from `roots` (roots included). */
export function reachable(flow: Flow, roots: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop() ?? '';
    if (seen.has(id) || !flow.has(id)) continue;
    seen.add(id);
    for (const next of flow.get(id)?.successors ?? []) if (!seen.has(next)) stack.push(next);
  }
  return seen;
}

/**
 * Strongly connected components (iterative Tarjan) of the sub-graph of nodes accepted
 * by `include`. Only components that contain a cycle are returned (size > 1, or a
 * self-loop), each in discovery order.
 */
export function cyclicComponents(flow: Flow, include: (node: FlowNode) => boolean): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  const successors = (id: string): string[] =>
    (flow.get(id)?.successors ?? []).filter((next) => {
      const node = flow.get(next);
      return node !== undefined && include(node);
    });

  for (const root of flow.values()) {
    if (!include(root) || index.has(root.id)) continue;
    const work: Array<{ id: string; next: string[]; position: number }> = [];
    const visit = (id: string): void => {
      index.set(id, counter);
      low.set(id, counter);
      counter++;
      stack.push(id);
      onStack.add(id);
      work.push({ id, next: successors(id), position: 0 });
    };
    visit(root.id);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (!frame) break;
      if (frame.position < frame.next.length) {
        const next = frame.next[frame.position++] ?? '';
        if (!index.has(next)) visit(next);
        else if (onStack.has(next)) low.set(frame.id, Math.min(low.get(frame.id) ?? 0, index.get(next) ?? 0));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id) ?? 0, low.get(frame.id) ?? 0));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop();
          if (member === undefined) break;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.id);
        const selfLoop = component.length === 1 && successors(frame.id).includes(frame.id);
        if (component.length > 1 || selfLoop) components.push(component.reverse());
      }
    }
  }
  return components;
}

/**
 * Walks from `roots` without passing a waiting node. `passThrough(node)` decides
 * whether a subchain call may return without having waited (then the walk continues
 * after it). Returns the subchain nodes reached and whether an exit is reachable.
 */
export function walkWithoutWait(
  flow: Flow,
  roots: Iterable<string>,
  passThrough: (node: FlowNode) => boolean,
): { calls: FlowNode[]; exits: boolean } {
  const seen = new Set<string>();
  const calls: FlowNode[] = [];
  let exits = false;
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop() ?? '';
    const node = flow.get(id);
    if (!node || seen.has(id)) continue;
    seen.add(id);
    if (node.waits) continue;
    if (node.calls !== undefined) {
      calls.push(node);
      if (!passThrough(node)) continue;
    }
    if (node.mayExit) exits = true;
    for (const next of node.successors) if (!seen.has(next)) stack.push(next);
  }
  return { calls, exits };
}

/** The node a sub-chain call enters: the 'api' start, else the 'any' start. */
export function callEntry(ir: ChainIR): string | undefined {
  return ir.entries['api'] ?? ir.entries['any'];
}
