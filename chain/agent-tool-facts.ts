// What the workflow needs to know of an agent tool without zod: the JSON schema of its
// arguments (sent to the model and checked before the tool runs). One case per kind of
// chain/agent-tools.ts.

import type { JsonObject, JsonValue } from './json.ts';

/** A tool as the IR holds it (validated at compile time by chain/agent-tools.ts). */
export interface AgentToolFacts {
  kind: string;
  name: string;
  description: string;
  needsApproval: 'never' | 'user' | 'operator';
  parameters?: JsonObject;
  inputs?: string[];
  valueSchema?: JsonObject;
  [key: string]: JsonValue | undefined;
}

/** The JSON schema of a tool's arguments. */
export function toolParameters(tool: AgentToolFacts): JsonObject {
  switch (tool.kind) {
    case 'ask_user':
      return { type: 'object', properties: { question: { type: 'string', minLength: 1, maxLength: 2000 } }, required: ['question'], additionalProperties: false };
    case 'search_knowledge':
      return { type: 'object', properties: { query: { type: 'string', minLength: 1, maxLength: 2000 } }, required: ['query'], additionalProperties: false };
    case 'set_variable':
      return { type: 'object', properties: { value: tool.valueSchema ?? {} }, required: ['value'], additionalProperties: false };
    case 'subchain': {
      if (tool.parameters && Object.keys(tool.parameters).length > 0) return tool.parameters;
      const inputs = tool.inputs ?? [];
      return { type: 'object', properties: Object.fromEntries(inputs.map((name) => [name, { type: 'string' }])), required: inputs, additionalProperties: false };
    }
    default:
      return tool.parameters ?? { type: 'object', properties: {} };
  }
}
