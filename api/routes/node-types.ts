import { z } from 'zod';
import { nodeSpecs, nodeTypes, portsOf, waitsOf, type NodeSpec } from '../../chain/index.ts';
import { authorize } from '../policy.ts';
import { nodeTypeListSchema } from '../schemas/node-types.ts';
import { defineOperation, type Operation } from './define.ts';
import { pluginNode } from '../../chain/nodes/plugin.ts';
import { processPlugins } from '../../lib/plugins/process.ts';
import type { PluginRegistry } from '../../lib/plugins/host.ts';

/** The registry entries of the loaded plugins' node types (ports and waits of the shared plugin spec). */
export function describePluginNodeTypes(registry: PluginRegistry) {
  const base = describeNodeType(pluginNode);
  const installed = new Set(registry.installedTypes());
  return registry.list().flatMap((status) =>
    (status.manifest?.nodes ?? [])
      .filter((node) => installed.has(node.type))
      .map((node) => ({ ...base, type: node.type, icon: node.icon, label: node.label, help: node.help, defaults: node.defaults, configSchema: node.configSchema, plugin: { id: status.id, version: status.version ?? '' } })),
  );
}

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

/** `GET /node-types`: the built-in node registry and the loaded plugins' node types (recomputed after each plugin change). */
export function nodeTypeOperations(): Operation[] {
  let builtIns: ReturnType<typeof describeNodeType>[] | undefined;
  let cached: { registry: PluginRegistry | undefined; change: number; items: ReturnType<typeof describeNodeType>[] } | undefined;
  return [
    defineOperation({
      method: 'get',
      path: '/node-types',
      operationId: 'listNodeTypes',
      summary: 'The node types the editor offers, with config schemas, ports and ru/en labels',
      tags: ['node types'],
      auth: 'bearer',
      responses: { 200: { description: 'Every built-in node type, in palette order, then the loaded plugins\' node types', schema: nodeTypeListSchema } },
      handler: ({ res, principal }) => {
        authorize(principal, 'node-types:read');
        builtIns ??= nodeTypes.map((type) => describeNodeType(nodeSpecs[type]));
        const registry = processPlugins();
        const change = registry?.changeCount ?? 0;
        if (!cached || cached.registry !== registry || cached.change !== change) {
          cached = { registry, change, items: [...builtIns, ...(registry ? describePluginNodeTypes(registry) : [])] };
        }
        res.json({ items: cached.items, total: cached.items.length });
      },
    }),
  ];
}
