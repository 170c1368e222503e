import { z } from 'zod';
import { nodeIdSchema, positionSchema } from '../graph.ts';
import { askNode } from './ask.ts';
import { codeNode } from './code.ts';
import { conditionNode } from './condition.ts';
import { delayNode } from './delay.ts';
import { endNode } from './end.ts';
import { gotoNode } from './goto.ts';
import { httpNode } from './http.ts';
import { llmNode } from './llm.ts';
import { messageNode } from './message.ts';
import { PLUGIN_TYPE_PATTERN, pluginConfigSchema, pluginNode } from './plugin.ts';
import { setNode } from './set.ts';
import { builtinNodeTypes, type BuiltinNodeType, type NodeSpec } from './spec.ts';
import { splitNode } from './split.ts';
import { startNode } from './start.ts';
import { subchainNode } from './subchain.ts';
import { switchNode } from './switch.ts';

/** Every built-in node spec by type; a built-in type without a spec does not compile. */
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
  code: codeNode,
  subchain: subchainNode,
  split: splitNode,
  goto: gotoNode,
  end: endNode,
} as const satisfies { [K in BuiltinNodeType]: NodeSpec<K> };

/** Built-in node type ids, in palette order. */
export const nodeTypes: readonly BuiltinNodeType[] = builtinNodeTypes;

export function isBuiltinNodeType(type: string): type is BuiltinNodeType {
  return Object.hasOwn(nodeSpecs, type);
}

/** The spec for a node type (plugin types share {@link pluginNode}); undefined when unknown. */
export function specFor(type: string): NodeSpec | undefined {
  if (isBuiltinNodeType(type)) return nodeSpecs[type];
  return PLUGIN_TYPE_PATTERN.test(type) ? pluginNode : undefined;
}

function variant<T extends BuiltinNodeType, C extends z.ZodType>(spec: NodeSpec<T, C>) {
  return z.object({
    id: nodeIdSchema,
    type: z.literal(spec.type),
    position: positionSchema.default({ x: 0, y: 0 }),
    data: spec.config,
    label: z.string().max(200).optional(),
  });
}

/** Built-in node variants, discriminated by `type`. */
export const builtinNodeSchema = z.discriminatedUnion('type', [
  variant(startNode),
  variant(messageNode),
  variant(askNode),
  variant(conditionNode),
  variant(switchNode),
  variant(setNode),
  variant(delayNode),
  variant(httpNode),
  variant(llmNode),
  variant(codeNode),
  variant(subchainNode),
  variant(splitNode),
  variant(gotoNode),
  variant(endNode),
]);

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
