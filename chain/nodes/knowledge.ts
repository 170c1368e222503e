import { z } from 'zod';
import { field, templateSchema, writableVariableSchema } from './common.ts';
import { defineNode, l } from './spec.ts';

export const knowledgeConfigSchema = z.object({
  baseId: field(z.uuid('Use the id of a knowledge base (a UUID, shown on the base’s page and returned by GET /api/v1/knowledge-bases)'), l('Knowledge base', 'База знаний'), l('Pick one of the bases you can open; it must be shared with whoever publishes the chain', 'Выберите одну из доступных вам баз; она должна быть доступна тому, кто публикует цепочку'), 'knowledge-base'),
  query: field(templateSchema.min(1).default('{{ message.text }}'), l('Query', 'Запрос'), l('What to look for; may use {{ variables }}', 'Что искать; можно использовать {{ переменные }}'), 'template'),
  limit: field(z.number().int().min(1).max(20).default(5), l('Passages', 'Фрагментов'), l('How many of the best matching passages to keep (1–20)', 'Сколько лучших фрагментов сохранить (1–20)'), 'number'),
  variable: field(
    writableVariableSchema,
    l('Save results to', 'Сохранить результаты в'),
    l('Stores { query, text, citations }: text is the numbered passages ready for a prompt', 'Сохраняет { query, text, citations }: text — пронумерованные фрагменты, готовые для промпта'),
    'variable',
  ),
});
export type KnowledgeConfig = z.infer<typeof knowledgeConfigSchema>;

export const knowledgeNode = defineNode({
  type: 'knowledge',
  category: 'data',
  icon: 'book-open',
  label: l('Knowledge search', 'Поиск по базе знаний'),
  help: l(
    "Searches a knowledge base (full text and embeddings) and saves the best passages with their sources. 'ok' when something matched, 'empty' when nothing did, 'error' when the search failed (details in session.error).",
    "Ищет в базе знаний (полнотекстовый и векторный поиск) и сохраняет лучшие фрагменты с источниками. 'ok' — что-то найдено, 'empty' — ничего, 'error' — поиск не удался (подробности в session.error).",
  ),
  config: knowledgeConfigSchema,
  defaults: { baseId: '', query: '{{ message.text }}', limit: 5, variable: 'session.knowledge' },
  ports: [
    { id: 'ok', required: false, label: l('Found', 'Найдено') },
    { id: 'empty', required: false, label: l('Nothing found', 'Ничего не найдено') },
    { id: 'error', required: false, label: l('Error', 'Ошибка') },
  ],
  errorPorts: ['error'],
  activity: 'searchKnowledge',
  writes: (config) => [{ field: 'variable', variable: config.variable }],
  templates: (config) => [{ field: 'query', text: config.query }],
});
