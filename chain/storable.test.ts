import { describe, expect, it } from 'vitest';
import { clipText, describeUnstorable, findUnstorable, hasUnstorable, sanitizeForStorage, utf8Length } from './storable.ts';

describe('text PostgreSQL can store', () => {
  it('finds NUL and lone surrogates, not paired ones', () => {
    expect(hasUnstorable('a\u0000b')).toBe(true);
    expect(hasUnstorable('a\ud800b')).toBe(true);
    expect(hasUnstorable('a\udc00')).toBe(true);
    expect(hasUnstorable('😀 ok')).toBe(false);
    expect(describeUnstorable('x\u0000')).toBe('U+0000');
    expect(describeUnstorable('x\ud83d')).toBe('U+D83D');
  });

  it('names the path of the first bad key or value', () => {
    expect(findUnstorable({ a: [1, 'ok', { b: 'x\u0000' }] })).toBe('a[2].b');
    expect(findUnstorable({ ok: { 'k\u0000': 1 } })).toBe('ok.k\u0000');
    expect(findUnstorable({ a: 'fine' })).toBeUndefined();
  });

  it('replaces them in keys and values, leaving clean values untouched', () => {
    const clean = { a: ['x'] };
    expect(sanitizeForStorage(clean)).toBe(clean);
    expect(sanitizeForStorage({ 'k\u0000': ['v\ud800', 2, null], n: 'ok😀' })).toEqual({ 'k\uFFFD': ['v\uFFFD', 2, null], n: 'ok😀' });
    expect(JSON.stringify(sanitizeForStorage('\u0000\udfff'))).toBe('"\uFFFD\uFFFD"');
  });

  it('counts UTF-8 bytes and clips long text', () => {
    expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4);
    expect(clipText('x'.repeat(2000), 1024)).toMatch(/^x{1024}… \(2000 chars\)$/);
    expect(clipText('short')).toBe('short');
  });
});
