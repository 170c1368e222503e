// The small JSON path dialect of HTTP response mappings: `$`, `.key`, `[0]`, `['key']`,
// `["key"]`. No wildcards or filters: a mapping reads one value.

import { isPlainObject, type JsonValue } from './json.ts';

const STEP = /\.([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;

/** Splits a JSON path into keys and indexes; undefined when it is not valid. */
export function parseJsonPath(path: string): Array<string | number> | undefined {
  const text = path.trim();
  if (!text.startsWith('$')) return undefined;
  const steps: Array<string | number> = [];
  let position = 1;
  while (position < text.length) {
    STEP.lastIndex = position;
    const match = STEP.exec(text);
    if (!match) return undefined;
    const [, key, index, single, double] = match;
    steps.push(index !== undefined ? Number(index) : (key ?? single ?? double ?? ''));
    position = STEP.lastIndex;
  }
  return steps;
}

/**
 * Reads a value by JSON path; undefined when absent.
 *
 * @example readJsonPath({ data: { items: [{ id: 7 }] } }, '$.data.items[0].id') // 7
 */
export function readJsonPath(value: JsonValue, path: string): JsonValue | undefined {
  const steps = parseJsonPath(path);
  if (!steps) return undefined;
  let current: JsonValue | undefined = value;
  for (const step of steps) {
    if (typeof step === 'number') current = Array.isArray(current) ? current[step] : undefined;
    else current = isPlainObject(current) && Object.hasOwn(current, step) ? current[step] : undefined;
    if (current === undefined) return undefined;
  }
  return current;
}
