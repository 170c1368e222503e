// The part of the chain language that runs inside workflows: evaluating, rendering and
// stepping helpers with no zod schemas and no module-level state worth copying. The
// Temporal sandbox keeps per-workflow copies of module state, so the workflow bundle
// imports this entry only (lint enforces it); a zod-free bundle costs ~0.4 MB per cached
// session instead of ~2.5 MB (see docs/performance.md).
export { validateAnswer } from './answer.ts';
export type { Answer, AnswerCheck } from './answer.ts';
export { applyAssignments } from './assign.ts';
export type { AssignmentProblem } from './assign.ts';
export { resolveDelay } from './delay-time.ts';
export { parseCommand, findEntry, findEventEntry, resolveLanguage, localizeMessage, localizeAsk } from './entries.ts';
export { evaluateRules } from './rules.ts';
export type { Rule, RuleGroup } from './rules-schema.ts';
export { parseTemplate, renderTemplate, valueToText } from './template.ts';
export { getVariable, setVariable, unsetVariable, createScope } from './scope.ts';
export type { Scope, ReadableScope } from './scope.ts';
export { parseDuration } from './duration.ts';
export { chooseVariant } from './split.ts';
export { mapNode } from './node-map.ts';
export type { NodeMapping } from './node-map.ts';
export { regexTest } from './regex.ts';
export type { ChainIR, IrNode, BuiltinIrNode, PluginIrNode, IrEdge } from './ir.ts';
export type { NodeActivity, PluginActivity } from './nodes/index.ts';
export type { JsonObject, JsonValue } from './json.ts';
export { sanitizeForStorage, findUnstorable, clipText, utf8Length } from './storable.ts';
export { checkJsonSchema } from './json-schema-check.ts';
export { toolParameters } from './agent-tool-facts.ts';
export type { AgentToolFacts } from './agent-tool-facts.ts';
