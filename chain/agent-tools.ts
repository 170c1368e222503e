// The agent node's tools: ONE interface for every kind. A tool is `{ kind, name,
// description, needsApproval, ... }`; its kind's entry here gives the config schema, and
// chain/agent-tool-facts.ts gives the JSON schema of its arguments (what the model sees).
// workflows/steps/agent.ts runs it. Adding a kind (e.g. a plugin node)
// is: a schema in AGENT_TOOL_KINDS, a case in toolParameters and a runner. See docs/ai.md.

import { z } from 'zod';
import { httpConfigSchema } from './nodes/http.ts';
import { field, readableVariableSchema, templateSchema, writableVariableSchema } from './nodes/common.ts';
import { l } from './nodes/spec.ts';

/** Tool names as the OpenAI tools API accepts them. */
export const toolNameSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "Use 1–64 letters, digits, '_' or '-'");

const jsonSchemaObject = z.record(z.string(), z.json());

const base = {
  name: field(toolNameSchema, l('Name', 'Имя'), l('The function name the model calls', 'Имя функции, которую вызывает модель')),
  description: field(z.string().max(2000).default(''), l('Description', 'Описание'), l('Tells the model when to use the tool', 'Объясняет модели, когда вызывать инструмент')),
  needsApproval: field(
    z.enum(['never', 'user', 'operator']).default('never'),
    l('Needs approval', 'Требует подтверждения'),
    l("'user': the chat is asked (buttons); 'operator': an operator answers through the API", "'user': спросить в чате (кнопки); 'operator': оператор отвечает через API"),
    'select',
  ),
};

/** Every tool kind's config, by kind. */
export const AGENT_TOOL_KINDS = {
  http: z.object({
    ...base,
    kind: z.literal('http'),
    parameters: field(jsonSchemaObject.default({ type: 'object', properties: {} }), l('Parameters (JSON Schema)', 'Параметры (JSON Schema)'), l('Templates read them as {{ args.name }}', 'В шаблонах: {{ args.name }}'), 'json'),
    request: httpConfigSchema.omit({ responseMapping: true, responseVariable: true }),
  }),
  subchain: z.object({
    ...base,
    kind: z.literal('subchain'),
    chainRef: z.string().min(1).max(100),
    versionId: z.string().min(1).max(100).optional(),
    parameters: field(jsonSchemaObject.optional(), l('Parameters (JSON Schema)', 'Параметры (JSON Schema)'), l('The arguments become the called chain’s run.*; default: a string per input', 'Аргументы становятся run.* вызываемой цепочки'), 'json'),
    inputs: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/)).max(50).default([]),
    outputs: z.array(z.object({ from: readableVariableSchema, as: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/) })).max(50).default([]),
  }),
  ask_user: z.object({ ...base, kind: z.literal('ask_user') }),
  set_variable: z.object({
    ...base,
    kind: z.literal('set_variable'),
    variable: field(writableVariableSchema, l('Variable', 'Переменная'), l('The one variable the model may set', 'Единственная переменная, которую может менять модель'), 'variable'),
    valueSchema: jsonSchemaObject.default({ type: 'string' }),
  }),
  search_knowledge: z.object({
    ...base,
    kind: z.literal('search_knowledge'),
    baseId: field(z.uuid('Use the id of a knowledge base (a UUID)'), l('Knowledge base', 'База знаний'), l('Pick one of the bases you can open; it must be shared with whoever publishes the chain', 'Выберите одну из доступных вам баз; она должна быть доступна тому, кто публикует цепочку'), 'knowledge-base'),
    limit: field(z.number().int().min(1).max(20).default(5), l('Passages', 'Фрагментов'), l('How many of the best passages the model gets (1–20)', 'Сколько лучших фрагментов получает модель (1–20)'), 'number'),
  }),
} as const;

export type AgentToolKind = keyof typeof AGENT_TOOL_KINDS;

export const agentToolSchema = z.discriminatedUnion('kind', [AGENT_TOOL_KINDS.http, AGENT_TOOL_KINDS.subchain, AGENT_TOOL_KINDS.ask_user, AGENT_TOOL_KINDS.set_variable, AGENT_TOOL_KINDS.search_knowledge]);
export type AgentTool = z.infer<typeof agentToolSchema>;

/** Templates of a tool (for the compiler's variable checks); `args.*` is the model's arguments. */
export function toolTemplates(tool: AgentTool, at: string): Array<{ field: string; text: string }> {
  if (tool.kind !== 'http') return [];
  const refs = [{ field: `${at}.request.url`, text: tool.request.url }, ...tool.request.headers.map((h, i) => ({ field: `${at}.request.headers.${i}.value`, text: h.value }))];
  if (tool.request.body.kind === 'json') refs.push({ field: `${at}.request.body.json`, text: tool.request.body.json });
  return refs;
}

export { templateSchema };
