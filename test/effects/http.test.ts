import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredential } from '../../db/credential-store.ts';
import { createHttpActivities } from '../../activities/http.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../support/stack.ts';
import { effectInput, expectRetryable, httpConfig, testSecretBox } from './support/fixtures.ts';
import { captureLogger, json, startTestServer, type TestServer } from './support/servers.ts';

let db: TestDatabase;
let box: SecretBox;
let server: TestServer;
let other: TestServer;
const logs = captureLogger();
let httpRequest: ReturnType<typeof createHttpActivities>['httpRequest'];

const SECRET = 'tok_live_5f3a9c1e7b2d';

beforeAll(async () => {
  [db, server, other] = await Promise.all([createTestDatabase(), startTestServer(), startTestServer()]);
  box = testSecretBox();
  await createCredential(db.orm.em, box, { name: 'api_token', kind: 'secret', value: SECRET });
  await createCredential(db.orm.em, box, { name: 'bearer_cred', kind: 'bearer', value: 'bearer-value-123' });
  await createCredential(db.orm.em, box, { name: 'basic_cred', kind: 'basic', value: 'p@ss:word', meta: { username: 'ann' } });
  await createCredential(db.orm.em, box, { name: 'header_cred', kind: 'header', value: 'hdr-value-456', meta: { header: 'X-Api-Key' } });
  ({ httpRequest } = createHttpActivities({ orm: db.orm, logger: logs.logger, secretBox: box, ssrf: { allow: ['127.0.0.1/32'] } }));
});

afterAll(async () => {
  await Promise.all([server?.close(), other?.close()]);
  await db?.drop();
});

function lastRequest(target: TestServer = server) {
  const request = target.requests.at(-1);
  if (!request) throw new Error('the server received nothing');
  return request;
}

