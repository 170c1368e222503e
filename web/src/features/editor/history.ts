// Undo/redo as command objects (after n8n's models/history.ts): each command knows how to
// apply and revert itself on the graph; a bulk command groups several into one step (a
// drag of ten nodes, a paste, a tidy-up). The stack is capped.

import type { Graph, GraphEdge, GraphNode, XY } from './editor.types.ts';

export type NodePatch = Partial<Pick<GraphNode, 'data' | 'label'>>;
/** Chain-level settings the editor changes (name, description, variables, languages). */
export type SettingsPatch = { name?: string; description?: string } & Partial<Pick<Graph, 'variables' | 'languages' | 'defaultLanguage'>>;

export type Command =
  | { kind: 'add-node'; node: GraphNode; index: number }
  | { kind: 'remove-node'; node: GraphNode; index: number }
  | { kind: 'move-node'; id: string; from: XY; to: XY }
  | { kind: 'update-node'; id: string; before: NodePatch; after: NodePatch; at: number }
  | { kind: 'add-edge'; edge: GraphEdge; index: number }
  | { kind: 'remove-edge'; edge: GraphEdge; index: number }
  | { kind: 'update-settings'; before: SettingsPatch; after: SettingsPatch; at: number }
  | { kind: 'bulk'; label: string; commands: Command[] };

export const HISTORY_LIMIT = 200;

/** A plain deep copy (also of Vue reactive proxies, which structuredClone refuses); graphs are JSON. */
export const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

function setPatch(node: GraphNode, patch: NodePatch): void {
  if ('data' in patch && patch.data !== undefined) node.data = clone(patch.data);
  if ('label' in patch) {
    if (patch.label === undefined || patch.label === '') delete node.label;
    else node.label = patch.label;
  }
}

/** Applies a command to the graph in place. */
export function applyCommand(graph: Graph, command: Command): void {
  switch (command.kind) {
    case 'add-node':
      graph.nodes.splice(Math.min(command.index, graph.nodes.length), 0, clone(command.node));
      return;
    case 'remove-node': {
      const index = graph.nodes.findIndex((n) => n.id === command.node.id);
      if (index >= 0) graph.nodes.splice(index, 1);
      return;
    }
    case 'move-node': {
      const node = graph.nodes.find((n) => n.id === command.id);
      if (node) node.position = { ...command.to };
      return;
    }
    case 'update-node': {
      const node = graph.nodes.find((n) => n.id === command.id);
      if (node) setPatch(node, command.after);
      return;
    }
    case 'add-edge':
      graph.edges.splice(Math.min(command.index, graph.edges.length), 0, clone(command.edge));
      return;
    case 'remove-edge': {
      const index = graph.edges.findIndex((e) => e.id === command.edge.id);
      if (index >= 0) graph.edges.splice(index, 1);
      return;
    }
    case 'update-settings':
      if (command.after.name !== undefined) graph.name = command.after.name;
      if ('description' in command.after) {
        if (command.after.description) graph.description = command.after.description;
        else delete graph.description;
      }
      if (command.after.variables !== undefined) graph.variables = clone(command.after.variables);
      if ('languages' in command.after) {
        if (command.after.languages) graph.languages = [...command.after.languages];
        else delete graph.languages;
      }
      if (command.after.defaultLanguage !== undefined) graph.defaultLanguage = command.after.defaultLanguage;
      return;
    case 'bulk':
      for (const inner of command.commands) applyCommand(graph, inner);
      return;
  }
}

