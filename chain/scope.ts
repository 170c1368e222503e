import { isPlainObject, type JsonObject, type JsonValue } from './json.ts';

/** Scopes a chain can read. `secrets` is not among them: see {@link RenderOptions.secrets}. */
export const scopeNames = ['message', 'session', 'user', 'chat', 'bot', 'run'] as const;
export type ScopeName = (typeof scopeNames)[number];

/**
 * Scopes a chain may write (ask, set, http, llm, code, sub-chain outputs).
 * `message` is the inbound message, `run` the input of the run: both read-only.
 * `secrets` is resolved inside activities only and can never be written.
 */
export const writableScopes = ['session', 'user', 'chat', 'bot'] as const;
export type WritableScopeName = (typeof writableScopes)[number];

/** Every variable a session can see, grouped by scope. Never contains secrets. */
export type Scope = { [K in ScopeName]: JsonObject };

/** The declared type of a chain variable. */
export const variableTypes = ['string', 'number', 'boolean', 'json'] as const;
export type VariableType = (typeof variableTypes)[number];

/**
 * Variables the runtime fills in, so templates and rules may read them without a
 * declaration. The interpreter and channel gateways must provide these names.
 * - `message.*`: `text`, `kind` ('text' | 'command' | 'button' | 'media' | 'contact' | 'location' | 'event'),
 *   `command` (without '/'), `args` (text after the command), `buttonId`, `value`
 *   (button value, else text), `id`, `date` (epoch seconds), `media`, `contact`, `location`, `channel`,
 *   and of a Telegram group event `event` ('member_joined'…) and `member` (`{ id, first_name, username }`);
 *   `meta` holds plugin hooks' annotations by plugin id ('-' as '_'), e.g. `message.meta.spam_filter.spam`.
 * - `chat.*`: `id`, `type`, `title`, `username`. `bot.*`: `id`, `username`, `name`.
 * - `user.*`: `id`, `first_name`, `last_name`, `username`, `language_code`.
 * - `session.*`: `language` (language chosen for per-language variants), `error`
 *   (`{ nodeId, code, message }` of the last failure routed through an `error` port),
 *   `outcome` (outcome of the last sub-chain call).
 * - `run.*`: anything (input of an API-started run, or a sub-chain call's inputs).
 */
export const builtinVariables: readonly string[] = [
  'message.text',
  'message.kind',
  'message.command',
  'message.args',
  'message.buttonId',
  'message.value',
  'message.id',
  'message.date',
  'message.media',
  'message.contact',
  'message.location',
  'message.event',
  'message.member',
  'message.channel',
  'message.meta',
  'chat.id',
  'chat.type',
  'chat.title',
  'chat.username',
  'user.id',
  'user.first_name',
  'user.last_name',
  'user.username',
  'user.language_code',
  'bot.id',
  'bot.username',
  'bot.name',
  'session.language',
  'session.error',
  'session.outcome',
];

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INDEX = /^(0|[1-9][0-9]{0,5})$/;
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);
const MAX_PATH_LENGTH = 128;
const MAX_SEGMENTS = 8;

/** A parsed variable path such as `session.order.items.0.id`. */
export interface VariablePath {
  scope: ScopeName | 'secrets';
  /** Segments after the scope; numeric strings index arrays. */
  segments: string[];
}

export type VariablePathCheck = ({ ok: true } & VariablePath) | { ok: false; message: string };

/**
 * Validates a dotted variable path. `write: true` also requires a writable scope and
 * no array indexes.
 *
 * @example parseVariablePath('user.name')              // { ok: true, scope: 'user', segments: ['name'] }
 * @example parseVariablePath('message.text', { write: true }) // { ok: false, message: '… read-only …' }
 */
export function parseVariablePath(path: string, options: { write?: boolean } = {}): VariablePathCheck {
  if (path.length > MAX_PATH_LENGTH) return { ok: false, message: `Variable '${path.slice(0, 40)}…' is longer than ${MAX_PATH_LENGTH} characters` };
  const [scope, ...segments] = path.split('.');
  const scopes: readonly string[] = [...scopeNames, 'secrets'];
  if (scope === undefined || !scopes.includes(scope)) {
    return {
      ok: false,
      message: `Variable '${path}' must start with a scope: ${scopes.join(', ')} (e.g. 'session.${path || 'name'}')`,
    };
  }
  if (segments.length === 0) return { ok: false, message: `Variable '${path}' names only a scope; add a name, e.g. '${scope}.name'` };
  if (segments.length > MAX_SEGMENTS) return { ok: false, message: `Variable '${path}' is nested deeper than ${MAX_SEGMENTS} levels` };
  for (const [i, segment] of segments.entries()) {
    const isIndex = i > 0 && INDEX.test(segment);
    if (!isIndex && !SEGMENT.test(segment)) {
      return {
        ok: false,
        message: `Variable '${path}' has an invalid part '${segment}'; use letters, digits and '_' (not starting with a digit)`,
      };
    }
    if (FORBIDDEN_SEGMENTS.has(segment)) return { ok: false, message: `Variable '${path}' uses the reserved name '${segment}'` };
    if (isIndex && options.write) {
      return { ok: false, message: `Variable '${path}' writes into an array element; write the whole value instead` };
    }
  }
  if (options.write && !(writableScopes as readonly string[]).includes(scope)) {
    return {
      ok: false,
      message: `Variable '${path}' is in the read-only scope '${scope}'; write to ${writableScopes.map((s) => `${s}.*`).join(', ')}`,
    };
  }
  return { ok: true, scope: scope as ScopeName | 'secrets', segments };
}

