import { z } from 'zod';
import { nodeIdSchema, positionSchema } from '../graph.ts';
import { agentNode } from './agent.ts';
import { askNode } from './ask.ts';
import { codeNode } from './code.ts';
import { conditionNode } from './condition.ts';
import { delayNode } from './delay.ts';
import { endNode } from './end.ts';
import { gotoNode } from './goto.ts';
import { httpNode } from './http.ts';
import { knowledgeNode } from './knowledge.ts';
import { llmNode } from './llm.ts';
import { messageNode } from './message.ts';
import { PLUGIN_TYPE_PATTERN, pluginConfigSchema, pluginNode } from './plugin.ts';
import { setNode } from './set.ts';
import type { NodeSpec } from './spec.ts';
import { splitNode } from './split.ts';
import { startNode } from './start.ts';
import { subchainNode } from './subchain.ts';
import { switchNode } from './switch.ts';

/**
 * Every built-in node spec by type, in palette order: the one list of built-in types.
 * The type ids, the node union, the IR's node types and the interpreter's exhaustive
 * switch all follow from it.
 */
export const nodeSpecs = {
  start: startNode,
  message: messageNode,
  ask: askNode,
  condition: conditionNode,
  switch: switchNode,
  set: setNode,
  delay: delayNode,
  http: httpNode,
  llm: llmNode,
  agent: agentNode,
  knowledge: knowledgeNode,
  code: codeNode,
  subchain: subchainNode,
  split: splitNode,
  goto: gotoNode,
  end: endNode,
} as const;

/** A built-in node type id: 'start', 'message', 'ask', … */
export type BuiltinNodeType = keyof typeof nodeSpecs;

/** Each spec is registered under its own type id; a mismatch fails to compile here. */
type RegisteredUnderOwnType<T extends { [K in BuiltinNodeType]: NodeSpec<K> }> = T;
type _SpecsUnderOwnType = RegisteredUnderOwnType<typeof nodeSpecs>;

/** The activity a built-in node type's spec names (`never` for types without one). */
export type NodeActivity<T extends BuiltinNodeType> = NonNullable<(typeof nodeSpecs)[T]['activity']>;
/** The activity that runs plugin nodes. */
export type PluginActivity = NonNullable<(typeof pluginNode)['activity']>;
/** Every activity a node spec names, plugin nodes' included. */
export type NodeActivityName = NodeActivity<BuiltinNodeType> | PluginActivity;

export function isBuiltinNodeType(type: string): type is BuiltinNodeType {
  return Object.hasOwn(nodeSpecs, type);
}

/** Built-in node type ids, in palette order. */
export const nodeTypes: readonly BuiltinNodeType[] = Object.keys(nodeSpecs).filter(isBuiltinNodeType);

/** The spec for a node type (plugin types share {@link pluginNode}); undefined when unknown. */
export function specFor(type: string): NodeSpec | undefined {
  if (isBuiltinNodeType(type)) return nodeSpecs[type];
  return PLUGIN_TYPE_PATTERN.test(type) ? pluginNode : undefined;
}

function variant<T extends string, C extends z.ZodType>(spec: NodeSpec<T, C, string>) {
  return z.object({
    id: nodeIdSchema,
    type: z.literal(spec.type),
    position: positionSchema.default({ x: 0, y: 0 }),
    data: spec.config,
    label: z.string().max(200).optional(),
  });
}

type Variant<S> = S extends NodeSpec<infer T, infer C, string> ? ReturnType<typeof variant<T, C>> : never;
type BuiltinVariant = { [K in BuiltinNodeType]: Variant<(typeof nodeSpecs)[K]> }[BuiltinNodeType];

/**
 * One variant per registered spec. A map over the keys loses which variant belongs to
 * which key (TypeScript cannot correlate them), so the cast restores what
 * `variant(nodeSpecs[type])` is for each type.
 */
function builtinVariants(): [BuiltinVariant, ...BuiltinVariant[]] {
  return nodeTypes.map((type) => variant<BuiltinNodeType, z.ZodType>(nodeSpecs[type])) as [BuiltinVariant, ...BuiltinVariant[]];
}

/** Built-in node variants, discriminated by `type`: one per entry of {@link nodeSpecs}. */
export const builtinNodeSchema = z.discriminatedUnion('type', builtinVariants());

/** The one variant for plugin node types `plugin:<pluginId>/<type>`. */
export const pluginNodeSchema = z.object({
  id: nodeIdSchema,
  type: z
    .templateLiteral(['plugin:', z.string(), '/', z.string()])
    .refine((type) => PLUGIN_TYPE_PATTERN.test(type), "Plugin node types look like 'plugin:<pluginId>/<type>'"),
  position: positionSchema.default({ x: 0, y: 0 }),
  data: pluginConfigSchema,
  label: z.string().max(200).optional(),
});

/**
 * A fully typed node: the built-in discriminated union plus the plugin variant. (zod's
 * discriminatedUnion needs literal discriminators, so the plugin variant, whose type is a
 * pattern, is joined with a plain union; TypeScript still narrows on `node.type`.)
 */
export const nodeSchema = z.union([builtinNodeSchema, pluginNodeSchema]);
/** Named ChainNode, not Node, so that it does not shadow the DOM's Node in web/. */
export type ChainNode = z.infer<typeof nodeSchema>;
export type BuiltinNode = z.infer<typeof builtinNodeSchema>;
export type PluginNode = z.infer<typeof pluginNodeSchema>;
/** Config type of a built-in node type, e.g. `NodeConfig<'ask'>`. */
export type NodeConfig<T extends BuiltinNodeType> = z.infer<(typeof nodeSpecs)[T]['config']>;
