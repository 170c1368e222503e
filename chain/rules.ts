// Rule trees (QueryBuilder style) on edges and in condition/switch nodes.
//
// Semantics, precisely:
// - A group is AND (every rule) or OR (some rule); `not: true` inverts its result.
// - An EMPTY group is true: an edge or switch case whose rules are `{rules: []}` (or
//   absent) always matches, which makes it the "else" when ordered last. `not` on an
//   empty group gives false.
// - `field` is a variable path (`message.text`, `session.age`); missing → ''.
// - `value` strings are templates (`{{ user.first_name }}`), rendered before comparing.
// - Numbers: when both sides parse as numbers ('42', ' 3.5 ', '3,5', 42) they compare
//   numerically ('10' > '9', '1.0' equals '1'). Ordering operators (greater, less,
//   between…) compare numbers, else ISO dates ('2025-01-31', '2025-01-31T10:00Z'), and
//   are false for anything else.
// - Text comparisons (equals, contains, starts_with, ends_with, in) ignore case and
//   Unicode normalisation form by default (`caseSensitive: true` to opt out); equals
//   and in also ignore surrounding whitespace. `matches` follows the pattern as
//   written (use `(?i)`), unless `caseSensitive: false` is set explicitly.
// - `contains` on an array field tests membership; `in` takes a list (or a
//   comma-separated string) and, for an array field, tests overlap.
// - `matches` is an unanchored RE2 search over the first 4096 characters.
// - is_empty: missing, null, whitespace-only text, [] and {}.

import type { JsonValue } from './json.ts';
import { checkRegex, regexTest } from './regex.ts';
import { closest } from './suggest.ts';
import { getVariable, parseVariablePath, type ReadableScope } from './scope.ts';
import { parseTemplate, renderTemplate, valueToText } from './template.ts';
import { parseDateTime, zonedDateTimeToEpochMs } from './time.ts';

export const ruleOperators = [
  'equals',
  'not_equals',
  'contains',
  'not_contains',
  'starts_with',
  'ends_with',
  'matches',
  'greater',
  'greater_or_equal',
  'less',
  'less_or_equal',
  'between',
  'in',
  'not_in',
  'is_empty',
  'is_not_empty',
] as const;
export type RuleOperator = (typeof ruleOperators)[number];

/** What kind of value an operator takes, for the rule editor and checks. */
export type RuleValueKind = 'none' | 'one' | 'list' | 'range';

export const ruleOperatorInfo: Record<RuleOperator, { value: RuleValueKind; label: { en: string; ru: string } }> = {
  equals: { value: 'one', label: { en: 'equals', ru: 'равно' } },
  not_equals: { value: 'one', label: { en: 'does not equal', ru: 'не равно' } },
  contains: { value: 'one', label: { en: 'contains', ru: 'содержит' } },
  not_contains: { value: 'one', label: { en: 'does not contain', ru: 'не содержит' } },
  starts_with: { value: 'one', label: { en: 'starts with', ru: 'начинается с' } },
  ends_with: { value: 'one', label: { en: 'ends with', ru: 'заканчивается на' } },
  matches: { value: 'one', label: { en: 'matches regex', ru: 'соответствует регулярному выражению' } },
  greater: { value: 'one', label: { en: 'greater than', ru: 'больше' } },
  greater_or_equal: { value: 'one', label: { en: 'greater than or equal', ru: 'больше или равно' } },
  less: { value: 'one', label: { en: 'less than', ru: 'меньше' } },
  less_or_equal: { value: 'one', label: { en: 'less than or equal', ru: 'меньше или равно' } },
  between: { value: 'range', label: { en: 'between (inclusive)', ru: 'между (включительно)' } },
  in: { value: 'list', label: { en: 'is one of', ru: 'одно из' } },
  not_in: { value: 'list', label: { en: 'is none of', ru: 'ни одно из' } },
  is_empty: { value: 'none', label: { en: 'is empty', ru: 'пусто' } },
  is_not_empty: { value: 'none', label: { en: 'is not empty', ru: 'не пусто' } },
};

