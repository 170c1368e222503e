// zod schemas of rule trees (validation, editor forms, OpenAPI). The evaluator in
// rules.ts is zod-free so the workflow bundle stays small.
import { z } from 'zod';

const scalarSchema = z.union([z.string(), z.number(), z.boolean()]);
export const ruleValueSchema = z.union([scalarSchema, z.null(), z.array(scalarSchema)]);

/** One comparison. `operator` is a string here so that checkRules can explain unknown ones. */
export const ruleSchema = z.object({
  field: z.string().meta({ label: { en: 'Variable', ru: 'Переменная' }, widget: 'variable' }),
  operator: z.string().meta({ label: { en: 'Operator', ru: 'Оператор' }, widget: 'rule-operator' }),
  value: ruleValueSchema.optional().meta({ label: { en: 'Value', ru: 'Значение' }, widget: 'template' }),
  caseSensitive: z.boolean().optional().meta({ label: { en: 'Case sensitive', ru: 'С учётом регистра' } }),
});

export const ruleGroupSchema = z
  .object({
    condition: z.enum(['AND', 'OR']).default('AND'),
    not: z.boolean().optional(),
    get rules(): z.ZodArray<z.ZodUnion<readonly [typeof ruleSchema, typeof ruleGroupSchema]>> {
      return z.array(z.union([ruleSchema, ruleGroupSchema]));
    },
  })
  .meta({ id: 'RuleGroup', widget: 'rules' });

export type Rule = z.infer<typeof ruleSchema>;
export type RuleGroup = z.infer<typeof ruleGroupSchema>;
export type RuleGroupInput = z.input<typeof ruleGroupSchema>;
