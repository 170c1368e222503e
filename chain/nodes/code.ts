import { z } from 'zod';
import { field, writableVariableSchema } from './common.ts';
import { defineNode, l } from './spec.ts';

export const codeConfigSchema = z.object({
  source: field(
    z.string().min(1).max(100_000),
    l('Code', 'Код'),
    l('JavaScript defining main(message, variables); its return value (JSON) is saved. No network or file access.', 'JavaScript с функцией main(message, variables); возвращаемое значение (JSON) сохраняется. Без доступа к сети и файлам.'),
    'code',
  ),
  timeoutMs: field(z.number().int().min(10).max(10_000).default(1000), l('Time limit, ms', 'Лимит времени, мс'), undefined, 'number'),
  memoryMb: field(z.number().int().min(1).max(256).default(32), l('Memory limit, MB', 'Лимит памяти, МБ'), undefined, 'number'),
  variable: field(writableVariableSchema.optional(), l('Save result to', 'Сохранить результат в'), undefined, 'variable'),
});
export type CodeConfig = z.infer<typeof codeConfigSchema>;

const DEFINES_MAIN = /\bfunction\s+main\s*\(|\b(?:const|let|var)\s+main\s*=|\bmain\s*=\s*(?:async\s*)?(?:function|\()/;

export const codeNode = defineNode({
  type: 'code',
  category: 'data',
  icon: 'code',
  label: l('Code', 'Код'),
  help: l(
    "Runs JavaScript in a sandbox with time and memory limits. Exceptions and limits leave through 'error'; without that edge they fail the session.",
    "Выполняет JavaScript в песочнице с лимитами времени и памяти. Исключения и превышения — через 'error'; без этого ребра сессия завершается с ошибкой.",
  ),
  config: codeConfigSchema,
  defaults: {
    source: 'function main(message, variables) {\n  return { length: message.text.length };\n}\n',
    variable: 'session.result',
  },
  ports: [
    { id: 'ok', required: false, label: l('OK', 'Успех') },
    { id: 'error', required: false, label: l('Error', 'Ошибка') },
  ],
  errorPorts: ['error'],
  activity: 'runCode',
  writes: (config) => (config.variable !== undefined ? [{ field: 'variable', variable: config.variable }] : []),
  compileChecks: (config) =>
    DEFINES_MAIN.test(config.source)
      ? []
      : [{ code: 'config_invalid', field: 'source', message: 'The code does not define main(message, variables)', fix: 'Add `function main(message, variables) { … }` returning the result' }],
});
