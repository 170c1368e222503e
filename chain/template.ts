// Templates: text with `{{ path | filter: arg, arg }}` expressions.
//
// - `{{ user.name }}` inserts a variable; a missing variable renders as ''.
// - Filters run left to right: `default: "friend"` (when the value is missing, null or
//   ''), `upper`, `lower`, `json` (optional indent), `date: "DD.MM.YYYY HH:mm", "Europe/Moscow"`
//   (format tokens in time.ts; time zone defaults to the render option, then UTC).
// - Filter arguments are string literals ("…" or '…'), numbers, or variable paths
//   (`{{ user.name | default: user.first_name }}`).
// - Escaping: `\{{` renders a literal `{{`; `}}` outside an expression is plain text.
//   An expression may also be a literal: `{{ "{{" }}`.
// - Objects and arrays render as JSON; numbers and booleans as text.

import type { JsonObject, JsonValue } from './json.ts';
import { getVariable, parseVariablePath, type ReadableScope } from './scope.ts';
import { formatDate, isValidTimeZone, toEpochMs } from './time.ts';

export const templateFilters = ['default', 'upper', 'lower', 'json', 'date'] as const;
export type TemplateFilterName = (typeof templateFilters)[number];

export type TemplateOperand = { kind: 'path'; path: string } | { kind: 'literal'; value: string | number };
export interface TemplateFilter {
  name: TemplateFilterName;
  args: TemplateOperand[];
}
export interface TemplateExpression {
  operand: TemplateOperand;
  filters: TemplateFilter[];
}
export type TemplatePart = { kind: 'text'; text: string } | { kind: 'expr'; expr: TemplateExpression; source: string };

/** A problem found while parsing; `offset` is the index in the source where it starts. */
export interface TemplateProblem {
  message: string;
  offset: number;
}

/** Result of {@link parseTemplate}. Broken expressions stay in `parts` as literal text. */
export interface ParsedTemplate {
  source: string;
  parts: TemplatePart[];
  /** Variable paths referenced (operands and filter arguments), first use first, no duplicates. */
  variables: string[];
  problems: TemplateProblem[];
}

type Token =
  | { kind: 'path' | 'name'; text: string; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'number'; value: number; at: number }
  | { kind: 'punct'; text: '|' | ':' | ','; at: number };

class TemplateSyntaxError extends Error {
  readonly at: number;
  constructor(message: string, at: number) {
    super(message);
    this.at = at;
  }
}

function tokenize(source: string, start: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i] ?? '';
    const at = start + i;
    if (/\s/.test(char)) {
      i++;
    } else if (char === '|' || char === ':' || char === ',') {
      tokens.push({ kind: 'punct', text: char, at });
      i++;
    } else if (char === '"' || char === "'") {
      let value = '';
      let j = i + 1;
      while (j < source.length && source[j] !== char) {
        if (source[j] === '\\' && j + 1 < source.length) j++;
        value += source[j];
        j++;
      }
      if (j >= source.length) throw new TemplateSyntaxError(`unterminated string starting with ${char}`, at);
      tokens.push({ kind: 'string', value, at });
      i = j + 1;
    } else {
      const rest = source.slice(i);
      const number = /^-?\d+(\.\d+)?/.exec(rest);
      const path = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*/.exec(rest);
      if (number) {
        tokens.push({ kind: 'number', value: Number(number[0]), at });
        i += number[0].length;
      } else if (path) {
        tokens.push({ kind: path[0].includes('.') ? 'path' : 'name', text: path[0], at });
        i += path[0].length;
      } else {
        throw new TemplateSyntaxError(`unexpected character '${char}'`, at);
      }
    }
  }
  return tokens;
}

function operandOf(token: Token | undefined, what: string, end: number): TemplateOperand {
  if (!token) throw new TemplateSyntaxError(`expected ${what}`, end);
  if (token.kind === 'string' || token.kind === 'number') return { kind: 'literal', value: token.value };
  if (token.kind === 'path' || token.kind === 'name') {
    const check = parseVariablePath(token.text);
    if (!check.ok) throw new TemplateSyntaxError(check.message, token.at);
    return { kind: 'path', path: token.text };
  }
  throw new TemplateSyntaxError(`expected ${what}, found '${token.text}'`, token.at);
}

