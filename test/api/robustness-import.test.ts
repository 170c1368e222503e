// Robustness row 3: no chain file, however malformed, makes the import answer 5xx or
// change anything. A seeded generator mutates the shipped examples (truncation, bytes
// that are not UTF-8, alias bombs, unresolved aliases, deep nesting, huge scalars, wrong
// types, unknown tags, several documents) and sends each as YAML, JSON or a multipart
// upload; every answer must be a 4xx problem and the database must equal its snapshot.

import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAdmin, simpleGraph, snapshotDatabase, startApi, type Account, type ApiHarness } from './support/api.ts';

let t: ApiHarness;
let admin: Account;

const examplesDir = new URL('../../examples/', import.meta.url);
const examples = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({ name: f, text: readFileSync(new URL(f, examplesDir), 'utf8') }));

/** mulberry32: a small seeded PRNG, so every run sends the same files. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface BadFile {
  kind: string;
  bytes: Buffer;
  /** How it is sent. */
  as: 'yaml' | 'json' | 'multipart' | 'multipart-wrong-field';
}

const NOT_UTF8 = [0xff, 0xfe, 0xc0, 0xc1, 0xf5, 0x80, 0xbf];

/** The generator: `count` bad files from `seed`, cycling through the mutation kinds. */
function badFiles(seed: number, count: number): BadFile[] {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bomb = (levels: number) => {
    const lines = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]`);
    return lines.join('\n');
  };
  const mutations: Record<string, (ex: string) => Buffer | string> = {
    truncated: (ex) => ex.slice(0, int(ex.length - 1)),
    'bytes not UTF-8': (ex) => {
      const bytes = Buffer.from(ex, 'utf8');
      for (let i = 0, n = 1 + int(4); i < n; i++) bytes[int(bytes.length)] = pick(NOT_UTF8);
      return bytes;
    },
    'latin-1 text': (ex) => Buffer.from(`${ex}\n# Grüße aus Köln\n`, 'latin1'),
    'alias bomb': (ex) => `${bomb(4 + int(6))}\n${ex}`,
    'alias bomb in a field': (ex) => ex.replace(/^name: .*$/m, `name: &n0 [x, x, x, x, x, x, x, x]\nbomb: {${Array.from({ length: 200 }, (_, i) => `k${i}: *n0`).join(', ')}}`),
    'unresolved alias': (ex) => ex.replace(/^name: .*$/m, `name: *missing${int(100)}`),
    'alias before its anchor': (ex) => `early: *late\n${ex}\nlate: &late 1\n`,
    'deep flow nesting': (ex) => {
      const depth = 65 + int(200);
      return `${ex}\nextra: ${'['.repeat(depth)}1${']'.repeat(depth)}\n`;
    },
    'very deep flow nesting': () => `${'['.repeat(5000 + int(50_000))}${']'.repeat(60_000)}`,
    'deep block nesting': (ex) => `${ex}\nextra:\n${Array.from({ length: 70 + int(400) }, (_, i) => `${'  '.repeat(i + 1)}k:`).join('\n')} 1\n`,
    'deep JSON nesting': () => `{"slug":"deep","name":"Deep","nodes":[{"id":"s","type":"start","position":{"x":0,"y":0},"data":${'{"a":'.repeat(100 + int(20_000))}1${'}'.repeat(20_100)}}],"edges":[]}`,
    'huge scalar': (ex) => ex.replace(/^description: .*$/m, `description: ${'x'.repeat(1_500_000 + int(400_000))}`),
    'huge key': () => `${'k'.repeat(1_000_000 + int(500_000))}: 1\n`,
    'top level is a list': (ex) => ex.split('\n').filter((l) => !l.startsWith('#')).map((l) => `  ${l}`).join('\n').replace(/^ {2}/, '- '),
    'top level is a scalar': () => pick(['42', 'true', '"a chain"', 'null', '~', '3.14', '-', '0x1F']),
    'nodes is not a list': (ex) => ex.replace(/^nodes:/m, `nodes: ${pick(['5', '"nodes"', '{a: 1}', 'null'])}\nwas_nodes:`),
    'edges is a string': (ex) => ex.replace(/^edges:/m, 'edges: "none"\nwas_edges:'),
    'unknown tag': (ex) => ex.replace(/^name: (.*)$/m, `name: ${pick(['!js/function', '!python/object', '!custom', '!!binary'])} $1`),
    'several documents': (ex) => `${ex}\n---\n${ex}`,
    'duplicate keys': (ex) => ex.replace(/^name: .*$/m, (m) => `${m}\nname: Again`),
    'tab indentation': (ex) => ex.replace(/^ {2}/gm, '\t'),
    'NUL escape': (ex) => ex.replace(/^description: .*$/m, `description: "${pick(['\\0', '\\x00', '\\u0000', '\\ud800'])} in a string"`),
    'NUL bytes': (ex) => ex.replace(/^name: (.*)$/m, 'name: "a\u0000b"\u0000'),
    'JSON syntax error': (ex) => {
      const json = JSON.stringify({ slug: 'json-fuzz', name: 'J', body: ex.length, nodes: [], edges: [] });
      return pick([json.slice(0, int(json.length - 1)), json.replace(',', ',,'), `${json},`, json.replace(/"/, "'"), json.replace('}', '')]);
    },
    'random garbage': () => Buffer.from(Array.from({ length: 1 + int(4096) }, () => int(256))),
  };
  const kinds = Object.keys(mutations);
  const files: BadFile[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length]!;
    const example = examples[int(examples.length)]!;
    const out = mutations[kind]!(example.text);
    const bytes = typeof out === 'string' ? Buffer.from(out, 'utf8') : out;
    const as = i % 11 === 10 ? 'multipart-wrong-field' : pick(['yaml', 'json', 'multipart'] as const);
    files.push({ kind, bytes, as });
  }
  return files;
}

