// A small, zod-free JSON Schema checker for agent tool arguments: the workflow validates
// the model's arguments before any tool runs (workflows/ may not import zod at runtime).
// Covers what tool parameter schemas use: type, properties, required,
// additionalProperties: false, enum, const, items, min/max(Length|imum|Items), pattern.

import type { JsonValue } from './json.ts';

function typeOf(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(expected: string, actual: string): boolean {
  return expected === actual || (expected === 'number' && actual === 'integer');
}

/** Problems of `value` against `schema` ('$.city: must be string'); empty when it fits. */
export function checkJsonSchema(schema: JsonValue | undefined, value: JsonValue, path = '$', out: string[] = []): string[] {
  if (schema === undefined || schema === null || typeof schema !== 'object' || Array.isArray(schema) || out.length >= 5) return out;
  const s = schema;
  const actual = typeOf(value);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type.map(String) : [String(s.type)];
    if (!types.some((t) => typeMatches(t, actual))) {
      out.push(`${path}: must be ${types.join(' or ')}, got ${actual}`);
      return out;
    }
  }
  if (Array.isArray(s.enum) && !s.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    out.push(`${path}: must be one of ${s.enum.map((option) => JSON.stringify(option)).join(', ')}`);
  }
  if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(value)) out.push(`${path}: must be ${JSON.stringify(s.const)}`);
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength) out.push(`${path}: must have at least ${s.minLength} characters`);
    if (typeof s.maxLength === 'number' && value.length > s.maxLength) out.push(`${path}: must have at most ${s.maxLength} characters`);
    if (typeof s.pattern === 'string') {
      let re: RegExp | undefined;
      try {
        re = new RegExp(s.pattern, 'u');
      } catch {
        re = undefined;
      }
      if (re && !re.test(value)) out.push(`${path}: must match ${s.pattern}`);
    }
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) out.push(`${path}: must be ≥ ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) out.push(`${path}: must be ≤ ${s.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) out.push(`${path}: must have at least ${s.minItems} items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) out.push(`${path}: must have at most ${s.maxItems} items`);
    value.forEach((item, i) => checkJsonSchema(s.items, item, `${path}[${i}]`, out));
  }
  if (actual === 'object' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const properties = s.properties !== null && typeof s.properties === 'object' && !Array.isArray(s.properties) ? s.properties : {};
    for (const name of Array.isArray(s.required) ? s.required.map(String) : []) {
      if (!Object.hasOwn(value, name)) out.push(`${path}.${name}: is required`);
    }
    for (const [name, item] of Object.entries(value)) {
      if (Object.hasOwn(properties, name)) checkJsonSchema(properties[name], item, `${path}.${name}`, out);
      else if (s.additionalProperties === false) out.push(`${path}.${name}: is not an allowed argument`);
    }
  }
  return out;
}