describe('http node: requests', () => {
  it('renders URL, query and headers, and maps the JSON response', async () => {
    server.route('/items/42', (_req, res) => json(res, 200, { data: { id: 42, name: 'Lamp', tags: ['a', 'b'] } }, { 'x-request-id': 'r-1' }));
    const config = httpConfig({
      url: `${server.origin}/items/{{ session.item_id }}`,
      query: [{ name: 'q', value: '{{ message.text }}' }],
      headers: [{ name: 'X-User', value: '{{ user.first_name }}' }],
      responseMapping: [
        { variable: 'session.item_name', path: '$.data.name' },
        { variable: 'session.second_tag', path: '$.data.tags[1]' },
        { variable: 'session.nothing', path: '$.data.missing' },
      ],
      responseVariable: 'session.response',
    });
    const result = await httpRequest(effectInput(config, { session: { item_id: 42 }, message: { text: 'a&b c' }, user: { first_name: 'Ann' } }));

    expect(result).toEqual({
      ok: true,
      set: [
        { variable: 'session.response', value: { status: 200, headers: expect.objectContaining({ 'x-request-id': 'r-1', 'content-type': 'application/json' }), body: { data: { id: 42, name: 'Lamp', tags: ['a', 'b'] } } } },
        { variable: 'session.item_name', value: 'Lamp' },
        { variable: 'session.second_tag', value: 'b' },
        { variable: 'session.nothing', value: null },
      ],
      event: expect.objectContaining({ method: 'GET', status: 200, url: `${server.origin}/items/42`, missingPaths: ['$.data.missing'] }),
    });
    const request = lastRequest();
    expect(request.method).toBe('GET');
    expect(request.url).toBe('/items/42?q=a%26b+c');
    expect(request.headers['x-user']).toBe('Ann');
  });

  it('posts a JSON body with inserted values escaped as JSON', async () => {
    server.route('/json', (req, res) => json(res, 201, { received: JSON.parse(req.body.toString('utf8')) as unknown }));
    const tricky = 'He said "hi"\nand left \\ {"x":1}';
    const config = httpConfig({
      method: 'POST',
      url: `${server.origin}/json`,
      body: { kind: 'json', json: '{"text": "Q: {{ message.text }}", "count": {{ session.count }}, "tags": {{ session.tags }}, "name": {{ user.name }}, "missing": {{ session.none }}, "raw": {{ session.obj | json }}}' },
      responseMapping: [{ variable: 'session.echo', path: '$.received' }],
    });
    const result = await httpRequest(effectInput(config, { message: { text: tricky }, session: { count: 3, tags: ['x', 'y'], obj: { a: [1] } }, user: { name: 'Ann "A"' } }));

    expect(result.ok).toBe(true);
    expect(lastRequest().headers['content-type']).toBe('application/json');
    expect(JSON.parse(lastRequest().body.toString('utf8'))).toEqual({ text: `Q: ${tricky}`, count: 3, tags: ['x', 'y'], name: 'Ann "A"', missing: null, raw: { a: [1] } });
    expect(result.set).toEqual([{ variable: 'session.echo', value: { text: `Q: ${tricky}`, count: 3, tags: ['x', 'y'], name: 'Ann "A"', missing: null, raw: { a: [1] } } }]);
  });

  it('refuses a JSON body that is not JSON after rendering, without sending it', async () => {
    const before = server.requests.length;
    const config = httpConfig({ method: 'POST', url: `${server.origin}/json`, body: { kind: 'json', json: '{"a": {{ session.x }} {{ session.y }}}' } });
    const result = await httpRequest(effectInput(config, { session: { x: 1, y: 2 } }));
    expect(result).toMatchObject({ ok: false, error: { code: 'http_invalid_body' } });
    expect(server.requests.length).toBe(before);
  });

  it('posts a form body', async () => {
    server.route('/form', (_req, res) => json(res, 200, { ok: true }));
    const config = httpConfig({ method: 'POST', url: `${server.origin}/form`, body: { kind: 'form', fields: [{ name: 'name', value: '{{ user.name }}' }, { name: 'note', value: 'a&b=c ü' }] } });
    const result = await httpRequest(effectInput(config, { user: { name: 'Ann Lee' } }));
    expect(result.ok).toBe(true);
    const request = lastRequest();
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.fromEntries(new URLSearchParams(request.body.toString('utf8')))).toEqual({ name: 'Ann Lee', note: 'a&b=c ü' });
  });

  it('posts a multipart body with a file part', async () => {
    server.route('/upload', (_req, res) => json(res, 200, { ok: true }));
    const config = httpConfig({
      method: 'PUT',
      url: `${server.origin}/upload`,
      headers: [{ name: 'Content-Type', value: 'text/plain' }],
      body: { kind: 'multipart', fields: [{ name: 'title', value: '{{ session.title }}' }, { name: 'file', value: 'line 1\nline 2', filename: 'notes.txt' }] },
    });
    const result = await httpRequest(effectInput(config, { session: { title: 'Report' } }));
    expect(result.ok).toBe(true);
    const request = lastRequest();
    expect(request.method).toBe('PUT');
    expect(request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const form = await new Request('http://parse.invalid/', { method: 'POST', headers: { 'content-type': String(request.headers['content-type']) }, body: new Uint8Array(request.body) }).formData();
    expect(form.get('title')).toBe('Report');
    const file = form.get('file');
    expect(file).toBeInstanceOf(File);
    expect((file as File).name).toBe('notes.txt');
    expect(await (file as File).text()).toBe('line 1\nline 2');
  });

  it('sends a raw body with its content type and reads a text answer', async () => {
    server.route('/raw', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`got ${req.body.toString('utf8')}`);
    });
    const config = httpConfig({ method: 'POST', url: `${server.origin}/raw`, body: { kind: 'raw', contentType: 'text/csv', text: 'a,b\n{{ session.n }},2' }, responseVariable: 'session.raw' });
    const result = await httpRequest(effectInput(config, { session: { n: 1 } }));
    expect(lastRequest().headers['content-type']).toBe('text/csv');
    expect(result).toMatchObject({ ok: true, set: [{ variable: 'session.raw', value: { status: 200, body: 'got a,b\n1,2' } }] });
  });
});

