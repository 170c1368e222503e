import { z } from 'zod';
import { agentToolSchema, toolTemplates } from '../agent-tools.ts';
import { credentialIdSchema, field, templateSchema, writableVariableSchema } from './common.ts';
import { defineNode, l, type NodeIssue, type TemplateRef } from './spec.ts';

export const agentMemorySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('window'), turns: z.number().int().min(0).max(25).default(5) }),
  z.object({ kind: z.literal('summary'), turns: z.number().int().min(0).max(25).default(3), maxChars: z.number().int().min(200).max(4000).default(1500) }),
]);

export const agentConfigSchema = z.object({
  credentialId: field(credentialIdSchema, l('Provider', 'Провайдер'), l('An OpenAI-compatible credential (OpenAI, OpenRouter, vLLM, Ollama)', 'Учётные данные OpenAI-совместимого API (OpenAI, OpenRouter, vLLM, Ollama)'), 'credential'),
  model: field(z.string().min(1).max(200), l('Model', 'Модель'), l('Must support tool calls', 'Должна поддерживать вызов инструментов')),
  fallbackModel: field(z.string().min(1).max(200).optional(), l('Fallback model', 'Запасная модель'), l('Tried when the model fails (5xx, 429, unknown model)', 'Используется, если основная модель недоступна')),
  system: field(templateSchema.default(''), l('System prompt', 'Системный промпт'), undefined, 'template'),
  prompt: field(templateSchema.min(1).default('{{ message.text }}'), l('Task', 'Задача'), l('The user turn the agent starts from', 'Сообщение, с которого агент начинает'), 'template'),
  tools: field(z.array(agentToolSchema).max(32).default([]), l('Tools', 'Инструменты'), l('What the model may call: HTTP requests, sub-chains, asking the user, setting a variable, knowledge search', 'Что может вызывать модель: HTTP-запросы, подцепочки, вопрос пользователю, запись переменной, поиск по базе знаний'), 'agent-tools'),
  memory: field(agentMemorySchema.default({ kind: 'window', turns: 5 }), l('Memory', 'Память'), l('Window: the last exchanges; summary: plus a running summary of older ones', 'Окно: последние обмены; сводка: плюс краткое изложение более ранних'), 'select'),
  maxIterations: field(z.number().int().min(1).max(50).default(10), l('Max iterations', 'Макс. итераций'), l("Model calls before leaving through 'max_iterations'", "Вызовов модели до выхода через 'max_iterations'"), 'number'),
  temperature: field(z.number().min(0).max(2).default(0.2), l('Temperature', 'Температура'), undefined, 'slider'),
  maxTokens: field(z.number().int().min(1).max(128_000).default(1024), l('Max tokens', 'Макс. токенов'), undefined, 'number'),
  maxSessionTokens: field(z.number().int().min(1).optional(), l('Token budget per session', 'Бюджет токенов на сессию'), l("Spend cap: past it the node leaves through 'error' (agent_budget)", "Лимит расходов: при превышении — выход через 'error' (agent_budget)"), 'number'),
  spendCapTokens: field(
    z.number().int().min(1).optional(),
    l('Chain spend cap, tokens', 'Лимит расходов цепочки, токенов'),
    l("Tokens all agents of this chain may spend per day or month (UTC), across sessions; past it the node leaves through 'error' (agent_spend_cap)", "Сколько токенов могут потратить все агенты цепочки за день или месяц (UTC), по всем сессиям; при превышении — выход через 'error' (agent_spend_cap)"),
    'number',
  ),
  spendCapPer: field(z.enum(['day', 'month']).optional(), l('Spend cap period', 'Период лимита'), l('day (default) or month, UTC', 'день (по умолчанию) или месяц, UTC'), 'select'),
  output: field(
    z.record(z.string(), z.json()).optional(),
    l('Structured result (JSON Schema)', 'Структурированный результат (JSON Schema)'),
    l('The final answer must be JSON matching it', 'Итоговый ответ должен быть JSON по этой схеме'),
    'json',
  ),
  variable: field(writableVariableSchema, l('Save answer to', 'Сохранить ответ в'), undefined, 'variable'),
  resultVariable: field(writableVariableSchema.optional(), l('Save structured result to', 'Сохранить структурированный результат в'), undefined, 'variable'),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;

export const agentNode = defineNode({
  type: 'agent',
  category: 'integration',
  icon: 'bot',
  label: l('Agent', 'Агент'),
  help: l(
    "A language model that plans, calls tools (HTTP, sub-chains, asking the user, setting a variable) and answers. Each model and tool call is durable; tools may need approval.",
    'Языковая модель, которая планирует, вызывает инструменты (HTTP, подцепочки, вопрос пользователю, запись переменной) и отвечает. Каждый вызов надёжен; инструменты могут требовать подтверждения.',
  ),
  config: agentConfigSchema,
  defaults: { credentialId: '', model: 'gpt-4o-mini', prompt: '{{ message.text }}', variable: 'session.answer', tools: [] },
  ports: [
    { id: 'ok', required: false, label: l('OK', 'Успех') },
    { id: 'error', required: false, label: l('Error', 'Ошибка') },
    { id: 'max_iterations', required: false, label: l('Max iterations', 'Лимит итераций') },
  ],
  errorPorts: ['error', 'max_iterations'],
  waits: (config) => config.tools.some((tool) => tool.kind === 'ask_user' || tool.needsApproval !== 'never'),
  activity: 'agentModel',
  toolCalls: {
    refs: (config) => config.tools.flatMap((tool) => (tool.kind === 'subchain' ? [tool.chainRef] : [])),
    pin: (config, versionOf) => ({
      ...config,
      tools: config.tools.map((tool) => {
        if (tool.kind !== 'subchain' || tool.versionId !== undefined) return tool;
        const versionId = versionOf(tool.chainRef);
        return versionId === undefined ? tool : { ...tool, versionId };
      }),
    }),
  },
  writes: (config) => [{ field: 'variable', variable: config.variable }, ...(config.resultVariable ? [{ field: 'resultVariable', variable: config.resultVariable }] : []), ...config.tools.flatMap((tool, i) => (tool.kind === 'set_variable' ? [{ field: `tools.${i}.variable`, variable: tool.variable }] : []))],
  templates: (config) => {
    const refs: TemplateRef[] = [{ field: 'prompt', text: config.prompt }];
    if (config.system !== '') refs.push({ field: 'system', text: config.system });
    config.tools.forEach((tool, i) => refs.push(...toolTemplates(tool, `tools.${i}`).filter((ref) => !/\{\{\s*args\./.test(ref.text))));
    return refs;
  },
  compileChecks: (config) => {
    const issues: NodeIssue[] = [];
    const seen = new Set<string>();
    config.tools.forEach((tool, i) => {
      if (seen.has(tool.name)) issues.push({ code: 'config_invalid', field: `tools.${i}.name`, message: `Tool '${tool.name}' is named twice`, fix: 'Give each tool its own name' });
      seen.add(tool.name);
    });
    if (config.resultVariable !== undefined && config.output === undefined) {
      issues.push({ code: 'config_invalid', field: 'resultVariable', message: 'A structured result needs an output JSON Schema', fix: "Set 'output' or remove 'resultVariable'" });
    }
    return issues;
  },
});
