import { describe, expect, it } from 'vitest';
import type { JsonValue } from './json.ts';
import { MAX_REGEX_INPUT } from './regex.ts';
import { checkRules, evaluateRules, ruleOperators, ruleVariables, type Rule, type RuleGroup } from './rules.ts';
import { ruleGroupSchema } from './rules-schema.ts';
import { createScope, type Scope } from './scope.ts';

const scope: Scope = createScope({
  message: { text: 'Hello World' },
  session: {
    age: '42',
    score: 7,
    price: '3,5',
    zero: 0,
    blank: '   ',
    nothing: null,
    tags: ['vip', 'beta'],
    empty_list: [],
    empty_object: {},
    subscribed: true,
    due: '2025-03-01',
    city: 'Москва',
    accented: 'e\u0301te\u0301', // 'été' decomposed
  },
  user: { first_name: 'Ann', name: 'ann' },
});

function one(field: string, operator: string, value?: JsonValue, extra: Partial<Rule> = {}): RuleGroup {
  const rule: Rule = { field, operator, ...extra };
  if (value !== undefined) rule.value = value as Rule['value'];
  return { condition: 'AND', rules: [rule] };
}

const operatorCases: Array<[string, string, JsonValue | undefined, boolean]> = [
    ['message.text', 'equals', 'hello world', true],
    ['message.text', 'equals', '  Hello World ', true],
    ['message.text', 'equals', 'Hello', false],
    ['session.age', 'equals', 42, true],
    ['session.age', 'equals', '42.0', true],
    ['session.price', 'equals', 3.5, true],
    ['session.subscribed', 'equals', 'true', true],
    ['session.missing', 'equals', '', true],
    ['session.city', 'equals', 'МОСКВА', true],
    ['session.accented', 'equals', '\u00e9t\u00e9', true],
    ['message.text', 'not_equals', 'bye', true],
    ['session.age', 'not_equals', '42', false],
    ['message.text', 'contains', 'WORLD', true],
    ['message.text', 'contains', 'planet', false],
    ['session.tags', 'contains', 'VIP', true],
    ['session.tags', 'contains', 'vi', false],
    ['message.text', 'not_contains', 'planet', true],
    ['session.tags', 'not_contains', 'beta', false],
    ['message.text', 'starts_with', 'hello', true],
    ['message.text', 'starts_with', 'world', false],
    ['message.text', 'ends_with', 'WORLD', true],
    ['message.text', 'ends_with', 'hello', false],
    ['message.text', 'matches', '^Hello\\s+\\w+$', true],
    ['message.text', 'matches', 'world', false],
    ['message.text', 'matches', '(?i)world', true],
    ['session.age', 'greater', '9', true],
    ['session.age', 'greater', 42, false],
    ['session.score', 'greater', '6.5', true],
    ['session.price', 'greater', '3', true],
    ['message.text', 'greater', '1', false],
    ['session.due', 'greater', '2025-02-28', true],
    ['session.due', 'greater', '2025-03-01T00:00:01Z', false],
    ['session.age', 'greater_or_equal', '42', true],
    ['session.age', 'greater_or_equal', '43', false],
    ['session.score', 'less', 10, true],
    ['session.score', 'less', '7', false],
    ['session.zero', 'less_or_equal', 0, true],
    ['session.zero', 'less_or_equal', -1, false],
    ['session.age', 'between', [18, 65], true],
    ['session.age', 'between', [42, 42], true],
    ['session.age', 'between', [43, 65], false],
    ['session.due', 'between', ['2025-01-01', '2025-12-31'], true],
    ['user.name', 'in', ['bob', 'ANN'], true],
    ['user.name', 'in', 'bob, ann, eve', true],
    ['session.age', 'in', [41, 42], true],
    ['session.tags', 'in', ['beta', 'gamma'], true],
    ['user.name', 'in', ['bob'], false],
    ['user.name', 'not_in', ['bob', 'eve'], true],
    ['user.name', 'not_in', ['ann'], false],
    ['session.missing', 'is_empty', undefined, true],
    ['session.nothing', 'is_empty', undefined, true],
    ['session.blank', 'is_empty', undefined, true],
    ['session.empty_list', 'is_empty', undefined, true],
    ['session.empty_object', 'is_empty', undefined, true],
    ['session.zero', 'is_empty', undefined, false],
    ['session.subscribed', 'is_empty', undefined, false],
    ['user.name', 'is_not_empty', undefined, true],
    ['session.blank', 'is_not_empty', undefined, false],
];

