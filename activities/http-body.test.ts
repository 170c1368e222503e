import { describe, expect, it } from 'vitest';
import { createScope } from '../chain/index.ts';
import { decodeBody, isJsonContentType, renderBody, renderJsonTemplate } from './http-body.ts';

const scope = createScope({ message: { text: 'say "hi"\n\\ ok' }, session: { n: 3, flag: true, list: [1, 'a'], obj: { k: 'v' }, empty: '' } });

describe('JSON body templates', () => {
  it('escapes values inside strings and inserts JSON values outside them', () => {
    const text = renderJsonTemplate('{"t": "<{{ message.text }}>", "n": {{ session.n }}, "f": {{ session.flag }}, "l": {{ session.list }}, "o": {{ session.obj }}, "s": {{ message.text }}, "m": {{ session.missing }}}', scope);
    expect(JSON.parse(text)).toEqual({ t: '<say "hi"\n\\ ok>', n: 3, f: true, l: [1, 'a'], o: { k: 'v' }, s: 'say "hi"\n\\ ok', m: null });
  });

  it('tracks escaped quotes inside strings and honours filters', () => {
    const text = renderJsonTemplate('{"a": "x\\"{{ session.n }}", "b": {{ session.empty | default: "none" }}, "c": {{ session.obj | json }}, "d": "{{ session.obj }}"}', scope);
    expect(JSON.parse(text)).toEqual({ a: 'x"3', b: 'none', c: { k: 'v' }, d: '{"k":"v"}' });
  });

  it('passes secrets through the same escaping', () => {
    const text = renderJsonTemplate('{"key": "{{ secrets.k }}"}', scope, { secrets: { k: 'a"b' } });
    expect(JSON.parse(text)).toEqual({ key: 'a"b' });
  });

  it('reports a body that is not JSON after rendering', () => {
    const result = renderBody({ kind: 'json', json: '{"a": {{ session.n }} {{ session.n }}}' }, (t) => t, (t) => renderJsonTemplate(t, scope));
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining('not valid JSON') });
  });
});

describe('response bodies', () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  it('parses JSON types, keeps text and base64-encodes binary', () => {
    expect(isJsonContentType('application/problem+json; charset=utf-8')).toBe(true);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(decodeBody(bytes('{"a":1}'), 'application/json')).toMatchObject({ ok: true, body: { a: 1 }, json: true });
    expect(decodeBody(bytes(''), 'application/json')).toMatchObject({ ok: true, body: null });
    expect(decodeBody(bytes('{'), 'application/vnd.api+json')).toMatchObject({ ok: false });
    expect(decodeBody(bytes('<a/>'), 'application/xml')).toMatchObject({ ok: true, body: '<a/>', json: false });
    expect(decodeBody(bytes('plain'), null)).toMatchObject({ ok: true, body: 'plain' });
    expect(decodeBody(new Uint8Array([0, 255, 1]), 'image/png')).toMatchObject({ ok: true, body: 'AP8B', text: undefined });
  });

  it('decodes the declared charset', () => {
    expect(decodeBody(new Uint8Array([0xe9]), 'text/plain; charset=iso-8859-1')).toMatchObject({ body: 'é' });
  });
});
