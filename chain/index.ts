// The chain language: public surface. Pure, deterministic, no I/O — safe in the
// workflow sandbox, the API and the browser.

export { graphSchema, graphNodeSchema, graphEdgeSchema, variableDeclarationSchema, nodeIdSchema, languageSchema, slugSchema } from './graph.ts';
export type { Graph, GraphInput, GraphNode, GraphEdge, VariableDeclaration } from './graph.ts';

export { nodeSpecs, nodeTypes, nodeSchema, builtinNodeSchema, pluginNodeSchema, specFor, isBuiltinNodeType } from './nodes/index.ts';
export type { BuiltinNodeType, ChainNode, BuiltinNode, PluginNode, NodeConfig, NodeActivity, NodeActivityName, PluginActivity } from './nodes/index.ts';
export { portsOf, waitsOf } from './nodes/spec.ts';
export type { NodeSpec, NodeCategory, Port, Localized, FieldMeta, Widget, NodeIssue } from './nodes/spec.ts';
export { PLUGIN_TYPE_PATTERN, parsePluginType, isPluginType } from './nodes/plugin.ts';
export type { PluginNodeType } from './nodes/plugin.ts';
export { entryKey, entryKeys, normalizeCommand, telegramEventKey, TELEGRAM_EVENTS, type TelegramEvent } from './nodes/start.ts';
export type { Trigger } from './nodes/start.ts';
export { validateAnswer } from './answer.ts';
export type { Answer, AnswerCheck } from './answer.ts';
export type { AnswerValidator } from './nodes/ask-validator.ts';
export { applyAssignments } from './assign.ts';
export type { AssignmentProblem } from './assign.ts';
export type { Assignment } from './nodes/set.ts';
export { resolveDelay } from './delay-time.ts';
export type { DelayConfig } from './nodes/delay.ts';
export type { MessageConfig } from './nodes/message.ts';
export type { AskConfig } from './nodes/ask.ts';
export type { ConditionConfig } from './nodes/condition.ts';
export type { SwitchConfig } from './nodes/switch.ts';
export type { SetConfig } from './nodes/set.ts';
export type { HttpConfig } from './nodes/http.ts';
export type { LlmConfig } from './nodes/llm.ts';
export type { CodeConfig } from './nodes/code.ts';
export type { SubchainConfig } from './nodes/subchain.ts';
export type { SplitConfig } from './nodes/split.ts';
export type { GotoConfig } from './nodes/goto.ts';
export type { EndConfig } from './nodes/end.ts';
export type { StartConfig } from './nodes/start.ts';
export type { Buttons } from './nodes/common.ts';
export { parseCommand, findEntry, findEventEntry, resolveLanguage, localizeMessage, localizeAsk } from './entries.ts';

export { compileChain } from './compile/index.ts';
export type { CompileOptions, CompileResult } from './compile/index.ts';
export { compileErrorCodes } from './compile-errors.ts';
export type { CompileError, CompileErrorCode } from './compile-errors.ts';
export { hashIr, IR_FORMAT_VERSION } from './ir.ts';
export type { ChainIR, IrNode, BuiltinIrNode, PluginIrNode, IrEdge, IrVariable, CompiledChain } from './ir.ts';

export { evaluateRules, checkRules, ruleVariables, ruleOperators, ruleOperatorInfo } from './rules.ts';
export { ruleSchema, ruleGroupSchema, ruleValueSchema } from './rules-schema.ts';
export type { Rule, RuleGroup, RuleGroupInput, RuleOperator, RuleProblem } from './rules.ts';
export { checkRegex, regexTest, MAX_REGEX_INPUT } from './regex.ts';

export { parseTemplate, renderTemplate, hasExpressions, valueToText, templateFilters } from './template.ts';
export type { ParsedTemplate, TemplatePart, TemplateProblem, RenderOptions } from './template.ts';

export {
  scopeNames,
  writableScopes,
  variableTypes,
  builtinVariables,
  createScope,
  getVariable,
  setVariable,
  unsetVariable,
  parseVariablePath,
  coerceValue,
  VariableError,
} from './scope.ts';
export type { Scope, ScopeName, ReadableScope, VariableType } from './scope.ts';

export { parseDuration, checkDuration, formatDuration, DurationError, MAX_DURATION_MS } from './duration.ts';
export { formatDate, toEpochMs, zonedDateTimeToEpochMs, isValidTimeZone } from './time.ts';
export { checkCron } from './cron.ts';
export { readJsonPath, parseJsonPath } from './json-path.ts';
export { chooseVariant } from './split.ts';
export { mapNode } from './node-map.ts';
export type { NodeMapping } from './node-map.ts';
export { draftGraphOf, versionGraphOf, versionIrOf, StoredChainError } from './stored.ts';
export type { StoredColumn, StoredDraft, StoredVersion } from './stored.ts';
export { sha256Hex } from './hash.ts';
export { canonicalJson } from './json.ts';
export type { JsonValue, JsonObject } from './json.ts';
export { sanitizeForStorage, findUnstorable, locateUnstorable, hasUnstorable, describeUnstorable, clipText, utf8Length, REPLACEMENT } from './storable.ts';
export { greetingGraph } from './examples.ts';
