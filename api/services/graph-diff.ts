import { canonicalJson, type Graph } from '../../chain/index.ts';

/** One changed value, at a dotted path inside the item (`data.text`, `position.x`, `rules.rules.0.value`). */
export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

/** An item (node or edge) present on both sides with different content. */
export interface ItemChange {
  id: string;
  changes: FieldChange[];
}

export interface ItemsDiff<T> {
  added: T[];
  removed: T[];
  changed: ItemChange[];
}

/** What changed from one graph to another. */
export interface GraphDiff {
  /** Chain-level fields: slug, name, description, languages, variables, webChat… */
  settings: FieldChange[];
  nodes: ItemsDiff<Graph['nodes'][number]>;
  edges: ItemsDiff<Graph['edges'][number]>;
}

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Field-level changes between two values: objects are compared key by key, arrays of the
 * same length item by item; anything else (or arrays whose length changed) as a whole.
 */
export function diffValues(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (same(before, after)) return [];
  const at = (key: string) => (path ? `${path}.${key}` : key);
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diffValues(before[key], after[key], at(key)));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((item, i) => diffValues(item, after[i], at(String(i))));
  }
  return [{ field: path || '(value)', before: before ?? null, after: after ?? null }];
}

function diffItems<T extends { id: string }>(before: readonly T[], after: readonly T[]): ItemsDiff<T> {
  const old = new Map(before.map((item) => [item.id, item]));
  const now = new Map(after.map((item) => [item.id, item]));
  const changed: ItemChange[] = [];
  for (const [id, item] of now) {
    const previous = old.get(id);
    if (previous === undefined) continue;
    const changes = diffValues(previous, item);
    if (changes.length) changed.push({ id, changes });
  }
  return {
    added: after.filter((item) => !old.has(item.id)),
    removed: before.filter((item) => !now.has(item.id)),
    changed,
  };
}

/** Nodes and edges added, removed and changed (matched by id), and chain-level changes. */
export function diffGraphs(before: Graph, after: Graph): GraphDiff {
  const { nodes: nodesBefore, edges: edgesBefore, ...settingsBefore } = before;
  const { nodes: nodesAfter, edges: edgesAfter, ...settingsAfter } = after;
  return {
    settings: diffValues(settingsBefore, settingsAfter),
    nodes: diffItems(nodesBefore, nodesAfter),
    edges: diffItems(edgesBefore, edgesAfter),
  };
}

/** A short count of a diff, for audit summaries. */
export function diffSummary(diff: GraphDiff): Record<string, unknown> {
  return {
    settings: diff.settings.map((c) => c.field),
    nodesAdded: diff.nodes.added.map((n) => n.id),
    nodesRemoved: diff.nodes.removed.map((n) => n.id),
    nodesChanged: diff.nodes.changed.map((n) => n.id),
    edgesAdded: diff.edges.added.map((e) => e.id),
    edgesRemoved: diff.edges.removed.map((e) => e.id),
    edgesChanged: diff.edges.changed.map((e) => e.id),
  };
}