describe('rule operators', () => {
  it.each(operatorCases)('%s %s %j is %s', (field, operator, value, expected) => {
    expect(evaluateRules(one(field, operator, value), scope)).toBe(expected);
  });

  it('has table rows for every operator, both true and false', () => {
    for (const operator of ruleOperators) {
      const outcomes = new Set(operatorCases.filter((row) => row[1] === operator).map((row) => row[3]));
      expect([operator, [...outcomes].sort()]).toEqual([operator, [false, true]]);
    }
  });

  it.each<[string, JsonValue, boolean, boolean]>([
    ['equals', 'hello world', false, true],
    ['contains', 'world', false, true],
    ['in', ['hello world'], false, true],
    ['matches', 'hello', false, true],
  ])('%s %j is %s when case sensitive and %s when not', (operator, value, sensitive, insensitive) => {
    expect(evaluateRules(one('message.text', operator, value, { caseSensitive: true }), scope)).toBe(sensitive);
    expect(evaluateRules(one('message.text', operator, value, { caseSensitive: false }), scope)).toBe(insensitive);
  });

  it('renders template values before comparing', () => {
    expect(evaluateRules(one('user.name', 'equals', '{{ user.first_name }}'), scope)).toBe(true);
    expect(evaluateRules(one('user.name', 'in', ['bob', '{{ user.first_name | lower }}']), scope)).toBe(true);
  });

  it('treats an unknown operator as false at run time', () => {
    expect(evaluateRules(one('message.text', 'eq', 'Hello World'), scope)).toBe(false);
  });
});

describe('rule groups', () => {
  const yes = { field: 'session.score', operator: 'equals', value: 7 };
  const no = { field: 'session.score', operator: 'equals', value: 8 };

  it.each<[string, RuleGroup, boolean]>([
    ['an empty AND group (else)', { condition: 'AND', rules: [] }, true],
    ['an empty OR group (else)', { condition: 'OR', rules: [] }, true],
    ['a negated empty group', { condition: 'AND', not: true, rules: [] }, false],
    ['AND of true and false', { condition: 'AND', rules: [yes, no] }, false],
    ['OR of true and false', { condition: 'OR', rules: [yes, no] }, true],
    ['NOT (AND of true and false)', { condition: 'AND', not: true, rules: [yes, no] }, true],
    ['AND with a nested OR', { condition: 'AND', rules: [yes, { condition: 'OR', rules: [no, yes] }] }, true],
    ['OR with a nested negated AND', { condition: 'OR', rules: [no, { condition: 'AND', not: true, rules: [yes] }] }, false],
    ['three levels deep', { condition: 'AND', rules: [{ condition: 'OR', rules: [{ condition: 'AND', rules: [yes, yes] }] }] }, true],
  ])('evaluates %s as %s', (_name, tree, expected) => {
    expect(evaluateRules(tree, scope)).toBe(expected);
  });

  it('treats absent rules as always true', () => {
    expect(evaluateRules(undefined, scope)).toBe(true);
  });

  it('defaults the condition to AND when parsing', () => {
    expect(ruleGroupSchema.parse({ rules: [] })).toEqual({ condition: 'AND', rules: [] });
  });
});

describe('regular expressions in rules', () => {
  it('caps the input before matching', () => {
    const long = createScope({ session: { text: `${'a'.repeat(MAX_REGEX_INPUT)}TAIL` } });
    expect(evaluateRules(one('session.text', 'matches', 'TAIL'), long)).toBe(false);
    expect(evaluateRules(one('session.text', 'matches', '^a+$'), long)).toBe(true);
  });

  it('evaluates a catastrophic-backtracking pattern in linear time', () => {
    const hostile = createScope({ session: { text: `${'a'.repeat(4000)}!` } });
    // A backtracking engine needs ~2^4000 steps here; RE2 answers at once.
    expect(evaluateRules(one('session.text', 'matches', '^(a+)+$'), hostile)).toBe(false);
    expect(checkRules(one('session.text', 'matches', '(a+)+$'))).toEqual([]);
  });

  it.each([
    ['(?=x)', /lookahead and lookbehind/],
    ['foo(?!bar)', /lookahead and lookbehind/],
    ['(?<=a)b', /lookahead and lookbehind/],
    ['(a)\\1', /backreferences/],
    ['/^\\d+$/i', /without JavaScript slashes/],
    ['[a-', /missing closing \]/],
  ])('rejects %j', (pattern, message) => {
    const problems = checkRules(one('message.text', 'matches', pattern));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.code).toBe('rule_bad_regex');
    expect(problems[0]?.message).toMatch(message);
  });

  it('never matches with a pattern that does not compile', () => {
    expect(evaluateRules(one('message.text', 'matches', '(?=Hello)'), scope)).toBe(false);
  });
});

