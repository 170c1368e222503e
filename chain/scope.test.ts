import { describe, expect, it } from 'vitest';
import { coerceValue, createScope, getVariable, parseVariablePath, setVariable, unsetVariable, VariableError, type VariableType } from './scope.ts';
import type { JsonValue } from './json.ts';

describe('variable paths', () => {
  it.each([
    ['user.name', { scope: 'user', segments: ['name'] }],
    ['session.order.items.0.title', { scope: 'session', segments: ['order', 'items', '0', 'title'] }],
    ['secrets.api_key', { scope: 'secrets', segments: ['api_key'] }],
  ])('reads %j', (path, expected) => {
    expect(parseVariablePath(path)).toEqual({ ok: true, ...expected });
  });

  it.each([
    ['name', {}, /must start with a scope/],
    ['global.name', {}, /must start with a scope/],
    ['user', {}, /names only a scope/],
    ['user.first-name', {}, /invalid part 'first-name'/],
    ['user.0', {}, /invalid part '0'/],
    ['user.__proto__', {}, /reserved name/],
    ['session.a.b.c.d.e.f.g.h.i', {}, /deeper than 8/],
    ['message.text', { write: true }, /read-only scope 'message'/],
    ['run.input', { write: true }, /read-only scope 'run'/],
    ['secrets.token', { write: true }, /read-only scope 'secrets'/],
    ['session.items.0', { write: true }, /array element/],
  ])('rejects %j %j', (path, options, message) => {
    const result = parseVariablePath(path, options);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });
});

describe('reading and writing variables', () => {
  const scope = createScope({ session: { order: { items: [{ title: 'Tea' }] } }, user: { name: 'Ann' } });

  it.each([
    ['user.name', 'Ann'],
    ['session.order.items.0.title', 'Tea'],
    ['session.order.items.5.title', undefined],
    ['session.order.title', undefined],
    ['user.name.length', undefined],
    ['user.constructor', undefined],
    ['secrets.token', undefined],
    ['nowhere.x', undefined],
  ])('gets %j as %j', (path, expected) => {
    expect(getVariable(scope, path)).toBe(expected);
  });

  it('sets without touching the original scope', () => {
    const next = setVariable(scope, 'user.name', 'Bob');
    expect(getVariable(next, 'user.name')).toBe('Bob');
    expect(getVariable(scope, 'user.name')).toBe('Ann');
    expect(next.session).toBe(scope.session);
  });

  it('creates intermediate objects and replaces non-objects in the way', () => {
    const next = setVariable(setVariable(scope, 'session.profile.city', 'Riga'), 'user.name.first', 'A');
    expect(next.session['profile']).toEqual({ city: 'Riga' });
    expect(next.user['name']).toEqual({ first: 'A' });
  });

  it('unsets a variable', () => {
    expect(unsetVariable(scope, 'user.name').user).toEqual({});
  });

  it.each(['message.text', 'session.__proto__.polluted', 'nope'])('refuses to write %j', (path) => {
    expect(() => setVariable(scope, path, 1)).toThrowError(VariableError);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('value coercion', () => {
  it.each<[JsonValue, VariableType, JsonValue]>([
    ['42', 'number', 42],
    [' -1.5 ', 'number', -1.5],
    [7, 'number', 7],
    ['yes', 'boolean', true],
    ['Да', 'boolean', true],
    ['off', 'boolean', false],
    ['', 'boolean', false],
    [0, 'boolean', false],
    ['{"a":[1]}', 'json', { a: [1] }],
    [{ a: 1 }, 'json', { a: 1 }],
    [12, 'string', '12'],
    [{ a: 1 }, 'string', '{"a":1}'],
    [null, 'string', ''],
  ])('converts %j to %s %j', (value, type, expected) => {
    expect(coerceValue(value, type)).toEqual({ ok: true, value: expected });
  });

  it.each<[JsonValue, VariableType, RegExp]>([
    ['abc', 'number', /not a number/],
    ['', 'number', /not a number/],
    ['maybe', 'boolean', /yes\/no/],
    ['{oops', 'json', /not valid JSON/],
  ])('refuses %j as %s', (value, type, message) => {
    const result = coerceValue(value, type);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });
});
