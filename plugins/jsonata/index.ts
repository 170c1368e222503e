import { definePlugin, node, z } from 'chainflow/plugin-sdk';
import { inputOf, transform } from './transform.ts';

export default definePlugin({
  id: 'jsonata',
  version: '1.0.0',
  title: { en: 'JSONata', ru: 'JSONata' },
  description: { en: 'Transforms JSON with a JSONata expression (https://jsonata.org).', ru: 'Преобразует JSON выражением JSONata (https://jsonata.org).' },
  author: 'Chainflow',
  chainflow: '>=0.1.0',
  nodes: {
    transform: node({
      label: { en: 'JSONata transform', ru: 'Преобразование JSONata' },
      help: {
        en: "Evaluates a JSONata expression over the input and saves the result; 'error' when the expression does not parse or fails.",
        ru: "Вычисляет выражение JSONata над входными данными и сохраняет результат; 'error', если выражение не разбирается или падает.",
      },
      icon: 'braces',
      config: z.object({
        expression: z.string().min(1).max(10_000).meta({ label: { en: 'Expression', ru: 'Выражение' }, help: { en: 'e.g. $sum(items.price)', ru: 'например $sum(items.price)' } }),
        input: z
          .string()
          .max(100_000)
          .default('')
          .meta({ label: { en: 'Input', ru: 'Вход' }, help: { en: 'A template, e.g. {{ session.order }}; JSON or text. Empty: all variables.', ru: 'Шаблон, например {{ session.order }}; JSON или текст. Пусто: все переменные.' } }),
        variable: z.string().default('session.result').meta({ label: { en: 'Save to', ru: 'Сохранить в' } }),
      }),
      async run(ctx, config) {
        try {
          const result = await transform(config.expression, inputOf(config.input, ctx.vars));
          return { ok: true, set: { [config.variable]: result } };
        } catch (error) {
          return { ok: false, error: { code: 'jsonata_failed', message: error instanceof Error ? error.message : String(error) } };
        }
      },
    }),
  },
});
