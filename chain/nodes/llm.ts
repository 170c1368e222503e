import { z } from 'zod';
import { credentialIdSchema, field, templateSchema, writableVariableSchema } from './common.ts';
import { defineNode, l, type TemplateRef } from './spec.ts';

export const llmOutputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text') }),
  z.object({
    kind: z.literal('json'),
    schema: field(
      z.record(z.string(), z.json()).optional(),
      l('JSON Schema', 'JSON Schema'),
      l('Structured output: the reply is parsed and checked against it', 'Структурированный ответ: разбирается и проверяется по схеме'),
      'json',
    ),
  }),
]);

export const llmConfigSchema = z.object({
  credentialId: field(credentialIdSchema, l('Provider', 'Провайдер'), l('An OpenAI-compatible credential (OpenAI, OpenRouter, vLLM, Ollama)', 'Учётные данные OpenAI-совместимого API (OpenAI, OpenRouter, vLLM, Ollama)'), 'credential'),
  model: field(z.string().min(1).max(200), l('Model', 'Модель'), l("E.g. 'gpt-4o-mini' or 'llama3.1:8b'", "Например 'gpt-4o-mini' или 'llama3.1:8b'")),
  system: field(templateSchema.default(''), l('System prompt', 'Системный промпт'), undefined, 'template'),
  prompt: field(templateSchema.min(1).default('{{ message.text }}'), l('Prompt', 'Промпт'), undefined, 'template'),
  temperature: field(z.number().min(0).max(2).default(0.7), l('Temperature', 'Температура'), undefined, 'slider'),
  maxTokens: field(z.number().int().min(1).max(128_000).default(1024), l('Max tokens', 'Макс. токенов'), undefined, 'number'),
  output: field(llmOutputSchema.default({ kind: 'text' }), l('Output', 'Ответ'), undefined, 'select'),
  memory: field(
    z.object({ turns: z.number().int().min(0).max(50).default(0) }).default({ turns: 0 }),
    l('Memory', 'Память'),
    l('How many previous exchanges of the conversation (user messages and bot replies) are sent along', 'Сколько предыдущих обменов диалога (сообщения пользователя и ответы бота) отправлять вместе с запросом'),
  ),
  variable: field(writableVariableSchema, l('Save reply to', 'Сохранить ответ в'), undefined, 'variable'),
});
export type LlmConfig = z.infer<typeof llmConfigSchema>;

export const llmNode = defineNode({
  type: 'llm',
  category: 'integration',
  icon: 'sparkles',
  label: l('LLM', 'Языковая модель (LLM)'),
  help: l(
    "Asks a language model (OpenAI-compatible API) and saves the reply. Failures leave through 'error'; without that edge they fail the session.",
    "Запрос к языковой модели (OpenAI-совместимый API), ответ сохраняется в переменную. Ошибки — через 'error'; без этого ребра сессия завершается с ошибкой.",
  ),
  config: llmConfigSchema,
  defaults: { credentialId: '', model: 'gpt-4o-mini', prompt: '{{ message.text }}', variable: 'session.reply' },
  ports: [
    { id: 'ok', required: false, label: l('OK', 'Успех') },
    { id: 'error', required: false, label: l('Error', 'Ошибка') },
  ],
  errorPorts: ['error'],
  activity: 'llmComplete',
  writes: (config) => [{ field: 'variable', variable: config.variable }],
  templates: (config) => {
    const refs: TemplateRef[] = [{ field: 'prompt', text: config.prompt }];
    if (config.system !== '') refs.push({ field: 'system', text: config.system });
    return refs;
  },
});
