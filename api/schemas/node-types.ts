import { z } from 'zod';
import { listOf } from './common.ts';

export const nodeTypeSchema = z
  .object({
    type: z.string(),
    category: z.enum(['trigger', 'messaging', 'logic', 'data', 'integration', 'flow']),
    icon: z.string().meta({ description: 'Lucide icon name' }),
    label: z.object({ en: z.string(), ru: z.string() }),
    help: z.object({ en: z.string(), ru: z.string() }),
    ports: z
      .array(z.object({ id: z.string(), required: z.boolean(), label: z.object({ en: z.string(), ru: z.string() }).optional() }))
      .meta({ description: 'Output ports (for dynamic ports: those of the default config)' }),
    dynamicPorts: z.boolean().meta({ description: 'Ports depend on the config (switch cases, split variants)' }),
    waits: z.boolean().meta({ description: 'The node can suspend the session (ask, delay) with its default config' }),
    defaults: z.unknown().meta({ description: 'Config of a freshly dropped node' }),
    configSchema: z.record(z.string(), z.unknown()).meta({ description: 'JSON Schema (2020-12) of the config, with label/help/widget per field for form generation' }),
    plugin: z.object({ id: z.string(), version: z.string() }).optional().meta({ description: 'The plugin providing a `plugin:<id>/<type>` node type' }),
  })
  .meta({ id: 'NodeType' });

export const nodeTypeListSchema = listOf(nodeTypeSchema, 'NodeTypeList');
