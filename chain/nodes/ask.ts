import { z } from 'zod';
import { choicesOf } from '../answer.ts';
import { validatorSchema } from './ask-validator.ts';
import {
  buttonsSchema,
  buttonTemplates,
  durationSchema,
  field,
  formatSchema,
  templateSchema,
  variantLanguageIssues,
  variantsSchema,
  writableVariableSchema,
} from './common.ts';
import { defineNode, l, type NodeIssue, type Port, type TemplateRef } from './spec.ts';

export const askConfigSchema = z.object({
  prompt: field(templateSchema.min(1), l('Question', 'Вопрос'), l('Sent before waiting for the reply', 'Отправляется перед ожиданием ответа'), 'template'),
  format: formatSchema,
  buttons: buttonsSchema.optional(),
  variants: variantsSchema(
    z.object({ prompt: templateSchema.min(1), buttons: buttonsSchema.optional(), retryText: templateSchema.optional() }),
  ),
  variable: field(writableVariableSchema, l('Save answer to', 'Сохранить ответ в'), l("E.g. 'session.email' or 'user.name' (kept across sessions)", "Например 'session.email' или 'user.name' (сохраняется между сессиями)"), 'variable'),
  validator: field(validatorSchema.default({ kind: 'none' }), l('Validation', 'Проверка'), undefined, 'select'),
  retries: field(
    z.number().int().min(0).max(10).default(2),
    l('Retries', 'Повторы'),
    l("How many times to re-ask after an invalid reply before leaving through 'invalid'", "Сколько раз переспросить после неверного ответа, прежде чем уйти по 'invalid'"),
    'number',
  ),
  retryText: field(templateSchema.optional(), l('Re-ask text', 'Текст повтора'), l('Sent after an invalid reply; the question is repeated when empty', 'Отправляется после неверного ответа; если пусто — повторяется вопрос'), 'template'),
  timeout: field(
    durationSchema.optional(),
    l('Timeout', 'Таймаут'),
    l("Stop waiting after e.g. '15m', '3d' or 'PT1H' and leave through 'timeout'", "Перестать ждать через, например, '15m', '3d' или 'PT1H' и уйти по 'timeout'"),
    'duration',
  ),
});
export type AskConfig = z.infer<typeof askConfigSchema>;


export const askNode = defineNode({
  type: 'ask',
  category: 'messaging',
  icon: 'message-circle-question',
  label: l('Ask', 'Вопрос'),
  help: l(
    "Asks a question, waits for the reply, validates it and saves it to a variable. Invalid replies are re-asked; after the retries the session leaves through 'invalid'.",
    "Задаёт вопрос, ждёт ответ, проверяет и сохраняет его в переменную. Неверный ответ переспрашивается; после всех повторов сессия уходит по 'invalid'.",
  ),
  config: askConfigSchema,
  defaults: { prompt: "What's your name?", variable: 'session.answer', retries: 2 },
  ports: (config) => {
    const ports: Port[] = [
      { id: 'next', required: false, label: l('Answer', 'Ответ') },
      { id: 'invalid', required: false, label: l('Invalid', 'Неверно') },
    ];
    if (config.timeout !== undefined) ports.push({ id: 'timeout', required: false, label: l('Timeout', 'Таймаут') });
    return ports;
  },
  errorPorts: ['invalid', 'timeout'],
  optionalPorts: { timeout: 'set a timeout on the ask node' },
  waits: true,
  writes: (config) => [{ field: 'variable', variable: config.variable }],
  regexes: (config) => (config.validator.kind === 'regex' ? [{ field: 'validator.pattern', pattern: config.validator.pattern }] : []),
  templates: (config) => {
    const refs: TemplateRef[] = [{ field: 'prompt', text: config.prompt }, ...buttonTemplates(config.buttons, 'buttons')];
    if (config.retryText !== undefined) refs.push({ field: 'retryText', text: config.retryText });
    for (const [language, variant] of Object.entries(config.variants ?? {})) {
      refs.push({ field: `variants.${language}.prompt`, text: variant.prompt }, ...buttonTemplates(variant.buttons, `variants.${language}.buttons`));
      if (variant.retryText !== undefined) refs.push({ field: `variants.${language}.retryText`, text: variant.retryText });
    }
    return refs;
  },
  compileChecks: (config, context) => {
    const issues: NodeIssue[] = variantLanguageIssues(config.variants, context.languages);
    const validator = config.validator;
    if (validator.kind === 'number' && validator.min !== undefined && validator.max !== undefined && validator.min > validator.max) {
      issues.push({ code: 'config_invalid', field: 'validator.min', message: `Minimum ${validator.min} is greater than maximum ${validator.max}`, fix: 'Swap the minimum and maximum' });
    }
    if (validator.kind === 'choice' && choicesOf(validator, config.buttons).length === 0) {
      issues.push({ code: 'config_invalid', field: 'validator.choices', message: 'Choice validation has no choices and no answer buttons', fix: 'List the accepted answers, or add buttons to the question' });
    }
    return issues;
  },
});
