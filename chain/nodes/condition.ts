import { z } from 'zod';
import { ruleGroupSchema } from '../rules-schema.ts';
import { field } from './common.ts';
import { defineNode, l } from './spec.ts';

export const conditionConfigSchema = z.object({
  rules: field(
    ruleGroupSchema.default({ condition: 'AND', rules: [] }),
    l('Rules', 'Правила'),
    l("When they hold the session goes through 'true', otherwise through 'false'", "Если выполняются — переход по 'true', иначе по 'false'"),
    'rules',
  ),
});
export type ConditionConfig = z.infer<typeof conditionConfigSchema>;

export const conditionNode = defineNode({
  type: 'condition',
  category: 'logic',
  icon: 'git-branch',
  label: l('Condition', 'Условие'),
  help: l(
    "Checks rules on variables and branches: 'true' or 'false'. A missing 'false' edge ends the session.",
    "Проверяет правила по переменным и ветвится: 'true' или 'false'. Без ребра 'false' сессия завершается.",
  ),
  config: conditionConfigSchema,
  defaults: { rules: { condition: 'AND', rules: [{ field: 'message.text', operator: 'equals', value: 'yes' }] } },
  ports: [
    { id: 'true', required: true, label: l('True', 'Да') },
    { id: 'false', required: false, label: l('False', 'Нет') },
  ],
  rules: (config) => [{ field: 'rules', rules: config.rules }],
  compileChecks: (config) =>
    config.rules.rules.length === 0
      ? [{ code: 'rules_empty', field: 'rules', message: "The condition has no rules, so it always goes through 'true'", fix: 'Add a rule, or remove the condition', severity: 'warning' }]
      : [],
});