describe('http node: statuses and failures', () => {
  it('throws a retryable failure on 500, then succeeds when the server recovers', async () => {
    let calls = 0;
    server.route('/flaky', (_req, res) => (++calls === 1 ? json(res, 500, { error: 'boom' }) : json(res, 200, { value: 'fine' })));
    const config = httpConfig({ url: `${server.origin}/flaky`, responseMapping: [{ variable: 'session.value', path: '$.value' }] });
    const failure = await expectRetryable(httpRequest(effectInput(config)), 'http_status');
    expect(failure.message).toBe(`HTTP 500 Internal Server Error from GET ${server.origin}/flaky`);
    expect(failure.details).toEqual([{ status: 500 }]);
    const second = await httpRequest(effectInput(config));
    expect(second).toMatchObject({ ok: true, set: [{ variable: 'session.value', value: 'fine' }] });
    expect(calls).toBe(2);
  });

  it('honours Retry-After on 429 (seconds and HTTP date)', async () => {
    server.route('/limited', (_req, res) => json(res, 429, { error: 'slow down' }, { 'retry-after': '7' }));
    const failure = await expectRetryable(httpRequest(effectInput(httpConfig({ url: `${server.origin}/limited` }))), 'http_status');
    expect(failure.nextRetryDelay).toBe(7000);
    expect(failure.details).toEqual([{ status: 429 }]);
    server.route('/limited-date', (_req, res) => json(res, 503, {}, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }));
    const dated = await expectRetryable(httpRequest(effectInput(httpConfig({ url: `${server.origin}/limited-date` }))), 'http_status');
    expect(dated.nextRetryDelay).toBeGreaterThan(0);
    expect(dated.nextRetryDelay).toBeLessThanOrEqual(60_000);
  });

  it('returns a final error on 404, keeping the response for the chain', async () => {
    server.route('/missing', (_req, res) => json(res, 404, { error: 'no such item' }));
    const result = await httpRequest(effectInput(httpConfig({ url: `${server.origin}/missing`, responseVariable: 'session.response', responseMapping: [{ variable: 'session.x', path: '$.x' }] })));
    expect(result).toEqual({
      ok: false,
      error: { code: 'http_status', status: 404, message: `HTTP 404 Not Found from GET ${server.origin}/missing: {"error":"no such item"}` },
      set: [{ variable: 'session.response', value: { status: 404, headers: expect.any(Object), body: { error: 'no such item' } } }],
    });
  });

  it('fails when a JSON response is not JSON', async () => {
    server.route('/bad-json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"unterminated": ');
    });
    const result = await httpRequest(effectInput(httpConfig({ url: `${server.origin}/bad-json` })));
    expect(result).toMatchObject({ ok: false, error: { code: 'http_invalid_json', status: 200 } });
  });

  it('fails when a mapping needs JSON and the body is not JSON', async () => {
    server.route('/html', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>hi</p>');
    });
    const result = await httpRequest(effectInput(httpConfig({ url: `${server.origin}/html`, responseMapping: [{ variable: 'session.x', path: '$.x' }] })));
    expect(result).toMatchObject({ ok: false, error: { code: 'http_invalid_json' } });
  });

  it('caps the response size, whether declared or streamed', async () => {
    const small = createHttpActivities({ orm: db.orm, logger: logs.logger, secretBox: box, ssrf: { allow: ['127.0.0.1/32'] }, http: { maxResponseBytes: 1000 } });
    server.route('/big-declared', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5000' }).end('x'.repeat(5000));
    });
    server.route('/big-streamed', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 10; i++) res.write('y'.repeat(300));
      res.end();
    });
    server.route('/small', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('z'.repeat(999));
    });
    const declared = await small.httpRequest(effectInput(httpConfig({ url: `${server.origin}/big-declared` })));
    expect(declared).toMatchObject({ ok: false, error: { code: 'http_response_too_large', message: expect.stringContaining('declares 5000 bytes') } });
    const streamed = await small.httpRequest(effectInput(httpConfig({ url: `${server.origin}/big-streamed` })));
    expect(streamed).toMatchObject({ ok: false, error: { code: 'http_response_too_large', message: expect.stringContaining('while streaming') } });
    const fits = await small.httpRequest(effectInput(httpConfig({ url: `${server.origin}/small`, responseVariable: 'session.r' })));
    expect(fits.ok).toBe(true);
  });

  it('throws a retryable timeout when the server does not answer in time', async () => {
    server.route('/hang', () => {
      // Never answers; the activity's timeout must end the request.
    });
    const failure = await expectRetryable(httpRequest(effectInput(httpConfig({ url: `${server.origin}/hang`, timeoutMs: 200 }))), 'http_timeout');
    expect(failure.message).toBe(`GET ${server.origin}/hang did not answer within 200 ms`);
  });

  it('throws a retryable network error when nothing listens', async () => {
    const gone = await startTestServer();
    const origin = gone.origin;
    await gone.close();
    const failure = await expectRetryable(httpRequest(effectInput(httpConfig({ url: `${origin}/x` }))), 'http_network');
    expect(failure.message).toMatch(/ECONNREFUSED/);
  });

  it('retries a connection dropped in the middle of the response', async () => {
    server.route('/drop', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('partial', () => res.socket?.destroy());
    });
    await expectRetryable(httpRequest(effectInput(httpConfig({ url: `${server.origin}/drop` }))), 'http_network');
  });

  it('refuses header values that would inject lines, without sending or retrying', async () => {
    const before = server.requests.length;
    const config = httpConfig({ url: `${server.origin}/x`, headers: [{ name: 'X-Name', value: '{{ message.text }}' }] });
    expect(await httpRequest(effectInput(config, { message: { text: 'Ann\r\nX-Admin: yes' } }))).toMatchObject({ ok: false, error: { code: 'http_invalid_header', message: expect.stringContaining('X-Name') } });
    const raw = httpConfig({ method: 'POST', url: `${server.origin}/x`, body: { kind: 'raw', contentType: 'text/plain\nX-Admin: yes', text: 'x' } });
    expect(await httpRequest(effectInput(raw))).toMatchObject({ ok: false, error: { code: 'http_invalid_header' } });
    expect(server.requests.length).toBe(before);
  });

  it('refuses URLs that are not http(s) or carry a password', async () => {
    expect(await httpRequest(effectInput(httpConfig({ url: 'ftp://example.com/file' })))).toMatchObject({ ok: false, error: { code: 'http_invalid_url' } });
    expect(await httpRequest(effectInput(httpConfig({ url: '{{ session.url }}' }), { session: { url: 'not a url' } }))).toMatchObject({ ok: false, error: { code: 'http_invalid_url' } });
    expect(await httpRequest(effectInput(httpConfig({ url: `http://u:pw@127.0.0.1:${server.port}/` })))).toMatchObject({ ok: false, error: { code: 'http_invalid_url' } });
  });
});

