import type { CompileError, Graph, GraphEdge, GraphNode } from '../../../../chain/index.ts';
import type { NodeType } from '../../api/client.ts';

export type { CompileError, Graph, GraphEdge, GraphNode, NodeType };

export interface XY {
  x: number;
  y: number;
}

/** A port a node shows on the canvas. */
export interface PortView {
  id: string;
  label: string;
}

/** What a node card draws (the Vue Flow node's `data`). */
export interface NodeCardData {
  node: GraphNode;
  typeLabel: string;
  icon: string;
  category: string;
  known: boolean;
  summary: string[];
  ports: PortView[];
  /** False for start nodes: nothing leads into them. */
  hasInput: boolean;
  errors: CompileError[];
  warnings: CompileError[];
}

/** Events the canvas emits; the container applies them through the store. */
export interface CanvasEvents {
  'node:drag': [moves: { id: string; position: XY }[]];
  'nodes:moved': [moves: { id: string; from: XY; to: XY }[]];
  'selection:change': [selection: { nodes: string[]; edges: string[] }];
  'edge:connect': [connection: { source: string; sourcePort: string; target: string }];
  'node:drop': [drop: { type: string; position: XY }];
  'node:open': [id: string];
}

/** What Ctrl+C puts on the clipboard (JSON); pasting works across chains and tabs. */
export interface ClipboardPayload {
  chainflow: 'nodes';
  version: 1;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** A compile error or warning, as the panels list them. */
export type Problem = CompileError & { severity: 'error' | 'warning' };