describe('rule checks', () => {
  it.each<[string, RuleGroup, string, string, RegExp]>([
    ['an unknown operator', one('message.text', 'equal', 'x'), 'rule_unknown_operator', 'rules.0.operator', /Did you mean 'equals'/],
    ['an operator from another language', one('session.age', '>=', 1), 'rule_unknown_operator', 'rules.0.operator', /Did you mean 'greater_or_equal'/],
    ['an abbreviated operator', one('message.text', 'eq', 'x'), 'rule_unknown_operator', 'rules.0.operator', /Did you mean 'equals'/],
    ['a field without scope', one('name', 'equals', 'x'), 'rule_bad_field', 'rules.0.field', /scope/],
    ['a secret as field', one('secrets.token', 'equals', 'x'), 'rule_bad_field', 'rules.0.field', /variable such as/],
    ['a missing value', one('message.text', 'equals'), 'rule_missing_value', 'rules.0.value', /is_empty/],
    ['an empty list', one('message.text', 'in', []), 'rule_missing_value', 'rules.0.value', /at least one/],
    ['a list for a single-value operator', one('message.text', 'equals', ['a', 'b']), 'rule_bad_value', 'rules.0.value', /'in'/],
    ['a one-sided between', one('session.age', 'between', [1]), 'rule_bad_value', 'rules.0.value', /two-element/],
    ['a word for greater', one('session.age', 'greater', 'lots'), 'rule_bad_value', 'rules.0.value', /number/],
    ['a broken template value', one('message.text', 'equals', '{{ user.name | shout }}'), 'rule_bad_template', 'rules.0.value', /\{\{/],
    ['a bad regex', one('message.text', 'matches', '(?=x)'), 'rule_bad_regex', 'rules.0.value', /RE2/],
  ])('reports %s', (_name, tree, code, path, fix) => {
    const [problem, ...rest] = checkRules(tree);
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ code, path });
    expect(`${problem?.message} ${problem?.fix}`).toMatch(fix);
  });

  it('locates problems in nested groups', () => {
    const tree: RuleGroup = { condition: 'AND', rules: [{ field: 'message.text', operator: 'is_empty' }, { condition: 'OR', rules: [{ field: 'message.text', operator: 'nope' }] }] };
    expect(checkRules(tree).map((problem) => problem.path)).toEqual(['rules.1.rules.0.operator']);
  });

  it('refuses groups nested deeper than eight levels', () => {
    let tree: RuleGroup = { condition: 'AND', rules: [{ field: 'message.text', operator: 'is_empty' }] };
    for (let i = 0; i < 8; i++) tree = { condition: 'AND', rules: [tree] };
    expect(checkRules(tree).map((problem) => problem.code)).toEqual(['rule_too_deep']);
  });

  it('accepts a sound tree with templates in values', () => {
    expect(checkRules(one('session.age', 'greater', '{{ session.limit }}'))).toEqual([]);
  });

  it('lists the variables a tree reads, in fields and value templates', () => {
    const tree: RuleGroup = { condition: 'OR', rules: [one('user.name', 'equals', '{{ user.first_name }}'), one('session.age', 'in', ['1', '{{ run.limit }}'])] };
    expect(ruleVariables(tree)).toEqual([
      { variable: 'user.name', path: 'rules.0.rules.0.field' },
      { variable: 'user.first_name', path: 'rules.0.rules.0.value' },
      { variable: 'session.age', path: 'rules.1.rules.0.field' },
      { variable: 'run.limit', path: 'rules.1.rules.0.value' },
    ]);
  });
});