export type { Rule, RuleGroup, RuleGroupInput } from './rules-schema.ts';
import type { Rule, RuleGroup } from './rules-schema.ts';

/** Deepest allowed group nesting. */
export const MAX_RULE_DEPTH = 8;

function isGroup(item: Rule | RuleGroup): item is RuleGroup {
  return 'rules' in item;
}

function isOperator(operator: string): operator is RuleOperator {
  return (ruleOperators as readonly string[]).includes(operator);
}

const NUMBER = /^[-+]?(\d+([.,]\d+)?|[.,]\d+)([eE][-+]?\d+)?$/;

function asNumber(value: JsonValue | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (!NUMBER.test(text)) return undefined;
  const parsed = Number(text.replace(',', '.'));
  return Number.isFinite(parsed) ? parsed : undefined;
}

function asDate(value: JsonValue | undefined): number | undefined {
  if (typeof value !== 'string' || !parseDateTime(value)) return undefined;
  return zonedDateTimeToEpochMs(value, 'UTC');
}

function fold(text: string, caseSensitive: boolean): string {
  const normal = text.normalize('NFC');
  return caseSensitive ? normal : normal.toLowerCase();
}

function equalValues(left: JsonValue | undefined, right: JsonValue | undefined, caseSensitive: boolean): boolean {
  const a = asNumber(left);
  const b = asNumber(right);
  if (a !== undefined && b !== undefined) return a === b;
  return fold(valueToText(left).trim(), caseSensitive) === fold(valueToText(right).trim(), caseSensitive);
}

/** -1, 0, 1 for comparable numbers or dates; undefined otherwise. */
function order(left: JsonValue | undefined, right: JsonValue | undefined): number | undefined {
  let a = asNumber(left);
  let b = asNumber(right);
  if (a === undefined || b === undefined) {
    a = asDate(left);
    b = asDate(right);
  }
  if (a === undefined || b === undefined) return undefined;
  return Math.sign(a - b);
}

function isEmpty(value: JsonValue | undefined): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

function renderValue(value: JsonValue | undefined, scope: ReadableScope): JsonValue | undefined {
  if (typeof value === 'string') return value.includes('{{') ? renderTemplate(value, scope) : value;
  if (Array.isArray(value)) return value.map((item) => renderValue(item, scope) ?? null);
  return value;
}

function asList(value: JsonValue | undefined): JsonValue[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  return value === undefined || value === null ? [] : [value];
}

function evaluateRule(rule: Rule, scope: ReadableScope): boolean {
  if (!isOperator(rule.operator)) return false;
  const left = getVariable(scope, rule.field);
  const right = renderValue(rule.value, scope);
  const caseSensitive = rule.caseSensitive ?? false;
  const text = (): string => fold(valueToText(left), caseSensitive);
  const needle = (): string => fold(valueToText(right), caseSensitive);
  switch (rule.operator) {
    case 'equals':
      return equalValues(left, right, caseSensitive);
    case 'not_equals':
      return !equalValues(left, right, caseSensitive);
    case 'contains':
    case 'not_contains': {
      const found = Array.isArray(left)
        ? left.some((item) => equalValues(item, right, caseSensitive))
        : text().includes(needle());
      return rule.operator === 'contains' ? found : !found;
    }
    case 'starts_with':
      return text().startsWith(needle());
    case 'ends_with':
      return text().endsWith(needle());
    case 'matches':
      return regexTest(valueToText(right), valueToText(left), { caseInsensitive: rule.caseSensitive === false });
    case 'greater':
      return order(left, right) === 1;
    case 'greater_or_equal': {
      const result = order(left, right);
      return result === 1 || result === 0;
    }
    case 'less':
      return order(left, right) === -1;
    case 'less_or_equal': {
      const result = order(left, right);
      return result === -1 || result === 0;
    }
    case 'between': {
      const [min, max] = asList(right);
      const low = order(left, min);
      const high = order(left, max);
      return (low === 1 || low === 0) && (high === -1 || high === 0);
    }
    case 'in':
    case 'not_in': {
      const list = asList(right);
      const candidates = Array.isArray(left) ? left : [left];
      const found = candidates.some((candidate) => list.some((item) => equalValues(candidate, item, caseSensitive)));
      return rule.operator === 'in' ? found : !found;
    }
    case 'is_empty':
      return isEmpty(left);
    case 'is_not_empty':
      return !isEmpty(left);
  }
}

