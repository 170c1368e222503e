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
  | 'knowledge-base'
  | 'node'
  | 'chain'
  | 'buttons'
  | 'number'
  | 'slider'
  | 'switch'
  | 'select'
  | 'key-value'
  | 'language-map'
  | 'agent-tools';

/** Field metadata attached with `.meta()`; `z.toJSONSchema` copies it into the schema. */
export interface FieldMeta {
  label: Localized;
  help?: Localized;
  widget?: Widget;
}

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
 * How a node calls another chain inline (subchain): the compiler checks the callee and
 * pins its version; the interpreter enters it.
 */
export interface CallFacts<Config> {
  /** The `chainRef` (id or slug) of the chain the node runs. */
  chainRef(config: Config): string;
  /** The pinned version, when the config has one. */
  versionId(config: Config): string | undefined;
  /** The config with the callee's version pinned (at publish). */
  pin(config: Config, versionId: string): Config;
}

/**
 * Everything the platform knows about one node type: palette entry, config schema
 * (forms are generated from it), ports and the facts the compiler and the interpreter
 * need. `A` is the name of the activity that performs the node's side effect, if any.
 */
export interface NodeSpec<T extends string = string, C extends z.ZodType = z.ZodType, A extends string = string> {
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
  /**
   * Ports that report a failure or a give-up (http's 'error', ask's 'invalid' and
   * 'timeout'), not a result: leaving through one unconnected is no normal end of the
   * chain, so the compiler does not count it as an exit.
   */
  errorPorts?: readonly string[];
  /**
   * Ports that only some configs have, with what to do to get one (ask: 'timeout' → set
   * a timeout); used in the fix of an edge from a port the node lacks.
   */
  optionalPorts?: Readonly<Record<string, string>>;
  /** True when the node suspends the session (ask, delay): loops must pass through one. */
  waits?: boolean | ConfigFn<z.output<C>, boolean>;
  /** Nodes the session continues at besides the edges (goto's target). */
  jumps?: ConfigFn<z.output<C>, string[]>;
  /** The node runs another chain inline (subchain). */
  calls?: CallFacts<z.output<C>>;
  /**
   * Further chains the node may run (an agent's sub-chain tools): pinned at publish like
   * `calls`, but not part of the flow checks (they run only when a model asks).
   */
  toolCalls?: {
    refs(config: z.output<C>): string[];
    pin(config: z.output<C>, versionOf: (ref: string) => string | undefined): z.output<C>;
  };
  /** The chain may finish here (end): the node counts as an exit whatever its ports. */
  terminal?: boolean;
  /**
   * A session may start here (start): the key of this node in `ChainIR.entries`, e.g.
   * 'command:start' or 'api' (several for a start on several Telegram events).
   */
  entry?: { fn(config: z.output<C>, nodeId: string): string | string[] }['fn'];
  /**
   * The activity that performs the node's side effect (http → 'httpRequest'). Its step,
   * `workflows/steps/<type>.ts`, calls exactly this activity, and `activities/index.ts`
   * must provide it: either missing fails the type check.
   */
  activity?: A;
  templates?: ConfigFn<z.output<C>, TemplateRef[]>;
  writes?: ConfigFn<z.output<C>, WriteRef[]>;
  regexes?: ConfigFn<z.output<C>, RegexRef[]>;
  rules?: ConfigFn<z.output<C>, RuleRef[]>;
  /** Canonical form stored in the IR (e.g. '/Start' → 'start'). */
  normalize?: ConfigFn<z.output<C>, z.output<C>>;
  compileChecks?: { fn(config: z.output<C>, context: NodeCheckContext): NodeIssue[] }['fn'];
}

/**
 * Identity helper that infers a spec's type parameters (the activity name as a literal,
 * `never` for nodes without one).
 */
export function defineNode<T extends string, C extends z.ZodType, A extends string = never>(spec: NodeSpec<T, C, A>): NodeSpec<T, C, A> {
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
