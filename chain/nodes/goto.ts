import { z } from 'zod';
import { nodeIdSchema } from '../graph.ts';
import { field } from './common.ts';
import { defineNode, l } from './spec.ts';

export const gotoConfigSchema = z.object({
  target: field(nodeIdSchema, l('Go to', 'Перейти к'), l('Node to continue from', 'Узел, с которого продолжить'), 'node'),
});
export type GotoConfig = z.infer<typeof gotoConfigSchema>;

export const gotoNode = defineNode({
  type: 'goto',
  category: 'flow',
  icon: 'corner-down-right',
  label: l('Go to', 'Переход'),
  help: l('Jumps to another node of this chain without drawing an arrow across the canvas.', 'Переходит к другому узлу цепочки без стрелки через весь холст.'),
  config: gotoConfigSchema,
  defaults: { target: '' },
  ports: [],
  jumps: (config) => [config.target],
  compileChecks: (config, context) =>
    context.nodeIds.has(config.target)
      ? []
      : [{ code: 'goto_unknown_target', field: 'target', message: `Go-to target '${config.target}' is not a node of this chain`, fix: 'Pick an existing node as the target' }],
});