/**
 * Evaluates a rule tree against variables. An absent tree or an empty group is true
 * (the "else"); an unknown operator makes its rule false.
 *
 * @example evaluateRules({ condition: 'AND', rules: [{ field: 'message.text', operator: 'equals', value: 'yes' }] }, scope)
 */
export function evaluateRules(tree: RuleGroup | undefined, scope: ReadableScope): boolean {
  if (!tree) return true;
  const test = (item: Rule | RuleGroup): boolean => (isGroup(item) ? evaluateRules(item, scope) : evaluateRule(item, scope));
  const result = tree.rules.length === 0 ? true : tree.condition === 'OR' ? tree.rules.some(test) : tree.rules.every(test);
  return tree.not ? !result : result;
}

/** A problem in a rule tree; `path` locates it, e.g. 'rules.1.rules.0.value'. */
export interface RuleProblem {
  code: 'rule_unknown_operator' | 'rule_bad_field' | 'rule_missing_value' | 'rule_bad_value' | 'rule_bad_regex' | 'rule_bad_template' | 'rule_too_deep';
  path: string;
  message: string;
  fix: string;
}

const OPERATOR_ALIASES: Record<string, RuleOperator> = {
  '=': 'equals',
  '==': 'equals',
  eq: 'equals',
  is: 'equals',
  '!=': 'not_equals',
  '<>': 'not_equals',
  ne: 'not_equals',
  neq: 'not_equals',
  '>': 'greater',
  gt: 'greater',
  '>=': 'greater_or_equal',
  gte: 'greater_or_equal',
  ge: 'greater_or_equal',
  '<': 'less',
  lt: 'less',
  '<=': 'less_or_equal',
  lte: 'less_or_equal',
  le: 'less_or_equal',
  regex: 'matches',
  like: 'contains',
  empty: 'is_empty',
  not_empty: 'is_not_empty',
};

function isLiteralText(value: JsonValue | undefined): value is string {
  return typeof value === 'string' && !value.includes('{{');
}

