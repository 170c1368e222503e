import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { nodeSpecs, nodeTypes } from '../../../../chain/index.ts';
import { alternatives, emptyValue, fieldKind, matchVariant, resolveSchema, tagOf, type JsonSchema } from './schema.ts';

// The same JSON Schemas GET /api/v1/node-types sends.
const schemaOf = (type: keyof typeof nodeSpecs) => z.toJSONSchema(nodeSpecs[type].config, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
const prop = (schema: JsonSchema, key: string) => resolveSchema((schema.properties as Record<string, JsonSchema>)[key]!, schema);

describe('generated node forms', () => {
  it('give every field of every built-in type a known kind and a label', () => {
    for (const type of nodeTypes) {
      const root = schemaOf(type);
      expect(fieldKind(root, root), type).toMatch(/object|tagged/);
      for (const [key, value] of Object.entries((root.properties ?? {}) as Record<string, JsonSchema>)) {
        const field = resolveSchema(value, root);
        expect(fieldKind(field, root), `${type}.${key}`).not.toBe('const');
        const label = field.label as { en?: string; ru?: string } | undefined;
        if (label) expect(label.ru, `${type}.${key}`).toBeTruthy();
      }
    }
  });

  it('reads the start trigger as a union tagged by kind, and the ask prompt as a text area', () => {
    const start = schemaOf('start');
    const trigger = prop(start, 'trigger');
    expect(fieldKind(trigger, start)).toBe('tagged');
    expect(tagOf(alternatives(trigger, start))).toBe('kind');
    const ask = schemaOf('ask');
    expect(fieldKind(prop(ask, 'prompt'), ask)).toBe('textarea');
    expect(fieldKind(prop(ask, 'retries'), ask)).toBe('number');
  });

  it('follows the recursive rule group and tells a rule from a nested group', () => {
    const condition = schemaOf('condition');
    const rules = prop(condition, 'rules');
    expect(fieldKind(rules, condition)).toBe('object');
    const items = resolveSchema((rules.properties as Record<string, JsonSchema>).rules!.items as JsonSchema, condition);
    const options = alternatives(items, condition);
    expect(fieldKind(items, condition)).toBe('variants');
    expect(matchVariant(options, { field: 'user.name', operator: 'equals', value: 'x' })).toBe(0);
    expect(matchVariant(options, { condition: 'OR', rules: [] })).toBe(1);
  });

  it('makes fresh values that the node config accepts where defaults exist', () => {
    const delay = schemaOf('delay');
    expect(emptyValue(delay, delay)).toMatchObject({ mode: 'duration' });
  });
});