/**
 * superagent serializes any non-string body sent as JSON (a Buffer becomes
 * `{"type":"Buffer",…}`); this serializer sends the bytes as they are. Its type says
 * string, but node's superagent writes Buffers unchanged.
 */
const asSent = (bytes: Buffer): string => bytes as unknown as string;

beforeAll(async () => {
  t = await startApi('robust_import');
  admin = await registerAdmin(t.api);
  // The pristine examples exist already, so a mutation that happens to stay valid answers
  // 409 (slug taken) instead of creating a chain.
  for (const ex of examples) {
    await t.api.post('/api/v1/chains/import').set(bearer(admin.token)).set('content-type', 'application/yaml').send(ex.text);
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('robustness row 3: malformed chain files', () => {
  it('robustness row 3: names the problem of each kind of bad file with 400 invalid_file', async () => {
    const send = (text: string | Buffer) => t.api.post('/api/v1/chains/import').set(bearer(admin.token)).set('content-type', 'application/yaml').send(Buffer.isBuffer(text) ? text : Buffer.from(text));
    const cases: [string, string | Buffer, RegExp][] = [
      ['an alias bomb', 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n', /alias bomb/],
      ['an unresolved alias', 'slug: x\nname: *nope\n', /Unresolved alias.*nope.*define the anchor/],
      ['bytes that are not UTF-8', Buffer.from('slug: x\nname: K\xf6ln\n', 'latin1'), /not UTF-8/],
      ['nesting deeper than 64 levels', `slug: x\nname: ${'['.repeat(80)}${']'.repeat(80)}\n`, /nests deeper than 64 levels/],
      ['runaway nesting', `${'['.repeat(50_000)}${']'.repeat(50_000)}`, /nests deeper than 64 levels/],
      ['a list at the top level', '- slug: x\n- name: y\n', /top level is a list/],
      ['a number at the top level', '42\n', /top level is a number/],
      ['an unknown tag', 'slug: x\nname: !js/function "f"\n', /Unresolved tag.*remove the tag/],
      ['a JSON syntax error', '{"slug": "x", "name": "y",, "nodes": []}', /line 1, column \d+/],
      ['two documents', 'slug: x\n---\nslug: y\n', /multiple documents/],
      ['a NUL escape in YAML', examples[0]!.text.replace(/^name: .*$/m, 'name: "Gree\\0ting"').replace(/^slug: .*$/m, 'slug: nul-yaml'), /NUL character.*at name/],
      ['a NUL escape in JSON', JSON.stringify({ ...simpleGraph('nul-json'), description: 'x\u0000y' }), /NUL character.*at description/],
      ['a NUL in a key', JSON.stringify({ ...simpleGraph('nul-key'), nodes: [{ id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'any' }, 'a\u0000': 1 } }] }), /NUL character.*at nodes\.0\.data/],
      ['a lone surrogate escape', JSON.stringify(simpleGraph('surrogate')).replace('Hello from the draft', '\\ud800'), /lone UTF-16 surrogate.*at nodes\.1\.data\.prompt/],
    ];
    for (const [what, body, message] of cases) {
      const res = await send(body);
      expect({ what, status: res.status, error: res.body.error }).toEqual({ what, status: 400, error: 'invalid_file' });
      expect(res.body.message, what).toMatch(message);
    }
    const charset = await t.api.post('/api/v1/chains/import').set(bearer(admin.token)).set('content-type', 'application/yaml; charset=iso-8859-1').send(Buffer.from('slug: x\n'));
    expect([charset.status, charset.body.error]).toEqual([415, 'unsupported_media_type']);
    expect(charset.body.message).toMatch(/UTF-8/);
  });

  it('robustness row 3: answers a few hundred generated bad files with 4xx and changes nothing', async () => {
    const files = badFiles(0xc4a1f10, 264);
    const before = await snapshotDatabase(t.h);
    const seen = new Map<string, Set<string>>();
    for (const [i, file] of files.entries()) {
      const req = t.api.post('/api/v1/chains/import').set(bearer(admin.token));
      const res =
        file.as === 'multipart'
          ? await req.attach('file', file.bytes, `fuzz-${i}.yaml`)
          : file.as === 'multipart-wrong-field'
            ? await req.attach('document', file.bytes, `fuzz-${i}.yaml`)
            : await req.set('content-type', file.as === 'json' ? 'application/json' : 'application/yaml').serialize(asSent).send(file.bytes);
      const what = `#${i} ${file.kind} as ${file.as} (${file.bytes.length} bytes)`;
      expect(res.status, `${what}: ${JSON.stringify(res.body).slice(0, 300)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${what}: ${JSON.stringify(res.body).slice(0, 300)}`).toBeLessThan(500);
      expect(typeof res.body.error, what).toBe('string');
      expect(typeof res.body.message, what).toBe('string');
      expect(res.body.message.length, what).toBeLessThan(2000);
      seen.set(file.kind, (seen.get(file.kind) ?? new Set()).add(`${res.status} ${res.body.error}`));
    }
    expect(await snapshotDatabase(t.h)).toEqual(before);
    // The generator covered every kind, and the files were refused for what they are.
    expect(seen.get('alias bomb')).toContain('400 invalid_file');
    expect(seen.get('unresolved alias')).toContain('400 invalid_file');
    expect(seen.get('bytes not UTF-8')).toContain('400 invalid_file');
    expect(seen.get('very deep flow nesting')).toContain('400 invalid_file');
    expect(seen.get('top level is a scalar')).toContain('400 invalid_file');
    expect([...(seen.get('NUL escape') ?? [])].filter((s) => s !== '400 bad_upload')).toEqual(['400 invalid_file']);
    expect(seen.get('JSON syntax error')).toContain('400 invalid_file');
    expect([...(seen.get('huge scalar') ?? [])].every((s) => s.startsWith('4'))).toBe(true);
  }, 240_000);
});
