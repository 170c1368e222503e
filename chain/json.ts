/** A value that survives `JSON.stringify` / `JSON.parse` unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object (string keys, JSON values). */
export type JsonObject = { [key: string]: JsonValue };

/** True for plain objects (not arrays, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Serialises a value as JSON with object keys sorted at every level and `undefined`
 * properties dropped, so equal content always yields the same string whatever the key
 * order it was built with. Arrays keep their order (it is meaningful).
 */
export function canonicalJson(value: unknown): string {
  // Fast path: the sorted clone through the native serialiser (several times faster on a
  // large IR). An object only enumerates its keys in insertion order when none is an
  // array index ('0', '12'…: those come first, in numeric order), so a clone with a key
  // starting with a digit takes the hand-written path, which keeps the exact text.
  const clone = sortedClone(value);
  return clone.indexKeys ? canonicalText(value) : JSON.stringify(clone.value);
}

function canonicalText(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalText(item))).join(',')}]`;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalText(value[key])}`).join(',')}}`;
  }
  return 'null';
}

/**
 * The value `JSON.parse(canonicalJson(value))` would give — keys sorted, `undefined`
 * members dropped (`null` in arrays), non-finite numbers `null` — built directly, without
 * the text round trip (the compiler's emit phase runs it over every node).
 */
export function canonicalClone(value: unknown): JsonValue {
  return sortedClone(value).value;
}

/**
 * canonicalClone, and whether some key starts with a digit (may be an array index): when
 * none does, `JSON.stringify` of the clone is the canonical text.
 */
export function sortedClone(value: unknown): { value: JsonValue; indexKeys: boolean } {
  const found = { indexKeys: false };
  return { value: cloneInto(value, found), indexKeys: found.indexKeys };
}

function cloneInto(value: unknown, found: { indexKeys: boolean }): JsonValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array<JsonValue>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out[i] = item === undefined ? null : cloneInto(item, found);
    }
    return out;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    // Most objects are small and many already sorted: sort only when needed.
    let sorted = true;
    for (let i = 1; i < keys.length; i++) {
      if ((keys[i - 1] as string) > (keys[i] as string)) {
        sorted = false;
        break;
      }
    }
    if (!sorted) keys.sort();
    const out: { [key: string]: JsonValue } = {};
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const code = key.charCodeAt(0);
      if (code >= 48 && code <= 57) found.indexKeys = true;
      const item = value[key];
      if (item !== undefined) out[key] = cloneInto(item, found);
    }
    return out;
  }
  return null;
}