describe('http node: redirects', () => {
  it('follows redirects: 302 turns POST into GET, 307 keeps method and body', async () => {
    server.route('/r/start', (_req, res) => res.writeHead(307, { location: '/r/keep' }).end());
    server.route('/r/keep', (_req, res) => res.writeHead(302, { location: `${server.origin}/r/end?from=keep` }).end());
    server.route('/r/end', (req, res) => json(res, 200, { method: req.method, body: req.body.toString('utf8') }));
    const before = server.requests.length;
    const result = await httpRequest(effectInput(httpConfig({ method: 'POST', url: `${server.origin}/r/start`, body: { kind: 'raw', contentType: 'text/plain', text: 'payload' }, responseVariable: 'session.r' })));
    expect(result).toMatchObject({ ok: true, set: [{ value: { body: { method: 'GET', body: '' } } }], event: { redirects: 2 } });
    const hops = server.requests.slice(before);
    expect(hops.map((hop) => [hop.method, hop.url, hop.body.toString('utf8')])).toEqual([
      ['POST', '/r/start', 'payload'],
      ['POST', '/r/keep', 'payload'],
      ['GET', '/r/end?from=keep', ''],
    ]);
  });

  it('drops credentials and secret headers when a redirect leaves the origin', async () => {
    server.route('/r/away', (_req, res) => res.writeHead(302, { location: `${other.origin}/landing` }).end());
    server.route('/r/same', (_req, res) => res.writeHead(302, { location: '/r/echo' }).end());
    server.route('/r/echo', (_req, res) => json(res, 200, {}));
    other.route('/landing', (_req, res) => json(res, 200, {}));
    const config = httpConfig({ url: `${server.origin}/r/away`, credentialId: 'bearer_cred', headers: [{ name: 'X-Secret', value: '{{ secrets.api_token }}' }, { name: 'X-Plain', value: 'kept' }] });
    expect((await httpRequest(effectInput(config))).ok).toBe(true);
    expect(lastRequest().headers.authorization).toBe('Bearer bearer-value-123');
    expect(lastRequest().headers['x-secret']).toBe(SECRET);
    const landed = lastRequest(other);
    expect(landed.headers.authorization).toBeUndefined();
    expect(landed.headers['x-secret']).toBeUndefined();
    expect(landed.headers['x-plain']).toBe('kept');

    expect((await httpRequest(effectInput({ ...config, url: `${server.origin}/r/same` }))).ok).toBe(true);
    expect(lastRequest().url).toBe('/r/echo');
    expect(lastRequest().headers.authorization).toBe('Bearer bearer-value-123');
  });

  it('stops after 5 redirects', async () => {
    server.route('/loop', (req, res) => {
      const n = Number(new URL(req.url, 'http://x').searchParams.get('n') ?? 0);
      res.writeHead(302, { location: `/loop?n=${n + 1}` }).end();
    });
    const before = server.requests.length;
    const result = await httpRequest(effectInput(httpConfig({ url: `${server.origin}/loop` })));
    expect(result).toMatchObject({ ok: false, error: { code: 'http_too_many_redirects' } });
    expect(server.requests.length - before).toBe(6);
  });
});

