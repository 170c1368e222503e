import { describe, expect, it } from 'vitest';
import { toolParameters } from './agent-tool-facts.ts';
import { checkJsonSchema } from './json-schema-check.ts';

describe('checkJsonSchema (agent tool arguments)', () => {
  const schema = { type: 'object', properties: { id: { type: 'integer', minimum: 1 }, tag: { enum: ['a', 'b'] }, items: { type: 'array', items: { type: 'string' }, maxItems: 2 } }, required: ['id'], additionalProperties: false };
  it('accepts arguments that fit', () => {
    expect(checkJsonSchema(schema, { id: 3, tag: 'a', items: ['x'] })).toEqual([]);
  });
  it('names each problem by its path', () => {
    expect(checkJsonSchema(schema, { id: 'x' })).toEqual(['$.id: must be integer, got string']);
    expect(checkJsonSchema(schema, { tag: 'c', extra: 1 })).toEqual(['$.id: is required', '$.tag: must be one of "a", "b"', '$.extra: is not an allowed argument']);
    expect(checkJsonSchema(schema, { id: 0, items: [1, 'y', 'z'] })).toEqual(['$.id: must be ≥ 1', '$.items: must have at most 2 items', '$.items[0]: must be string, got integer']);
  });
  it('gives built-in tools their schemas', () => {
    expect(checkJsonSchema(toolParameters({ kind: 'ask_user', name: 'q', description: '', needsApproval: 'never' }), { question: '' })).toEqual(['$.question: must have at least 1 characters']);
    expect(toolParameters({ kind: 'subchain', name: 's', description: '', needsApproval: 'never', inputs: ['pizza'] })).toMatchObject({ required: ['pizza'] });
  });
});
