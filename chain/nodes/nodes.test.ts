import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createScope } from '../scope.ts';
import { validateAnswer } from '../answer.ts';
import { applyAssignments } from '../assign.ts';
import { resolveDelay } from '../delay-time.ts';
import type { AskConfig } from './ask.ts';
import { nodeSchema, nodeSpecs, nodeTypes, specFor } from './index.ts';
import { pluginNode } from './plugin.ts';
import { setConfigSchema } from './set.ts';
import { portsOf, type NodeSpec } from './spec.ts';

const specs: NodeSpec[] = [...nodeTypes.map((type) => nodeSpecs[type]), pluginNode];

interface JsonSchemaObject {
  type?: string;
  properties?: Record<string, { const?: unknown; label?: { en?: string; ru?: string } }>;
  required?: string[];
  additionalProperties?: unknown;
}

/** The zod objects a node's form is generated from: its config, or one per mode. */
function formObjects(config: z.ZodType): Array<Record<string, z.ZodType>> {
  if (config instanceof z.ZodObject) return [config.shape as Record<string, z.ZodType>];
  if (config instanceof z.ZodDiscriminatedUnion) return config.options.map((option) => formObjects(option as z.ZodType)).flat();
  throw new Error(`Unexpected config schema ${config.constructor.name}`);
}

/** Node types whose fresh default lacks a reference the editor must pick. */
const needsReference: Record<string, string> = { llm: 'credentialId', agent: 'credentialId', subchain: 'chainRef', goto: 'target', knowledge: 'baseId' };

describe('node specs', () => {
  it.each(specs.map((spec) => [spec.type, spec] as const))('%s has labels and help in English and Russian', (_type, spec) => {
    for (const text of [spec.label, spec.help]) {
      expect(text.en.length).toBeGreaterThan(1);
      expect(text.ru).toMatch(/[а-яё]/i);
    }
  });

  it.each(specs.map((spec) => [spec.type, spec] as const))('%s has defaults that validate, except for references to pick', (type, spec) => {
    const result = spec.config.safeParse(spec.defaults);
    const fields = result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
    expect(fields).toEqual(needsReference[type] ? [needsReference[type]] : []);
  });

  it.each(specs.map((spec) => [spec.type, spec] as const))('%s generates a JSON Schema for its form', (_type, spec) => {
    const schema = z.toJSONSchema(spec.config, { io: 'input' });
    // An object, or (delay) one object per mode.
    const shapes = schema.oneOf ?? [schema];
    for (const shape of shapes) expect(typeof shape === 'object' && shape.type).toBe('object');
  });

  it.each(nodeTypes.map((type) => [type, nodeSpecs[type] as NodeSpec] as const))(
    "%s's form has one labelled field per config field, required exactly where the config needs a value",
    (_type, spec) => {
      const schema = z.toJSONSchema(spec.config, { io: 'input' });
      const objects = formObjects(spec.config);
      const shapes = (schema.oneOf ?? [schema]) as JsonSchemaObject[];
      expect(shapes).toHaveLength(objects.length);
      objects.forEach((fields, i) => {
        const shape = shapes[i] as JsonSchemaObject;
        expect(Object.keys(shape.properties ?? {})).toEqual(Object.keys(fields));
        const needed = Object.entries(fields).filter(([, field]) => !field.safeParse(undefined).success).map(([name]) => name);
        expect([...(shape.required ?? [])].sort()).toEqual(needed.sort());
        for (const [name, property] of Object.entries(shape.properties ?? {})) {
          if (property.const !== undefined) continue; // a mode's discriminator, chosen by the form's mode picker
          // Russian labels may be the same word ('URL'), but both languages are there.
          expect({ name, label: property.label }).toEqual({ name, label: { en: expect.stringMatching(/\S/), ru: expect.stringMatching(/\S/) } });
        }
      });
      // A form per mode: each mode's discriminator is a distinct constant.
      if (objects.length > 1) {
        const modes = shapes.map((shape) => Object.values(shape.properties ?? {}).find((property) => property.const !== undefined)?.const);
        expect(new Set(modes).size).toBe(objects.length);
      }
    },
  );

  it('gives plugin nodes a free-form object form', () => {
    const schema = z.toJSONSchema(pluginNode.config, { io: 'input' }) as JsonSchemaObject;
    expect(schema).toMatchObject({ type: 'object', additionalProperties: expect.any(Object) });
    expect(schema.properties).toBeUndefined();
  });

  it('carries field labels and widgets into the JSON Schema', () => {
    const schema = JSON.stringify(z.toJSONSchema(nodeSpecs.ask.config, { io: 'input' }));
    expect(schema).toContain('"label":{"en":"Save answer to","ru":"Сохранить ответ в"}');
    expect(schema).toContain('"widget":"duration"');
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['start', { trigger: { kind: 'any' } }, ['next']],
    ['message', { text: 'x' }, ['next']],
    ['ask', { prompt: 'x', variable: 'session.x' }, ['next', 'invalid']],
    ['ask', { prompt: 'x', variable: 'session.x', timeout: '15m' }, ['next', 'invalid', 'timeout']],
    ['condition', { rules: { rules: [] } }, ['true', 'false']],
    ['switch', { cases: [{ id: 'paid', rules: { rules: [] } }, { id: 'free', rules: { rules: [] } }] }, ['paid', 'free', 'else']],
    ['set', { assignments: [{ variable: 'session.x' }] }, ['next']],
    ['delay', { mode: 'duration', duration: '1h' }, ['next']],
    ['http', { url: 'https://x.test' }, ['ok', 'error']],
    ['llm', { credentialId: 'c1', model: 'm', variable: 'session.r' }, ['ok', 'error']],
    ['code', { source: 'function main() { return 1 }' }, ['ok', 'error']],
    ['subchain', { chainRef: 'x' }, ['next']],
    ['split', { variants: [{ id: 'a' }, { id: 'b' }] }, ['a', 'b']],
    ['goto', { target: 'x' }, []],
    ['end', {}, []],
    ['plugin:sheets/append-row', { sheet: 'A' }, ['ok', 'error']],
  ])('%s with %j has ports %j', (type, data, ports) => {
    const spec = specFor(type);
    expect(spec).toBeDefined();
    if (!spec) return;
    expect(portsOf(spec, spec.config.parse(data)).map((port) => port.id)).toEqual(ports);
  });
});

