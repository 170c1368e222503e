import { z } from 'zod';
import { ruleGroupSchema } from '../rules-schema.ts';
import { field, portIdSchema } from './common.ts';
import { defineNode, l } from './spec.ts';

export const switchCaseSchema = z.object({
  id: field(
    portIdSchema.refine((id) => id !== 'else', "'else' is reserved for the fallback port"),
    l('Case id', 'Id варианта'),
    l('Name of the output port', 'Имя выходного порта'),
  ),
  label: field(z.string().max(200).default(''), l('Label', 'Подпись')),
  rules: field(ruleGroupSchema, l('Rules', 'Правила'), undefined, 'rules'),
});

export const switchConfigSchema = z.object({
  cases: field(
    z
      .array(switchCaseSchema)
      .min(1)
      .max(50)
      .superRefine((cases, ctx) => {
        const seen = new Set<string>();
        cases.forEach((item, i) => {
          if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `Case id '${item.id}' is used twice` });
          seen.add(item.id);
        });
      }),
    l('Cases', 'Варианты'),
    l("Tried top to bottom; the first whose rules hold wins, else 'else'", "Проверяются сверху вниз; срабатывает первый подходящий, иначе 'else'"),
  ),
});
export type SwitchConfig = z.infer<typeof switchConfigSchema>;

export const switchNode = defineNode({
  type: 'switch',
  category: 'logic',
  icon: 'split',
  label: l('Switch', 'Переключатель'),
  help: l(
    "Picks the first case whose rules hold and leaves through its port; 'else' when none does (a missing 'else' edge ends the session).",
    "Выбирает первый вариант, чьи правила выполняются, и уходит через его порт; иначе 'else' (без ребра 'else' сессия завершается).",
  ),
  config: switchConfigSchema,
  defaults: {
    cases: [
      { id: 'yes', label: 'Yes', rules: { condition: 'AND', rules: [{ field: 'message.text', operator: 'in', value: ['yes', 'да'] }] } },
      { id: 'no', label: 'No', rules: { condition: 'AND', rules: [{ field: 'message.text', operator: 'in', value: ['no', 'нет'] }] } },
    ],
  },
  ports: (config) => [
    ...config.cases.map((item) => ({ id: item.id, required: true, label: { en: item.label || item.id, ru: item.label || item.id } })),
    { id: 'else', required: false, label: l('Else', 'Иначе') },
  ],
  rules: (config) => config.cases.map((item, i) => ({ field: `cases.${i}.rules`, rules: item.rules })),
});
