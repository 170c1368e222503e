import { z } from 'zod';
import { field } from './common.ts';
import { defineNode, l } from './spec.ts';

export const endConfigSchema = z.object({
  outcome: field(
    z.string().regex(/^[a-z0-9_-]{1,64}$/, "Use 1–64 of a-z, 0-9, '_' and '-'").optional(),
    l('Outcome', 'Итог'),
    l("Recorded on the run, e.g. 'subscribed'; a sub-chain's caller reads it as session.outcome", "Сохраняется в запуске, например 'subscribed'; вызывающая цепочка видит его как session.outcome"),
  ),
});
export type EndConfig = z.infer<typeof endConfigSchema>;

export const endNode = defineNode({
  type: 'end',
  category: 'flow',
  icon: 'square',
  label: l('End', 'Конец'),
  help: l(
    'Ends the session (in a sub-chain: returns to the caller). Falling off a node with no matching edge does the same.',
    'Завершает сессию (в подцепочке — возврат к вызвавшей). То же происходит, если у узла нет подходящего ребра.',
  ),
  config: endConfigSchema,
  defaults: {},
  ports: [],
  terminal: true,
});