/** An empty scope, optionally with some scopes filled. */
export function createScope(partial: Partial<Scope> = {}): Scope {
  return {
    message: partial.message ?? {},
    session: partial.session ?? {},
    user: partial.user ?? {},
    chat: partial.chat ?? {},
    bot: partial.bot ?? {},
    run: partial.run ?? {},
  };
}

/** Scope-like input for reading: any subset of scopes, plus secrets where an activity has them. */
export type ReadableScope = Partial<Scope> & { secrets?: JsonObject };

function child(value: JsonValue | undefined, segment: string): JsonValue | undefined {
  if (Array.isArray(value)) return INDEX.test(segment) ? value[Number(segment)] : undefined;
  if (isPlainObject(value) && Object.hasOwn(value, segment)) return value[segment];
  return undefined;
}

/**
 * Reads a variable by dotted path; `undefined` when any part is missing or the path is invalid.
 *
 * @example getVariable(scope, 'session.order.items.0.title')
 */
export function getVariable(scope: ReadableScope, path: string): JsonValue | undefined {
  const [scopeName, ...segments] = path.split('.');
  if (scopeName === undefined || !Object.hasOwn(scope, scopeName)) return undefined;
  let value: JsonValue | undefined = (scope as Record<string, JsonObject | undefined>)[scopeName];
  for (const segment of segments) {
    if (FORBIDDEN_SEGMENTS.has(segment)) return undefined;
    value = child(value, segment);
    if (value === undefined) return undefined;
  }
  return value;
}

/** Thrown by {@link setVariable} for invalid or read-only paths (the compiler rejects those first). */
export class VariableError extends Error {
  override name = 'VariableError';
}

function writeAt(target: JsonObject, segments: string[], value: JsonValue | undefined): JsonObject {
  const [head, ...rest] = segments;
  if (head === undefined) return target;
  const copy: JsonObject = { ...target };
  if (rest.length === 0) {
    if (value === undefined) delete copy[head];
    else copy[head] = value;
    return copy;
  }
  const current = copy[head];
  copy[head] = writeAt(isPlainObject(current) ? current : {}, rest, value);
  return copy;
}

/**
 * Returns a new scope with the variable set (the input is not modified). Intermediate
 * objects are created; a non-object in the way is replaced.
 *
 * @throws {VariableError} when the path is invalid or read-only.
 * @example setVariable(scope, 'user.name', 'Ann')
 */
export function setVariable(scope: Scope, path: string, value: JsonValue): Scope {
  const parsed = parseVariablePath(path, { write: true });
  if (!parsed.ok) throw new VariableError(parsed.message);
  const name = parsed.scope as WritableScopeName;
  return { ...scope, [name]: writeAt(scope[name], parsed.segments, value) };
}

/** Returns a new scope without the variable. @throws {VariableError} like {@link setVariable}. */
export function unsetVariable(scope: Scope, path: string): Scope {
  const parsed = parseVariablePath(path, { write: true });
  if (!parsed.ok) throw new VariableError(parsed.message);
  const name = parsed.scope as WritableScopeName;
  return { ...scope, [name]: writeAt(scope[name], parsed.segments, undefined) };
}

export type CoerceResult = { ok: true; value: JsonValue } | { ok: false; message: string };

const TRUE_WORDS = new Set(['true', 'yes', 'y', 'on', '1', 'да']);
const FALSE_WORDS = new Set(['false', 'no', 'n', 'off', '0', '', 'нет']);

/**
 * Converts a rendered template (or any JSON value) to a variable type.
 * number: decimal text → number; boolean: true/yes/on/1/да or false/no/off/0/нет/'';
 * json: parsed JSON text (non-strings pass through); string: JSON of non-strings.
 */
export function coerceValue(value: JsonValue, type: VariableType): CoerceResult {
  const text = typeof value === 'string' ? value.trim() : undefined;
  switch (type) {
    case 'string':
      return { ok: true, value: typeof value === 'string' ? value : value === null ? '' : JSON.stringify(value) };
    case 'number': {
      if (typeof value === 'number') return { ok: true, value };
      const parsed = text !== undefined && text !== '' ? Number(text) : Number.NaN;
      return Number.isFinite(parsed) ? { ok: true, value: parsed } : { ok: false, message: `'${String(text ?? JSON.stringify(value)).slice(0, 40)}' is not a number` };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { ok: true, value };
      if (typeof value === 'number') return { ok: true, value: value !== 0 };
      const word = text?.toLowerCase();
      if (word !== undefined && TRUE_WORDS.has(word)) return { ok: true, value: true };
      if (word !== undefined && FALSE_WORDS.has(word)) return { ok: true, value: false };
      return { ok: false, message: `'${String(text ?? JSON.stringify(value)).slice(0, 40)}' is not a yes/no value` };
    }
    case 'json': {
      if (typeof value !== 'string') return { ok: true, value };
      try {
        return { ok: true, value: JSON.parse(value) as JsonValue };
      } catch {
        return { ok: false, message: `'${value.slice(0, 40)}' is not valid JSON` };
      }
    }
  }
}
