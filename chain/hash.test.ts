import { describe, expect, it } from 'vitest';
import { sha256Hex, utf8Bytes, utf8BytesByHand } from './hash.ts';
import { canonicalJson } from './json.ts';

describe('sha256', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ['привет', 'e58f1e8c55fa105bdd3f40e5037eb0b039b5998d52c05e6cd98878dd2da5cab2'],
    ['😀 emoji', 'c5db20e64d86b693d8e312b379cfdd211311f63f3743831e6f4139344b39d762'],
    ['x'.repeat(55), 'd5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072'],
    ['x'.repeat(64), '7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c'],
  ])('hashes %j like a reference implementation', (text, hex) => {
    expect(sha256Hex(text)).toBe(hex);
  });

  it('hashes a million a’s like the FIPS long-message vector', () => {
    expect(sha256Hex('a'.repeat(1_000_000))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('encodes UTF-8 by hand exactly as TextEncoder does (lone surrogates as U+FFFD)', () => {
    for (const text of ['', 'abc', 'привет', '😀 emoji', 'lone \ud800 high', 'lone \udc00 low', 'end \ud83d', '\u07ff\u0800\uffff']) {
      expect([...utf8BytesByHand(text)]).toEqual([...new TextEncoder().encode(text)]);
      expect([...utf8Bytes(text)]).toEqual([...new TextEncoder().encode(text)]);
    }
  });
});

describe('canonical JSON', () => {
  it('orders keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"z":1}]},"b":1}');
  });

  it('orders keys that look like array indexes as text, as any other key', () => {
    // A JS object enumerates '10' before 'a' and '2' before '10': the text must not.
    expect(canonicalJson({ b: 1, 10: 'x', 2: 'y', a: { 1: true, '01': null } })).toBe('{"10":"x","2":"y","a":{"01":null,"1":true},"b":1}');
  });

  it('writes non-finite numbers and holes as null', () => {
    expect(canonicalJson({ a: Number.NaN, b: [undefined, Infinity, -0] })).toBe('{"a":null,"b":[null,null,0]}');
  });
});
