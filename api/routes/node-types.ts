import { z } from 'zod';
import { nodeSpecs, nodeTypes, portsOf, waitsOf, type NodeSpec } from '../../chain/index.ts';
import { authorize } from '../policy.ts';
import { nodeTypeListSchema } from '../schemas/node-types.ts';
import { defineOperation, type Operation } from './define.ts';

/** One registry entry: palette facts, ports and the config's JSON Schema (forms are generated from it). */
export function describeNodeType(spec: NodeSpec) {
  const defaults = spec.config.safeParse(spec.defaults);
  const config = defaults.success ? defaults.data : undefined;
  return {
    type: spec.type,
    category: spec.category,
    icon: spec.icon,
    label: spec.label,
    help: spec.help,
    ports: config === undefined && typeof spec.ports === 'function' ? [] : [...portsOf(spec, config)],
    dynamicPorts: typeof spec.ports === 'function',
    waits: config === undefined && typeof spec.waits === 'function' ? false : waitsOf(spec, config),
    defaults: spec.defaults ?? {},
    configSchema: z.toJSONSchema(spec.config, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
  };
}

/** `GET /node-types`: the built-in node registry. */
export function nodeTypeOperations(): Operation[] {
  let cached: ReturnType<typeof describeNodeType>[] | undefined;
  return [
    defineOperation({
      method: 'get',
      path: '/node-types',
      operationId: 'listNodeTypes',
      summary: 'The node types the editor offers, with config schemas, ports and ru/en labels',
      tags: ['node types'],
      auth: 'bearer',
      responses: { 200: { description: 'Every built-in node type, in palette order', schema: nodeTypeListSchema } },
      handler: ({ res, principal }) => {
        authorize(principal, 'node-types:read');
        cached ??= nodeTypes.map((type) => describeNodeType(nodeSpecs[type]));
        res.json({ items: cached, total: cached.length });
      },
    }),
  ];
}