describe('node schema', () => {
  it('parses a built-in node with its typed config', () => {
    const node = nodeSchema.parse({ id: 'q', type: 'ask', data: { prompt: 'Name?', variable: 'user.name' } });
    expect(node.type === 'ask' && node.data.retries).toBe(2);
  });

  it('parses a plugin node with a free-form config', () => {
    expect(nodeSchema.parse({ id: 'p', type: 'plugin:sheets/append-row', data: { sheet: 'Leads' } })).toMatchObject({ type: 'plugin:sheets/append-row' });
  });

  it.each([{ id: 'x', type: 'teleport', data: {} }, { id: 'x', type: 'plugin:Bad Name', data: {} }, { id: 'x', type: 'message', data: {} }])('rejects %j', (node) => {
    expect(nodeSchema.safeParse(node).success).toBe(false);
  });
});

describe('ask answers', () => {
  const config = (validator: AskConfig['validator'], buttons?: AskConfig['buttons']): Pick<AskConfig, 'validator' | 'buttons'> => ({ validator, buttons });
  const yesNo: AskConfig['buttons'] = { kind: 'reply', rows: [[{ id: 'y', text: 'Yes', value: 'yes' }, { id: 'n', text: 'No' }]] };

  it.each<[string, Pick<AskConfig, 'validator' | 'buttons'>, { text: string; value?: string }, unknown]>([
    ['any text', config({ kind: 'none' }), { text: '  Ann ' }, 'Ann'],
    ['blank text', config({ kind: 'none' }), { text: '   ' }, undefined],
    ['a matching pattern', config({ kind: 'regex', pattern: '^\\d{6}$', ignoreCase: false }), { text: '123456' }, '123456'],
    ['a non-matching pattern', config({ kind: 'regex', pattern: '^\\d{6}$', ignoreCase: false }), { text: '12345' }, undefined],
    ['a case-insensitive pattern', config({ kind: 'regex', pattern: '^yes$', ignoreCase: true }), { text: 'YES' }, 'YES'],
    ['a number with a comma', config({ kind: 'number', integer: false }), { text: '3,5' }, 3.5],
    ['a number out of range', config({ kind: 'number', min: 18, max: 120, integer: true }), { text: '17' }, undefined],
    ['a fraction where integers are required', config({ kind: 'number', integer: true }), { text: '2.5' }, undefined],
    ['a word for a number', config({ kind: 'number', integer: false }), { text: 'ten' }, undefined],
    ['an email', config({ kind: 'email' }), { text: 'ann@example.com' }, 'ann@example.com'],
    ['a broken email', config({ kind: 'email' }), { text: 'ann@example' }, undefined],
    ['a formatted phone', config({ kind: 'phone' }), { text: '+7 (999) 123-45-67' }, '+79991234567'],
    ['a short phone', config({ kind: 'phone' }), { text: '12-34' }, undefined],
    ['a listed choice in other case', config({ kind: 'choice', choices: ['Red', 'Green'] }), { text: 'green' }, 'Green'],
    ['an unlisted choice', config({ kind: 'choice', choices: ['Red', 'Green'] }), { text: 'blue' }, undefined],
    ['a pressed button (its value)', config({ kind: 'choice' }, yesNo), { text: 'Yes', value: 'yes' }, 'yes'],
    ['a typed button text', config({ kind: 'choice' }, yesNo), { text: 'no' }, 'No'],
  ])('accepts or refuses %s', (_name, askConfig, answer, expected) => {
    const result = validateAnswer(askConfig, answer);
    expect(result.ok ? result.value : undefined).toEqual(expected);
  });
});

