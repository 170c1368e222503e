import type { z } from 'zod';
import { sha256Hex } from './hash.ts';
import { canonicalJson, type JsonValue } from './json.ts';
import type { BuiltinNodeType, nodeSpecs } from './nodes/index.ts';
import type { PluginNodeType } from './nodes/plugin.ts';
import type { RuleGroup } from './rules.ts';
import type { VariableType } from './scope.ts';

/** Version of the IR layout; bump when the interpreter must tell old and new apart. */
export const IR_FORMAT_VERSION = 1;

/**
 * One outgoing edge. Edges of a port are listed in the order the interpreter must try
 * them (priority ascending, then edge order in the graph); the first whose `rules` hold
 * wins; an edge without `rules` always matches.
 */
export interface IrEdge {
  id: string;
  target: string;
  rules?: RuleGroup;
}

interface IrNodeBase<T extends string, C> {
  id: string;
  type: T;
  /** Normalised config: defaults applied, templates kept as raw strings. */
  config: C;
  /** Every port of the node → its edges in try order ([] when unconnected). */
  next: Record<string, IrEdge[]>;
}

/** A node of a built-in type, with its precise config type (switch on `type`). */
export type BuiltinIrNode = {
  [K in BuiltinNodeType]: IrNodeBase<K, z.output<(typeof nodeSpecs)[K]['config']>>;
}[BuiltinNodeType];
export type PluginIrNode = IrNodeBase<PluginNodeType, Record<string, JsonValue>>;
export type IrNode = BuiltinIrNode | PluginIrNode;

export interface IrVariable {
  name: string;
  type: VariableType;
  default?: JsonValue;
}

/** The compiled, validated form of a chain that the interpreter runs. JSON-serialisable. */
export interface ChainIR {
  formatVersion: typeof IR_FORMAT_VERSION;
  /** SHA-256 (hex) of the canonical IR content without this field. */
  hash: string;
  slug: string;
  defaultLanguage: string;
  /** Default language first, then the others, without duplicates. */
  languages: string[];
  /** Declared variables, sorted by name (defaults to apply at session start). */
  variables: IrVariable[];
  /**
   * Start nodes by trigger: 'command:<name>' (lowercase, no '/'), 'text:<nodeId>',
   * 'schedule:<nodeId>', 'webhook:<hookId>', 'api', 'any'. Keys are sorted.
   */
  entries: Record<string, string>;
  /** Nodes by id, ids sorted. */
  nodes: Record<string, IrNode>;
}

/** A compiled chain as the caller of compileChain knows it (for sub-chain checks). */
export interface CompiledChain {
  ir: ChainIR;
  /** Pinned into sub-chain nodes that call this chain without a version. */
  versionId?: string;
}

/** The hash of an IR's content: independent of key order, positions and labels. */
export function hashIr(ir: Omit<ChainIR, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...content } = ir;
  return sha256Hex(canonicalJson(content));
}