const ARITY: Record<TemplateFilterName, [number, number]> = {
  default: [1, 1],
  upper: [0, 0],
  lower: [0, 0],
  json: [0, 1],
  date: [0, 2],
};

function checkFilter(filter: TemplateFilter, at: number): void {
  const [min, max] = ARITY[filter.name];
  if (filter.args.length < min || filter.args.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw new TemplateSyntaxError(`filter '${filter.name}' takes ${expected} argument(s), got ${filter.args.length}`, at);
  }
  const [first, second] = filter.args;
  if (filter.name === 'json' && first && (first.kind !== 'literal' || typeof first.value !== 'number')) {
    throw new TemplateSyntaxError("filter 'json' takes an indent number, e.g. json: 2", at);
  }
  if (filter.name === 'date' && second?.kind === 'literal' && !isValidTimeZone(String(second.value))) {
    throw new TemplateSyntaxError(`unknown time zone '${second.value}'; use an IANA name like 'Europe/Moscow' or 'UTC'`, at);
  }
}

function parseExpression(source: string, start: number): TemplateExpression {
  const tokens = tokenize(source, start);
  const end = start + source.length;
  if (tokens.length === 0) throw new TemplateSyntaxError('empty expression; write a variable like {{ user.name }}', start);
  let index = 0;
  const operand = operandOf(tokens[index++], 'a variable or a literal', end);
  const filters: TemplateFilter[] = [];
  while (index < tokens.length) {
    const pipe = tokens[index++];
    if (pipe?.kind !== 'punct' || pipe.text !== '|') {
      throw new TemplateSyntaxError("expected '|' before a filter", pipe?.at ?? end);
    }
    const nameToken = tokens[index++];
    if (nameToken?.kind !== 'name') throw new TemplateSyntaxError('expected a filter name after |', nameToken?.at ?? end);
    const name = templateFilters.find((filter) => filter === nameToken.text);
    if (!name) {
      throw new TemplateSyntaxError(`unknown filter '${nameToken.text}'; available: ${templateFilters.join(', ')}`, nameToken.at);
    }
    const filter: TemplateFilter = { name, args: [] };
    const colon = tokens[index];
    if (colon?.kind === 'punct' && colon.text === ':') {
      index++;
      filter.args.push(operandOf(tokens[index++], `an argument for '${name}'`, end));
      for (let comma = tokens[index]; comma?.kind === 'punct' && comma.text === ','; comma = tokens[index]) {
        index++;
        filter.args.push(operandOf(tokens[index++], `an argument for '${name}'`, end));
      }
    }
    checkFilter(filter, nameToken.at);
    filters.push(filter);
  }
  return { operand, filters };
}

/** Index of the `}}` closing an expression opened at `from`, skipping quoted strings. */
function findClose(source: string, from: number): number {
  for (let i = from; i < source.length; i++) {
    const char = source[i];
    if (char === '"' || char === "'") {
      i++;
      while (i < source.length && source[i] !== char) i += source[i] === '\\' ? 2 : 1;
    } else if (char === '}' && source[i + 1] === '}') {
      return i;
    }
  }
  return -1;
}

/**
 * Parses a template. Never throws: problems are listed and the broken part is kept as text.
 *
 * @example parseTemplate('Hi {{ user.name | default: "friend" }}!').variables // ['user.name']
 */
export function parseTemplate(source: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const problems: TemplateProblem[] = [];
  const variables: string[] = [];
  let text = '';
  const flush = (): void => {
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
  };
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('\\{{', i)) {
      text += '{{';
      i += 3;
    } else if (source.startsWith('{{', i)) {
      const close = findClose(source, i + 2);
      if (close < 0) {
        problems.push({ offset: i, message: "'{{' is not closed with '}}'; write \\{{ for a literal '{{'" });
        text += source.slice(i);
        break;
      }
      const raw = source.slice(i, close + 2);
      try {
        const expr = parseExpression(source.slice(i + 2, close), i + 2);
        flush();
        parts.push({ kind: 'expr', expr, source: raw });
        for (const operand of [expr.operand, ...expr.filters.flatMap((filter) => filter.args)]) {
          if (operand.kind === 'path' && !variables.includes(operand.path)) variables.push(operand.path);
        }
      } catch (error) {
        if (!(error instanceof TemplateSyntaxError)) throw error;
        problems.push({ offset: error.at, message: `${error.message} in ${raw}` });
        text += raw;
      }
      i = close + 2;
    } else {
      text += source[i];
      i++;
    }
  }
  flush();
  return { source, parts, variables, problems };
}

