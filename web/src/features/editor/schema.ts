// Reading the JSON Schema the API gives for a node type's config (z.toJSONSchema with
// `label`/`help`/`widget` metadata), so a new node type gets a usable form with no web code.

export type JsonSchema = { [key: string]: unknown };
export type FieldKind = 'text' | 'textarea' | 'number' | 'boolean' | 'enum' | 'const' | 'object' | 'map' | 'array' | 'tagged' | 'variants' | 'json';

export const isSchema = (value: unknown): value is JsonSchema => typeof value === 'object' && value !== null && !Array.isArray(value);
export const asRecord = (value: unknown): Record<string, unknown> => (isSchema(value) ? value : {});

/** Follows `$ref: '#/$defs/Name'` (keeping the referring schema's own keys, e.g. its label). */
export function resolveSchema(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let current = schema;
  for (let i = 0; i < 20 && typeof current.$ref === 'string'; i++) {
    const name = current.$ref.replace(/^#\/\$defs\//, '');
    const target = asRecord(asRecord(root.$defs)[name]);
    const { $ref: _ref, ...rest } = current;
    current = { ...target, ...rest };
  }
  return current;
}

function types(schema: JsonSchema): string[] {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((t): t is string => typeof t === 'string');
  return [];
}

/** The alternatives of a oneOf/anyOf, resolved. */
export function alternatives(schema: JsonSchema, root: JsonSchema): JsonSchema[] {
  const list = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : [];
  return list.filter(isSchema).map((s) => resolveSchema(s, root));
}

/** The property all alternatives fix with `const` (a discriminated union's tag). */
export function tagOf(options: JsonSchema[]): string | null {
  const first = options[0];
  if (!first) return null;
  for (const key of Object.keys(asRecord(first.properties))) {
    if (options.every((o) => asRecord(asRecord(o.properties)[key]).const !== undefined)) return key;
  }
  return null;
}

export function fieldKind(schema: JsonSchema, root: JsonSchema): FieldKind {
  if (Array.isArray(schema.enum)) return 'enum';
  if (schema.const !== undefined) return 'const';
  const options = alternatives(schema, root);
  if (options.length) {
    if (options.every((o) => types(o).includes('object')) && tagOf(options)) return 'tagged';
    if (options.every((o) => types(o).includes('object'))) return 'variants';
    if (options.some((o) => types(o).includes('string'))) return 'text';
    return 'json';
  }
  const t = types(schema);
  if (t.includes('object')) {
    if (isSchema(schema.properties)) return 'object';
    if (isSchema(schema.additionalProperties)) return 'map';
    return 'json';
  }
  if (t.includes('array')) return isSchema(schema.items) ? 'array' : 'json';
  if (t.includes('string')) return ['textarea', 'template', 'code', 'json'].includes(String(schema.widget)) ? 'textarea' : 'text';
  if (t.includes('number') || t.includes('integer')) return 'number';
  if (t.includes('boolean')) return 'boolean';
  return 'json';
}

/** A fresh value for a schema: its default, else an empty value of its kind. */
export function emptyValue(schema: JsonSchema, root: JsonSchema): unknown {
  const s = resolveSchema(schema, root);
  if (s.default !== undefined) return JSON.parse(JSON.stringify(s.default)) as unknown;
  switch (fieldKind(s, root)) {
    case 'object': {
      const value: Record<string, unknown> = {};
      const required = Array.isArray(s.required) ? s.required : [];
      for (const [key, prop] of Object.entries(asRecord(s.properties))) {
        if (required.includes(key) && isSchema(prop)) value[key] = emptyValue(prop, root);
      }
      return value;
    }
    case 'tagged': {
      const options = alternatives(s, root);
      const first = options[0];
      return first ? emptyValue(first, root) : {};
    }
    case 'variants': {
      const first = alternatives(s, root)[0];
      return first ? emptyValue(first, root) : {};
    }
    case 'const':
      return s.const;
    case 'map':
      return {};
    case 'array':
      return [];
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 0;
    case 'boolean':
      return false;
    case 'enum':
      return Array.isArray(s.enum) ? s.enum[0] : '';
    default:
      return '';
  }
}

/** The alternative a value matches best (all its required keys present, most of its keys known). */
export function matchVariant(options: JsonSchema[], value: unknown): number {
  const v = asRecord(value);
  let best = 0;
  let bestScore = -Infinity;
  options.forEach((option, i) => {
    const required = Array.isArray(option.required) ? option.required.filter((k): k is string => typeof k === 'string') : [];
    const props = Object.keys(asRecord(option.properties));
    const score = (required.every((k) => k in v) ? 100 : 0) + Object.keys(v).filter((k) => props.includes(k)).length - Object.keys(v).filter((k) => !props.includes(k)).length;
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  });
  return best;
}