describe('set node assignments', () => {
  it('applies set, increment, append and unset in order', () => {
    const { assignments } = setConfigSchema.parse({
      assignments: [
        { variable: 'session.count', op: 'increment' },
        { variable: 'session.count', op: 'increment', value: '{{ run.step }}' },
        { variable: 'session.tags', op: 'append', value: 'vip' },
        { variable: 'user.age', value: '{{ message.text }}', valueType: 'number' },
        { variable: 'session.profile', value: '{"city":"Riga"}', valueType: 'json' },
        { variable: 'session.temp', op: 'unset' },
      ],
    });
    const scope = createScope({ message: { text: '42' }, run: { step: 5 }, session: { tags: ['new'], temp: 1 } });
    const result = applyAssignments(scope, assignments);
    expect(result.problems).toEqual([]);
    expect(result.scope.session).toEqual({ count: 6, tags: ['new', 'vip'], profile: { city: 'Riga' } });
    expect(result.scope.user).toEqual({ age: 42 });
  });

  it('skips a value that does not convert and reports it', () => {
    const { assignments } = setConfigSchema.parse({ assignments: [{ variable: 'user.age', value: '{{ message.text }}', valueType: 'number' }] });
    const result = applyAssignments(createScope({ message: { text: 'old' } }), assignments);
    expect(result.scope.user).toEqual({});
    expect(result.problems).toEqual([{ index: 0, variable: 'user.age', message: "'old' is not a number" }]);
  });
});

describe('delay node', () => {
  const now = Date.UTC(2025, 2, 1, 6, 0); // 09:00 in Moscow

  it.each<[string, Parameters<typeof resolveDelay>[0], number]>([
    ['a duration', { mode: 'duration', duration: '3d' }, 3 * 86_400_000],
    ['a local time later today', { mode: 'until', at: '2025-03-01T10:30', timezone: 'Europe/Moscow' }, 90 * 60_000],
    ['a time from a variable', { mode: 'until', at: '{{ session.at }}', timezone: '{{ user.tz }}' }, 60 * 60_000],
    ['a time already past', { mode: 'until', at: '2025-02-01T00:00', timezone: 'UTC' }, 0],
  ])('waits the right time for %s', (_name, config, ms) => {
    const scope = createScope({ session: { at: '2025-03-01 10:00' }, user: { tz: 'Europe/Moscow' } });
    expect(resolveDelay(config, now, scope)).toEqual({ ok: true, ms });
  });

  it('explains an unusable rendered time', () => {
    expect(resolveDelay({ mode: 'until', at: '{{ session.at }}', timezone: 'UTC' }, now, createScope())).toEqual({ ok: false, message: "'' is not a date-time like 2025-12-31T09:00" });
  });
});
