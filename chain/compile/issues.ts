// Phase: zod's issues (graph shape, node configs) as compile problems with a fix.

import type { z } from 'zod';
import type { CompileError } from '../compile-errors.ts';
import { isPlainObject } from '../json.ts';

/** A zod issue path as a dotted field name ('validator.pattern'). */
export function pathText(path: readonly PropertyKey[]): string {
  return path.map((part) => String(part)).join('.');
}

/** What to do about a zod issue on `field`. */
export function issueFix(issue: z.core.$ZodIssue, field: string): string {
  switch (issue.code) {
    case 'invalid_type':
      return `Give '${field}' a value of type ${issue.expected}`;
    case 'invalid_value':
      return `Use one of: ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'unrecognized_keys':
      return `Remove ${issue.keys.map((key) => `'${key}'`).join(', ')}`;
    case 'invalid_union':
      return issue.discriminator !== undefined ? `Pick a valid '${issue.discriminator}'` : `Check '${field}': it matches none of the accepted shapes`;
    case 'too_small':
    case 'too_big':
      return `Adjust '${field}': ${issue.message}`;
    default:
      return `Change '${field}' as described`;
  }
}

/** Better text than zod's for a discriminated union with an unknown tag. */
export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_union' && issue.discriminator !== undefined && 'options' in issue && issue.options) {
    return `'${issue.discriminator}' must be one of: ${issue.options.map((option) => String(option)).join(', ')}`;
  }
  return issue.message;
}

function rawId(input: unknown, list: 'nodes' | 'edges', index: number): string | undefined {
  if (!isPlainObject(input)) return undefined;
  const items = input[list];
  if (!Array.isArray(items)) return undefined;
  const item: unknown = items[index];
  return isPlainObject(item) && typeof item['id'] === 'string' ? item['id'] : undefined;
}

/**
 * The problems of an input that does not match the graph schema, each naming the node
 * or edge (by id when it has one, else by position) and the field.
 */
export function graphProblems(input: unknown, issues: readonly z.core.$ZodIssue[]): CompileError[] {
  return issues.map((issue) => {
    const [list, index, ...rest] = issue.path;
    if ((list === 'nodes' || list === 'edges') && typeof index === 'number') {
      const id = rawId(input, list, index);
      const field = pathText(rest);
      const what = `${list === 'nodes' ? 'Node' : 'Edge'} ${id !== undefined ? `'${id}'` : `#${index + 1}`}`;
      return {
        code: 'graph_invalid',
        ...(id !== undefined ? (list === 'nodes' ? { nodeId: id } : { edgeId: id }) : {}),
        ...(field ? { field } : {}),
        message: `${what}${field ? `, field '${field}'` : ''}: ${issueMessage(issue)}`,
        fix: issueFix(issue, field || list),
      };
    }
    const field = pathText(issue.path);
    return {
      code: 'graph_invalid',
      ...(field ? { field } : {}),
      message: `Chain${field ? ` field '${field}'` : ''}: ${issueMessage(issue)}`,
      fix: issueFix(issue, field || 'chain'),
    };
  });
}