/** Undoes a command on the graph in place. */
export function revertCommand(graph: Graph, command: Command): void {
  switch (command.kind) {
    case 'add-node':
      applyCommand(graph, { kind: 'remove-node', node: command.node, index: command.index });
      return;
    case 'remove-node':
      applyCommand(graph, { kind: 'add-node', node: command.node, index: command.index });
      return;
    case 'move-node':
      applyCommand(graph, { ...command, from: command.to, to: command.from });
      return;
    case 'update-node':
      applyCommand(graph, { ...command, before: command.after, after: command.before });
      return;
    case 'update-settings':
      applyCommand(graph, { ...command, before: command.after, after: command.before });
      return;
    case 'add-edge':
      applyCommand(graph, { kind: 'remove-edge', edge: command.edge, index: command.index });
      return;
    case 'remove-edge':
      applyCommand(graph, { kind: 'add-edge', edge: command.edge, index: command.index });
      return;
    case 'bulk':
      for (const inner of [...command.commands].reverse()) revertCommand(graph, inner);
      return;
  }
}

/** Typing into the same field of one node within this time is one undo step. */
const MERGE_WINDOW_MS = 1200;

/** The undo and redo stacks. */
export class History {
  private done: Command[] = [];
  private undone: Command[] = [];

  constructor(private readonly limit = HISTORY_LIMIT) {}

  get canUndo(): boolean {
    return this.done.length > 0;
  }
  get canRedo(): boolean {
    return this.undone.length > 0;
  }
  get size(): number {
    return this.done.length;
  }

  /** Records a command that has been applied; clears the redo stack. */
  push(command: Command): void {
    const last = this.done.at(-1);
    if (command.kind === 'update-node' && last?.kind === 'update-node' && last.id === command.id && command.at - last.at < MERGE_WINDOW_MS && sameSet(changedFields(last), changedFields(command))) {
      last.after = command.after;
      last.at = command.at;
    } else if (command.kind === 'update-settings' && last?.kind === 'update-settings' && command.at - last.at < MERGE_WINDOW_MS && Object.keys(last.after).join() === Object.keys(command.after).join()) {
      last.after = command.after;
      last.at = command.at;
    } else {
      this.done.push(command);
      if (this.done.length > this.limit) this.done.shift();
    }
    this.undone = [];
  }

  undo(graph: Graph): Command | undefined {
    const command = this.done.pop();
    if (!command) return undefined;
    revertCommand(graph, command);
    this.undone.push(command);
    return command;
  }

  redo(graph: Graph): Command | undefined {
    const command = this.undone.pop();
    if (!command) return undefined;
    applyCommand(graph, command);
    this.done.push(command);
    return command;
  }

  clear(): void {
    this.done = [];
    this.undone = [];
  }
}

/** Which fields an edit changes: 'label' and/or the top-level config keys. */
function changedFields(command: Extract<Command, { kind: 'update-node' }>): string[] {
  const fields: string[] = [];
  if ('label' in command.after && command.after.label !== command.before.label) fields.push('label');
  if (command.after.data) {
    const before = command.before.data ?? {};
    const after = command.after.data;
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) fields.push(`data.${key}`);
    }
  }
  return fields;
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length > 0 && a.slice().sort().join() === b.slice().sort().join();
}

/**
 * Removing nodes with their edges, as one bulk command. Edges are removed first (and
 * restored last), each at its index, so undo gives back the exact graph.
 */
export function removeCommand(graph: Graph, nodeIds: ReadonlySet<string>, edgeIds: ReadonlySet<string> = new Set()): Command | null {
  const edges = graph.edges
    .map((edge, index) => ({ edge, index }))
    .filter(({ edge }) => edgeIds.has(edge.id) || nodeIds.has(edge.source) || nodeIds.has(edge.target));
  const nodes = graph.nodes.map((node, index) => ({ node, index })).filter(({ node }) => nodeIds.has(node.id));
  if (!edges.length && !nodes.length) return null;
  // Remove from the highest index down so the recorded indexes stay right on undo.
  const commands: Command[] = [
    ...edges.reverse().map(({ edge, index }): Command => ({ kind: 'remove-edge', edge: clone(edge), index })),
    ...nodes.reverse().map(({ node, index }): Command => ({ kind: 'remove-node', node: clone(node), index })),
  ];
  return { kind: 'bulk', label: 'remove', commands };
}