function checkRule(rule: Rule, path: string, problems: RuleProblem[]): void {
  const field = parseVariablePath(rule.field);
  if (!field.ok || field.scope === 'secrets') {
    problems.push({
      code: 'rule_bad_field',
      path: `${path}.field`,
      message: field.ok ? `Rule field '${rule.field}' reads a secret; secrets are not available to rules` : field.message,
      fix: "Pick a variable such as 'message.text' or 'session.age'",
    });
  }
  if (!isOperator(rule.operator)) {
    const suggestion = OPERATOR_ALIASES[rule.operator.toLowerCase()] ?? closest(rule.operator, ruleOperators);
    problems.push({
      code: 'rule_unknown_operator',
      path: `${path}.operator`,
      message: `Unknown operator '${rule.operator}'`,
      fix: suggestion ? `Did you mean '${suggestion}'? Operators: ${ruleOperators.join(', ')}` : `Use one of: ${ruleOperators.join(', ')}`,
    });
    return;
  }
  const kind = ruleOperatorInfo[rule.operator].value;
  const value = rule.value;
  const missing = value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
  if (kind !== 'none' && missing) {
    problems.push({
      code: 'rule_missing_value',
      path: `${path}.value`,
      message: `Operator '${rule.operator}' on '${rule.field}' needs a value`,
      fix: kind === 'list' ? 'Add at least one value to the list' : kind === 'range' ? 'Give a [min, max] pair' : `Enter the value to compare '${rule.field}' with, or use is_empty / is_not_empty`,
    });
    return;
  }
  const strings = Array.isArray(value) ? value : [value];
  for (const item of strings) {
    if (typeof item !== 'string') continue;
    const template = parseTemplate(item);
    for (const problem of template.problems) {
      problems.push({ code: 'rule_bad_template', path: `${path}.value`, message: `Value template: ${problem.message}`, fix: "Fix the {{ … }} expression or write \\{{ for a literal '{{'" });
    }
  }
  if (kind === 'one' && Array.isArray(value)) {
    problems.push({ code: 'rule_bad_value', path: `${path}.value`, message: `Operator '${rule.operator}' compares with one value, not a list`, fix: "Use 'in' / 'not_in' for lists, or give a single value" });
  }
  if (kind === 'range' && (!Array.isArray(value) || value.length !== 2)) {
    problems.push({ code: 'rule_bad_value', path: `${path}.value`, message: `Operator 'between' on '${rule.field}' needs exactly two values [min, max]`, fix: 'Give the value as a two-element list, e.g. [18, 65]' });
  }
  const ordered = ['greater', 'greater_or_equal', 'less', 'less_or_equal', 'between'].includes(rule.operator);
  if (ordered) {
    for (const item of strings) {
      if (isLiteralText(item) && asNumber(item) === undefined && asDate(item) === undefined) {
        problems.push({ code: 'rule_bad_value', path: `${path}.value`, message: `Operator '${rule.operator}' compares numbers or dates, but '${item}' is neither`, fix: "Give a number like 18 or a date like '2025-12-31'" });
      }
    }
  }
  if (rule.operator === 'matches' && isLiteralText(value)) {
    const regex = checkRegex(value);
    if (!regex.ok) {
      problems.push({ code: 'rule_bad_regex', path: `${path}.value`, message: `Pattern '${value}' is invalid: ${regex.message}`, fix: 'Write an RE2 pattern (no lookarounds or backreferences); test it in the rule editor' });
    }
  }
}

/**
 * Finds problems in a rule tree: unknown operators, bad fields, missing or wrong values,
 * invalid regexes and templates, excessive nesting. An empty list means the tree is sound.
 */
export function checkRules(tree: RuleGroup, path = ''): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const walk = (group: RuleGroup, at: string, depth: number): void => {
    if (depth > MAX_RULE_DEPTH) {
      problems.push({ code: 'rule_too_deep', path: at || 'rules', message: `Rule groups are nested deeper than ${MAX_RULE_DEPTH} levels`, fix: 'Flatten the groups or split the decision into several condition nodes' });
      return;
    }
    group.rules.forEach((item, index) => {
      const itemPath = `${at ? `${at}.` : ''}rules.${index}`;
      if (isGroup(item)) walk(item, itemPath, depth + 1);
      else checkRule(item, itemPath, problems);
    });
  };
  walk(tree, path, 1);
  return problems;
}

/** Variable paths a rule tree reads (fields and template values), with their locations. */
export function ruleVariables(tree: RuleGroup, path = ''): Array<{ variable: string; path: string }> {
  const found: Array<{ variable: string; path: string }> = [];
  const walk = (group: RuleGroup, at: string): void => {
    group.rules.forEach((item, index) => {
      const itemPath = `${at ? `${at}.` : ''}rules.${index}`;
      if (isGroup(item)) return walk(item, itemPath);
      found.push({ variable: item.field, path: `${itemPath}.field` });
      const values = Array.isArray(item.value) ? item.value : [item.value];
      for (const value of values) {
        if (typeof value !== 'string') continue;
        for (const variable of parseTemplate(value).variables) found.push({ variable, path: `${itemPath}.value` });
      }
    });
  };
  walk(tree, path);
  return found;
}
