// The one report every compile phase adds its problems to, and how problems say where.

import type { CompileError } from '../compile-errors.ts';
import type { GraphEdge } from '../graph.ts';

/** Errors (they block publishing) and warnings, in the order the phases found them. */
export class Report {
  readonly errors: CompileError[] = [];
  readonly warnings: CompileError[] = [];

  /** Records a problem; warnings do not stop the compile. */
  add(problem: CompileError, severity: 'error' | 'warning' = 'error'): void {
    (severity === 'error' ? this.errors : this.warnings).push(problem);
  }
}

/** "Node 'ask_name' (ask), field 'prompt'": the start of a node's problem message. */
export function nodeWhere(node: { id: string; type: string }, field?: string): string {
  return `Node '${node.id}' (${node.type})${field ? `, field '${field}'` : ''}`;
}

/** "Edge 'e1' (ask_name.next → greet), field 'rules'": the start of an edge's problem message. */
export function edgeWhere(edge: GraphEdge, field?: string): string {
  return `Edge '${edge.id}' (${edge.source}.${edge.sourcePort} → ${edge.target})${field ? `, field '${field}'` : ''}`;
}
