// Text PostgreSQL can store. `text` and `jsonb` refuse U+0000 (jsonb rejects the `\u0000`
// escape), and jsonb refuses lone UTF-16 surrogates (`\ud800` without its pair is an
// invalid escape). Strangers' input is checked at the API (a 400 naming the field) or
// replaced (webhook payloads, channel gateways) before it reaches workflow history or
// PostgreSQL; the run-event flush replaces what an HTTP response or an LLM produced.
// Pure: safe in the workflow sandbox, the API and the browser.

/** NUL, or a surrogate that is not part of a pair. */
// Per UTF-16 code unit (no `u` flag), so a lone surrogate is one match. NUL is the point.
// eslint-disable-next-line no-control-regex
const UNSTORABLE_TEST = /\x00|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE_TEST.source, 'g');

/** What replaces an unstorable code point: U+FFFD REPLACEMENT CHARACTER. */
export const REPLACEMENT = '\uFFFD';

/** True when `text` holds a code point PostgreSQL cannot store. */
export function hasUnstorable(text: string): boolean {
  return UNSTORABLE_TEST.test(text);
}

/** The first unstorable code point of `text` as `U+XXXX`, for error messages. */
export function describeUnstorable(text: string): string | undefined {
  const match = UNSTORABLE_TEST.exec(text);
  if (!match) return undefined;
  return `U+${(match[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Where the first string or object key holding an unstorable code point is in a
 * JSON-like value: its path (keys and indexes; the bad key itself last when it is a key)
 * and the bad text; undefined when all is storable.
 */
export function locateUnstorable(value: unknown, path: Array<string | number> = []): { path: Array<string | number>; text: string } | undefined {
  if (typeof value === 'string') return hasUnstorable(value) ? { path, text: value } : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = locateUnstorable(value[i], [...path, i]);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (hasUnstorable(key)) return { path: [...path, key], text: key };
      const found = locateUnstorable(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

/** The path (`a.b[2]`) of the first unstorable string or key, '' for the value itself; undefined when all is storable. */
export function findUnstorable(value: unknown): string | undefined {
  const found = locateUnstorable(value);
  if (!found) return undefined;
  return found.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/**
 * `value` with every unstorable code point in strings and object keys replaced by
 * U+FFFD (a NUL and a lone surrogate each become one replacement character). Values
 * without any are returned as they are (same object), so the common case copies nothing.
 * Reuse it for every channel that takes strangers' JSON (webhooks, Telegram updates).
 */
export function sanitizeForStorage<T>(value: T): T {
  if (findUnstorable(value) === undefined) return value;
  return replaceDeep(value) as T;
}

function replaceDeep(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(UNSTORABLE_ALL, REPLACEMENT);
  if (Array.isArray(value)) return value.map(replaceDeep);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key.replace(UNSTORABLE_ALL, REPLACEMENT)] = replaceDeep(item);
    return out;
  }
  return value;
}

/** UTF-8 byte length of a string (no TextEncoder: the workflow sandbox needs none). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Cuts `text` to about `max` characters, saying how long it was. */
export function clipText(text: string, max = 1024): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length} chars)`;
}
