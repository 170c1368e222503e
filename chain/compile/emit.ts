// Phase: emit. The IR of a graph that passed every check: normalised configs, calls
// pinned to a version, every port with its edges in try order, sorted keys, a hash.

import type { Graph } from '../graph.ts';
import { hashIr, IR_FORMAT_VERSION, type ChainIR, type IrEdge, type IrNode, type IrVariable } from '../ir.ts';
import { canonicalClone, type JsonValue } from '../json.ts';
import { normalizeRules, type Edges } from './edges.ts';
import type { CheckedNode } from './nodes.ts';
import type { Callees } from './subchains.ts';

function toJson(value: unknown): JsonValue {
  // Drops undefined members and orders keys, so the IR text is deterministic.
  return canonicalClone(value);
}

/** What the IR is made of, as the earlier phases found it. */
export interface EmitInput {
  graph: Graph;
  languages: string[];
  checked: ReadonlyMap<string, CheckedNode>;
  edges: Edges;
  entries: Record<string, string>;
  callees: Callees;
}

/** Builds the IR (call only when the report has no errors). */
export function emitIr({ graph, languages, checked, edges, entries, callees }: EmitInput): ChainIR {
  const nodes: Record<string, IrNode> = {};
  for (const id of [...checked.keys()].sort()) {
    const item = checked.get(id);
    if (!item) continue;
    const { spec } = item;
    let config = spec.normalize ? spec.normalize(item.config) : item.config;
    const call = spec.calls;
    if (call && call.versionId(config) === undefined) {
      const versionId = callees.versionOf(call.chainRef(config));
      if (versionId !== undefined) config = call.pin(config, versionId);
    }
    if (spec.toolCalls) config = spec.toolCalls.pin(config, (ref) => callees.versionOf(ref));
    const next: Record<string, IrEdge[]> = {};
    for (const port of item.ports) {
      next[port.id] = edges.of(id, port.id).map((edge) => {
        const rules = normalizeRules(edge.rules);
        return rules ? { id: edge.id, target: edge.target, rules } : { id: edge.id, target: edge.target };
      });
    }
    // The config was validated by the node's own schema; toJson only reorders keys.
    nodes[id] = toJson({ id, type: item.node.type, config, next }) as unknown as IrNode;
  }
  const variables: IrVariable[] = [...graph.variables]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((variable) => (variable.default !== undefined ? { name: variable.name, type: variable.type, default: variable.default as JsonValue } : { name: variable.name, type: variable.type }));
  const sortedEntries: Record<string, string> = {};
  for (const key of Object.keys(entries).sort()) sortedEntries[key] = entries[key] ?? '';
  const content: Omit<ChainIR, 'hash'> = {
    formatVersion: IR_FORMAT_VERSION,
    slug: graph.slug,
    defaultLanguage: graph.defaultLanguage,
    languages,
    variables,
    entries: sortedEntries,
    nodes,
  };
  return { ...content, hash: hashIr(content) };
}
