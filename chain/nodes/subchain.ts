import { z } from 'zod';
import { field, readableVariableSchema, templateSchema, writableVariableSchema } from './common.ts';
import { defineNode, l } from './spec.ts';

export const subchainConfigSchema = z.object({
  chainRef: field(z.string().min(1).max(100), l('Chain', 'Цепочка'), l('Id or slug of the chain to run', 'Id или слаг вызываемой цепочки'), 'chain'),
  versionId: field(z.string().min(1).max(100).optional(), l('Version', 'Версия'), l('Pinned when the caller is published', 'Фиксируется при публикации'), 'select'),
  inputs: field(
    z
      .array(
        z.object({
          param: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "Use letters, digits and '_'"),
          value: templateSchema,
        }),
      )
      .max(50)
      .default([]),
    l('Inputs', 'Входные данные'),
    l('The called chain reads them as run.<param>', 'Вызываемая цепочка читает их как run.<param>'),
    'key-value',
  ),
  outputs: field(
    z.array(z.object({ from: readableVariableSchema, to: writableVariableSchema })).max(50).default([]),
    l('Outputs', 'Результаты'),
    l("Copied back when the called chain ends: its 'from' variable into our 'to' variable", "Копируются по завершении вызванной цепочки: её переменная 'from' в нашу 'to'"),
  ),
});
export type SubchainConfig = z.infer<typeof subchainConfigSchema>;

export const subchainNode = defineNode({
  type: 'subchain',
  category: 'flow',
  icon: 'workflow',
  label: l('Sub-chain', 'Подцепочка'),
  help: l(
    "Runs another chain inline in this session (its questions get this chat's messages), then continues here. It starts at its 'api' start (else its 'any' start).",
    "Выполняет другую цепочку внутри этой сессии (её вопросы получают сообщения этого чата), затем продолжает здесь. Вход — её старт 'api' (иначе 'any').",
  ),
  config: subchainConfigSchema,
  defaults: { chainRef: '', inputs: [], outputs: [] },
  ports: [{ id: 'next', required: false, label: l('Next', 'Далее') }],
  calls: {
    chainRef: (config) => config.chainRef,
    versionId: (config) => config.versionId,
    pin: (config, versionId) => ({ ...config, versionId }),
  },
  writes: (config) => config.outputs.map((output, i) => ({ field: `outputs.${i}.to`, variable: output.to })),
  templates: (config) => config.inputs.map((input, i) => ({ field: `inputs.${i}.value`, text: input.value })),
  compileChecks: (config) => {
    const seen = new Set<string>();
    return config.inputs.flatMap((input, i) => {
      const duplicate = seen.has(input.param);
      seen.add(input.param);
      return duplicate
        ? [{ code: 'config_invalid', field: `inputs.${i}.param`, message: `Input '${input.param}' is given twice`, fix: 'Remove one of them' }]
        : [];
    });
  },
});
