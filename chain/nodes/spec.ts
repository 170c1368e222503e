import type { z } from 'zod';
import type { CompileErrorCode } from '../compile-errors.ts';
import type { RuleGroup } from '../rules.ts';

/** A text in every UI language. */
export interface Localized {
  en: string;
  ru: string;
}

/** Shorthand for {@link Localized} literals. */
export function l(en: string, ru: string): Localized {
  return { en, ru };
}

/** Form widgets the editor knows; the generated JSON Schema carries them as `widget`. */
export type Widget =
  | 'text'
  | 'textarea'
  | 'template'
  | 'code'
  | 'json'
  | 'variable'
  | 'rules'
  | 'rule-operator'
  | 'duration'
  | 'datetime'
  | 'timezone'
  | 'cron'
  | 'credential'
  | 'node'
  | 'chain'
  | 'buttons'
  | 'number'
  | 'slider'
  | 'switch'
  | 'select'
  | 'key-value'
  | 'language-map';

/** Field metadata attached with `.meta()`; `z.toJSONSchema` copies it into the schema. */
export interface FieldMeta {
  label: Localized;
  help?: Localized;
  widget?: Widget;
}

export const builtinNodeTypes = [
  'start',
  'message',
  'ask',
  'condition',
  'switch',
  'set',
  'delay',
  'http',
  'llm',
  'code',
  'subchain',
  'split',
  'goto',
  'end',
] as const;
export type BuiltinNodeType = (typeof builtinNodeTypes)[number];

export type NodeCategory = 'trigger' | 'messaging' | 'logic' | 'data' | 'integration' | 'flow';

/** An output port. A required port must have an edge or the chain does not compile. */
export interface Port {
  id: string;
  required: boolean;
  label?: Localized;
}

/** A template inside a config; `secrets: true` where an activity renders it (secrets allowed). */
export interface TemplateRef {
  field: string;
  text: string;
  secrets?: boolean;
}

/** A variable a node writes, and the config field that names it. */
export interface WriteRef {
  field: string;
  variable: string;
}

/** A regular expression a node uses at run time. */
export interface RegexRef {
  field: string;
  pattern: string;
}

export interface RuleRef {
  field: string;
  rules: RuleGroup;
}

/** A problem a node's own checks found; the compiler adds the node id. */
export interface NodeIssue {
  code: CompileErrorCode;
  field?: string;
  message: string;
  fix: string;
  severity?: 'error' | 'warning';
}

/** What a node's compile checks may look at besides its own config. */
export interface NodeCheckContext {
  nodeIds: ReadonlySet<string>;
  languages: readonly string[];
}

// Method-style signatures keep specs with precise config types assignable to the
// registry's general type (bivariant parameters), without `any`.
type ConfigFn<C, R> = { fn(config: C): R }['fn'];

/**
 * Everything the platform knows about one node type: palette entry, config schema
 * (forms are generated from it), ports and the facts the compiler needs.
 */
export interface NodeSpec<T extends string = string, C extends z.ZodType = z.ZodType> {
  type: T;
  category: NodeCategory;
  /** Icon name (Lucide-style), e.g. 'message-square'. */
  icon: string;
  label: Localized;
  help: Localized;
  config: C;
  /** Config of a freshly dropped node. */
  defaults: z.input<C>;
  /** Output ports, static or depending on the config. */
  ports: readonly Port[] | ConfigFn<z.output<C>, Port[]>;
  /** True when the node suspends the session (ask, delay): loops must pass through one. */
  waits?: boolean | ConfigFn<z.output<C>, boolean>;
  templates?: ConfigFn<z.output<C>, TemplateRef[]>;
  writes?: ConfigFn<z.output<C>, WriteRef[]>;
  regexes?: ConfigFn<z.output<C>, RegexRef[]>;
  rules?: ConfigFn<z.output<C>, RuleRef[]>;
  /** Canonical form stored in the IR (e.g. '/Start' → 'start'). */
  normalize?: ConfigFn<z.output<C>, z.output<C>>;
  compileChecks?: { fn(config: z.output<C>, context: NodeCheckContext): NodeIssue[] }['fn'];
}

/** Identity helper that infers a spec's type parameters. */
export function defineNode<T extends string, C extends z.ZodType>(spec: NodeSpec<T, C>): NodeSpec<T, C> {
  return spec;
}

/** The ports of a node for a given (valid) config. */
export function portsOf<C extends z.ZodType>(spec: NodeSpec<string, C>, config: z.output<C>): readonly Port[] {
  return typeof spec.ports === 'function' ? spec.ports(config) : spec.ports;
}

/** Whether a node with this config waits for the user or a timer. */
export function waitsOf<C extends z.ZodType>(spec: NodeSpec<string, C>, config: z.output<C>): boolean {
  return typeof spec.waits === 'function' ? spec.waits(config) : (spec.waits ?? false);
}
