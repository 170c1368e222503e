import { RE2JS } from 're2js';

// User patterns run on RE2 (linear time, no backtracking) over capped input, so no
// pattern and no message can stall a workflow task.

/** Inputs longer than this are cut before matching. */
export const MAX_REGEX_INPUT = 4096;
/** Longer patterns are refused at compile time. */
export const MAX_PATTERN_LENGTH = 1000;

const JS_LITERAL = /^\/.+\/[dgimsuy]*$/s;

const cache = new Map<string, RE2JS | string>();
const CACHE_LIMIT = 512;

function explain(pattern: string, raw: string): string {
  if (/\(\?<?[=!]/.test(pattern)) {
    return 'lookahead and lookbehind assertions ((?=…), (?!…), (?<=…)) are not supported by the linear-time engine; match the text directly or split the check into two rules';
  }
  if (/\\[1-9]/.test(pattern)) {
    return 'backreferences (\\1…) are not supported by the linear-time engine; compare the captured parts with separate rules';
  }
  return raw.replace(/^error parsing regexp: /, '');
}

function compile(pattern: string, caseInsensitive: boolean): RE2JS | string {
  const key = `${caseInsensitive ? 'i' : '-'}${pattern}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  let result: RE2JS | string;
  if (pattern.length > MAX_PATTERN_LENGTH) result = `the pattern is longer than ${MAX_PATTERN_LENGTH} characters`;
  else if (JS_LITERAL.test(pattern)) {
    // Almost always a JavaScript literal pasted by mistake; write \/ to match slashes.
    result = "write the pattern without JavaScript slashes, e.g. '^\\d+$' instead of '/^\\d+$/'; use (?i) for case-insensitive matching (escape a leading slash as \\/ to match it)";
  } else {
    try {
      result = RE2JS.compile(pattern, caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
    } catch (error) {
      result = explain(pattern, error instanceof Error ? error.message : String(error));
    }
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, result);
  return result;
}

/**
 * Checks that a pattern compiles on the linear-time engine (RE2 syntax).
 *
 * @example checkRegex('(a)\\1') // { ok: false, message: 'backreferences … are not supported …' }
 */
export function checkRegex(pattern: string): { ok: true } | { ok: false; message: string } {
  const compiled = compile(pattern, false);
  return typeof compiled === 'string' ? { ok: false, message: compiled } : { ok: true };
}

/**
 * Unanchored search of `pattern` in the first {@link MAX_REGEX_INPUT} characters of
 * `input`. An invalid pattern never matches (the compiler rejects it first).
 */
export function regexTest(pattern: string, input: string, options: { caseInsensitive?: boolean } = {}): boolean {
  const compiled = compile(pattern, options.caseInsensitive ?? false);
  if (typeof compiled === 'string') return false;
  return compiled.test(input.length > MAX_REGEX_INPUT ? input.slice(0, MAX_REGEX_INPUT) : input);
}
