// Factories for tests (ours and other folders'). Pure; safe to import anywhere.

import type { Graph, GraphEdge, GraphNode } from './graph.ts';
import { ruleGroupSchema, type RuleGroupInput } from './rules-schema.ts';

let autoPosition = 0;

/** A graph node; position defaults to a column layout. */
export function createNode(id: string, type: string, data: Record<string, unknown> = {}, position?: { x: number; y: number }): GraphNode {
  return { id, type, position: position ?? { x: 0, y: 120 * autoPosition++ }, data };
}

/** An edge `source.port → target`, id `source-port-target` unless given. */
export function createEdge(
  source: string,
  target: string,
  sourcePort = 'next',
  extra: { id?: string; rules?: RuleGroupInput; priority?: number } = {},
): GraphEdge {
  const edge: GraphEdge = { id: extra.id ?? `${source}-${sourcePort}-${target}`, source, sourcePort, target };
  if (extra.rules) edge.rules = ruleGroupSchema.parse(extra.rules);
  if (extra.priority !== undefined) edge.priority = extra.priority;
  return edge;
}

/**
 * A valid chain (`/start` → "Hello!") with any top-level field replaced.
 *
 * @example createChain({ nodes: [...], edges: [...] })
 */
export function createChain(overrides: Partial<Graph> = {}): Graph {
  return {
    slug: 'test-chain',
    name: 'Test chain',
    defaultLanguage: 'en',
    variables: [],
    nodes: [
      createNode('start', 'start', { trigger: { kind: 'command', command: '/start' } }, { x: 0, y: 0 }),
      createNode('hello', 'message', { text: 'Hello!' }, { x: 0, y: 120 }),
    ],
    edges: [createEdge('start', 'hello')],
    ...overrides,
  };
}