const parsedCache = new Map<string, ParsedTemplate>();

function parsedOf(template: string | ParsedTemplate): ParsedTemplate {
  if (typeof template !== 'string') return template;
  let parsed = parsedCache.get(template);
  if (!parsed) {
    parsed = parseTemplate(template);
    if (parsedCache.size >= 1000) parsedCache.clear();
    parsedCache.set(template, parsed);
  }
  return parsed;
}

/** True when the text contains an expression (a `{{` that is not escaped). */
export function hasExpressions(text: string): boolean {
  return parsedOf(text).parts.some((part) => part.kind === 'expr');
}

/** Options for {@link renderTemplate}. */
export interface RenderOptions {
  /** Only activities pass secrets; without them `{{ secrets.x }}` renders as ''. */
  secrets?: JsonObject;
  /**
   * Escaping applied to inserted values (not to the template's own text): 'html' and
   * 'markdown' (Telegram MarkdownV2) per message format; 'json' for JSON bodies, where
   * values are placed inside quotes: `{"name": "{{ user.name }}"}`.
   */
  escape?: 'none' | 'html' | 'markdown' | 'json';
  /** Default time zone of the `date` filter (e.g. the chat's); UTC when absent. */
  timeZone?: string;
  /** Locale for month and weekday names in `date` ('en', 'ru'…); 'en' when absent. */
  locale?: string;
}

/** Text form of a value: '' for missing/null, JSON for objects and arrays. */
export function valueToText(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

function escapeText(text: string, mode: RenderOptions['escape']): string {
  if (mode === 'html') return text.replace(/[&<>"]/g, (char) => HTML_ESCAPES[char] ?? char);
  // Telegram MarkdownV2 reserves these characters outside entities.
  if (mode === 'markdown') return text.replace(/[_*[\]()~`>#+\-=|{}.!\\]/g, '\\$&');
  if (mode === 'json') return JSON.stringify(text).slice(1, -1);
  return text;
}

function evaluate(operand: TemplateOperand, scope: ReadableScope): JsonValue | undefined {
  return operand.kind === 'literal' ? operand.value : getVariable(scope, operand.path);
}

function applyFilter(value: JsonValue | undefined, filter: TemplateFilter, scope: ReadableScope, options: RenderOptions): JsonValue | undefined {
  const arg = (index: number): JsonValue | undefined => {
    const operand = filter.args[index];
    return operand ? evaluate(operand, scope) : undefined;
  };
  switch (filter.name) {
    case 'default':
      return value === undefined || value === null || value === '' ? arg(0) : value;
    case 'upper':
      return valueToText(value).toUpperCase();
    case 'lower':
      return valueToText(value).toLowerCase();
    case 'json': {
      const indent = arg(0);
      return JSON.stringify(value ?? null, null, typeof indent === 'number' ? Math.min(Math.max(indent, 0), 8) : undefined);
    }
    case 'date': {
      const format = arg(0);
      const zone = valueToText(arg(1)) || options.timeZone || 'UTC';
      if (!isValidTimeZone(zone)) return '';
      const epoch = toEpochMs(value, zone);
      if (epoch === undefined) return '';
      return formatDate(epoch, typeof format === 'string' && format !== '' ? format : undefined, zone, options.locale ?? 'en');
    }
  }
}

/**
 * Renders a template (text or the result of {@link parseTemplate}) against variables.
 * Missing variables render as ''. Parsed templates of strings are cached.
 *
 * @example renderTemplate('Hi {{ user.name | default: "friend" }}', createScope()) // 'Hi friend'
 * @example renderTemplate('{{ secrets.apiKey }}', scope, { secrets }) // inside an activity only
 */
export function renderTemplate(template: string | ParsedTemplate, scope: ReadableScope, options: RenderOptions = {}): string {
  const parsed = parsedOf(template);
  const readable: ReadableScope = options.secrets ? { ...scope, secrets: options.secrets } : scope;
  let out = '';
  for (const part of parsed.parts) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    let value = evaluate(part.expr.operand, readable);
    for (const filter of part.expr.filters) value = applyFilter(value, filter, readable, options);
    out += escapeText(valueToText(value), options.escape);
  }
  return out;
}