describe('http node: credentials and secrets', () => {
  it('adds bearer, basic and header authentication inside the activity', async () => {
    server.route('/auth', (_req, res) => json(res, 200, {}));
    const cases: Array<[string, string, string]> = [
      ['bearer_cred', 'authorization', 'Bearer bearer-value-123'],
      ['basic_cred', 'authorization', `Basic ${Buffer.from('ann:p@ss:word').toString('base64')}`],
      ['header_cred', 'x-api-key', 'hdr-value-456'],
    ];
    for (const [credentialId, header, value] of cases) {
      const result = await httpRequest(effectInput(httpConfig({ url: `${server.origin}/auth`, credentialId, headers: [{ name: 'Authorization', value: 'overridden' }] })));
      expect(result.ok).toBe(true);
      expect(lastRequest().headers[header]).toBe(value);
      expect(JSON.stringify(result)).not.toMatch(/bearer-value-123|hdr-value-456|p@ss|YW5uOnBAc3M6d29yZA/);
    }
  });

  it('never puts a secret into results, errors or logs, even when the server echoes it', async () => {
    server.route('/echo-secret', (req, res) => json(res, 403, { youSent: req.url, auth: req.headers['x-token'] }));
    server.route('/echo-ok', (req, res) => json(res, 200, { youSent: req.url, auth: req.headers['x-token'] }));
    const lines = logs.lines.length;
    const secretUrl = `${server.origin}/echo-secret?key={{ secrets.api_token }}`;
    const failed = await httpRequest(effectInput(httpConfig({ url: secretUrl, headers: [{ name: 'X-Token', value: 'Bearer {{ secrets.api_token }}' }], responseVariable: 'session.r' })));
    expect(failed).toMatchObject({ ok: false, error: { code: 'http_status', status: 403 } });
    expect(lastRequest().url).toBe(`/echo-secret?key=${SECRET}`);
    expect(lastRequest().headers['x-token']).toBe(`Bearer ${SECRET}`);

    const ok = await httpRequest(effectInput(httpConfig({ url: `${server.origin}/echo-ok?k={{ secrets.api_token }}`, headers: [{ name: 'X-Token', value: '{{ secrets.api_token }}' }], responseVariable: 'session.r' })));
    expect(ok.ok).toBe(true);

    server.route(`/fail-${SECRET}`, (_req, res) => json(res, 502, {}));
    const failure = await expectRetryable(httpRequest(effectInput(httpConfig({ url: `${server.origin}/fail-{{ secrets.api_token }}` }))), 'http_status');
    const refused = await expectRetryable(httpRequest(effectInput(httpConfig({ url: `http://127.0.0.1:1/{{ secrets.api_token }}` }))), 'http_network');

    for (const text of [JSON.stringify(failed), JSON.stringify(ok), failure.message, refused.message, ...logs.lines.slice(lines)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(encodeURIComponent(SECRET));
    }
    expect(JSON.stringify(failed)).toContain('[redacted]');
    expect(JSON.stringify(ok)).toContain('"auth":"[redacted]"');
    expect(failure.message).toContain('/fail-[redacted]');
    expect(logs.lines.length).toBeGreaterThan(lines);
  });

  it('fails clearly when a secret or credential does not exist', async () => {
    const before = server.requests.length;
    expect(await httpRequest(effectInput(httpConfig({ url: `${server.origin}/x?k={{ secrets.nope }}` })))).toMatchObject({ ok: false, error: { code: 'secret_missing', message: expect.stringContaining("'nope'") } });
    expect(await httpRequest(effectInput(httpConfig({ url: `${server.origin}/x`, credentialId: 'nobody' })))).toMatchObject({ ok: false, error: { code: 'credential_missing' } });
    expect(await httpRequest(effectInput(httpConfig({ url: `${server.origin}/x`, credentialId: 'api_token' })))).toMatchObject({ ok: false, error: { code: 'credential_invalid' } });
    expect(server.requests.length).toBe(before);
  });

  it('ignores secrets smuggled into the scope by the caller', async () => {
    server.route('/scope', (_req, res) => json(res, 200, {}));
    const input = effectInput(httpConfig({ url: `${server.origin}/scope?k={{ secrets.api_token }}` }));
    const result = await httpRequest({ ...input, scope: { ...input.scope, secrets: { api_token: 'from-the-workflow' } } } as typeof input);
    expect(result.ok).toBe(true);
    expect(lastRequest().url).toBe(`/scope?k=${SECRET}`);
  });
});

