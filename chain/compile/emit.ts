// Phase: emit. The IR of a graph that passed every check: normalised configs, calls
// pinned to a version, every port with its edges in try order, sorted keys, a hash.

import type { Graph } from '../graph.ts';
import { hashIr, IR_FORMAT_VERSION, type ChainIR, type IrEdge, type IrNode, type IrVariable } from '../ir.ts';
import { sortedClone, type JsonValue } from '../json.ts';
import { sha256Hex } from '../hash.ts';
import { normalizeRules, type Edges } from './edges.ts';
import type { CheckedNode } from './nodes.ts';
import type { Callees } from './subchains.ts';


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
  // Whether some key starts with a digit: then the object's key order is not its
  // insertion order, and the hash takes hashIr's general path.
  let indexKeys = false;
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
    // The config was validated by the node's own schema; the clone drops undefined
    // members and orders keys, so the IR text is deterministic.
    const clone = sortedClone({ id, type: item.node.type, config, next });
    if (clone.indexKeys || isDigit(id)) indexKeys = true;
    nodes[id] = clone.value as unknown as IrNode;
  }
  const variables: IrVariable[] = [...graph.variables]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((variable) => (variable.default !== undefined ? { name: variable.name, type: variable.type, default: variable.default as JsonValue } : { name: variable.name, type: variable.type }));
  const sortedEntries: Record<string, string> = {};
  for (const key of Object.keys(entries).sort()) {
    sortedEntries[key] = entries[key] ?? '';
    if (isDigit(key)) indexKeys = true;
  }
  const content: Omit<ChainIR, 'hash'> = {
    formatVersion: IR_FORMAT_VERSION,
    slug: graph.slug,
    defaultLanguage: graph.defaultLanguage,
    languages,
    variables,
    entries: sortedEntries,
    nodes,
  };
  return { ...content, hash: indexKeys ? hashIr(content) : canonicalHash(content) };
}

function isDigit(key: string): boolean {
  const code = key.charCodeAt(0);
  return code >= 48 && code <= 57;
}

/**
 * hashIr of an IR whose nodes are already canonical clones and whose entries are sorted,
 * without cloning it all again: the top level in key order, the variables cloned.
 */
function canonicalHash(content: Omit<ChainIR, 'hash'>): string {
  const variables = sortedClone(content.variables);
  if (variables.indexKeys) return hashIr(content);
  const sorted = {
    defaultLanguage: content.defaultLanguage,
    entries: content.entries,
    formatVersion: content.formatVersion,
    languages: content.languages,
    nodes: content.nodes,
    slug: content.slug,
    variables: variables.value,
  } satisfies Record<keyof typeof content, unknown>;
  return sha256Hex(JSON.stringify(sorted));
}
