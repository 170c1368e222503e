import { z } from 'zod';
import { field, portIdSchema } from './common.ts';
import { defineNode, l } from './spec.ts';

export const splitConfigSchema = z.object({
  variants: field(
    z
      .array(
        z.object({
          id: field(portIdSchema, l('Variant id', 'Id варианта'), l('Name of the output port', 'Имя выходного порта')),
          label: field(z.string().max(200).default(''), l('Label', 'Подпись')),
          weight: field(z.number().min(0).max(1_000_000).default(1), l('Weight', 'Вес'), l('Relative share of sessions', 'Относительная доля сессий'), 'number'),
        }),
      )
      .min(2)
      .max(10)
      .superRefine((variants, ctx) => {
        const seen = new Set<string>();
        variants.forEach((variant, i) => {
          if (seen.has(variant.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `Variant id '${variant.id}' is used twice` });
          seen.add(variant.id);
        });
        if (variants.every((variant) => variant.weight === 0)) ctx.addIssue({ code: 'custom', message: 'At least one variant needs a weight above 0' });
      }),
    l('Variants', 'Варианты'),
  ),
});
export type SplitConfig = z.infer<typeof splitConfigSchema>;

export const splitNode = defineNode({
  type: 'split',
  category: 'logic',
  icon: 'flask-conical',
  label: l('A/B split', 'A/B-тест'),
  help: l(
    'Sends each session down one variant by weight. The choice is deterministic per session and node, so replays and retries agree.',
    'Направляет сессию в один из вариантов по весам. Выбор детерминирован для сессии и узла, поэтому повторы совпадают.',
  ),
  config: splitConfigSchema,
  defaults: { variants: [{ id: 'a', label: 'A', weight: 50 }, { id: 'b', label: 'B', weight: 50 }] },
  ports: (config) => config.variants.map((variant) => ({ id: variant.id, required: true, label: { en: variant.label || variant.id, ru: variant.label || variant.id } })),
});
