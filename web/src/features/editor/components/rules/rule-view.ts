// Rule builder helpers: which operators fit a field's type, and a one-line summary of a
// rule tree for edge labels and node cards.

import { ruleOperatorInfo, ruleOperators, type RuleGroup, type RuleOperator, type VariableType } from '../../../../../../chain/index.ts';
import { localized } from '../../../../i18n/index.ts';

type Item = RuleGroup['rules'][number];

const NUMBER_OPERATORS: readonly RuleOperator[] = ['equals', 'not_equals', 'greater', 'greater_or_equal', 'less', 'less_or_equal', 'between', 'in', 'not_in', 'is_empty', 'is_not_empty'];
const BOOLEAN_OPERATORS: readonly RuleOperator[] = ['equals', 'not_equals', 'is_empty', 'is_not_empty'];
/** Operators whose comparison of text can be made case-sensitive. */
export const TEXT_OPERATORS: readonly string[] = ['equals', 'not_equals', 'contains', 'not_contains', 'starts_with', 'ends_with', 'matches', 'in', 'not_in'];

/** The operators offered for a field of this type (strings, JSON and untyped fields get all of them). */
export function operatorsFor(type: VariableType | undefined): readonly RuleOperator[] {
  if (type === 'number') return NUMBER_OPERATORS;
  if (type === 'boolean') return BOOLEAN_OPERATORS;
  return ruleOperators;
}

export function isOperator(value: string): value is RuleOperator {
  return (ruleOperators as readonly string[]).includes(value);
}

export const isGroup = (item: Item): item is RuleGroup => 'rules' in item;

function valueText(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => String(v)).join(', ');
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? `"${value}"` : String(value);
}

/** `message.text equals "yes" AND (session.age greater 18 OR …)`, operators in the UI language. */
export function ruleSummary(group: RuleGroup | undefined, locale: string): string {
  if (!group || group.rules.length === 0) return '';
  const parts = group.rules.map((item) => {
    if (isGroup(item)) return `(${ruleSummary(item, locale)})`;
    const op = isOperator(item.operator) ? localized(ruleOperatorInfo[item.operator].label, locale) : item.operator;
    const value = isOperator(item.operator) && ruleOperatorInfo[item.operator].value === 'none' ? '' : ` ${valueText(item.value)}`;
    return `${item.field} ${op}${value}`;
  });
  const text = parts.join(` ${group.condition} `);
  return group.not ? `NOT (${text})` : text;
}

/** The canvas label of an edge: its own label, else its guard's summary; with its priority. */
export function edgeLabel(edge: { label?: string | undefined; rules?: RuleGroup | undefined; priority?: number | undefined }, locale: string): string | undefined {
  const summary = edge.label || ruleSummary(edge.rules, locale);
  const clipped = summary.length > 60 ? `${summary.slice(0, 59)}…` : summary;
  const text = edge.priority ? `#${edge.priority} ${clipped}` : clipped;
  return text.trim() || undefined;
}
