// The SSRF guard on real connections. The loopback server listens on every loopback
// address, so each blocked request would succeed without the guard; the server must see
// none of them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpActivities } from '../../activities/http.ts';
import type { ResolvedAddress, Resolver } from '../../activities/ssrf.ts';
import { createTestDatabase, type TestDatabase } from '../support/stack.ts';
import { effectInput, httpConfig, testSecretBox } from './support/fixtures.ts';
import { captureLogger, json, startTestServer, type TestServer } from './support/servers.ts';

let db: TestDatabase;
let server: TestServer;
const logs = captureLogger();

/** A DNS stand-in: names answer with chosen addresses, like a hostile or rebinding resolver. */
const answers: Record<string, ResolvedAddress[]> = {
  'rebind.test': [{ address: '127.0.0.1', family: 4 }],
  'mapped.test': [{ address: '::ffff:127.0.0.1', family: 6 }],
  'loop6.test': [{ address: '::1', family: 6 }],
  'private.test': [{ address: '10.0.0.7', family: 4 }],
  'private172.test': [{ address: '172.16.5.4', family: 4 }],
  'private192.test': [{ address: '192.168.1.20', family: 4 }],
  'linklocal.test': [{ address: '169.254.10.1', family: 4 }],
  'metadata.test': [{ address: '169.254.169.254', family: 4 }],
  'metadata6.test': [{ address: 'fd00:ec2::254', family: 6 }],
  'cgnat.test': [{ address: '100.64.3.3', family: 4 }],
  'ula.test': [{ address: 'fd12:3456::1', family: 6 }],
  'll6.test': [{ address: 'fe80::1', family: 6 }],
  'multicast.test': [{ address: '224.0.0.251', family: 4 }],
  'zero.test': [{ address: '0.0.0.0', family: 4 }],
  'allowed.test': [{ address: '127.0.0.1', family: 4 }],
};
const resolver: Resolver = async (hostname) => {
  const found = answers[hostname.toLowerCase()];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return found;
};

let guarded: ReturnType<typeof createHttpActivities>['httpRequest'];

beforeAll(async () => {
  [db, server] = await Promise.all([createTestDatabase(), startTestServer()]);
  server.route('/', (_req, res) => json(res, 200, { reached: true }));
  server.route('/hop', (req, res) => {
    const to = new URL(req.url, 'http://x').searchParams.get('to') ?? '/';
    res.writeHead(302, { location: to }).end();
  });
  ({ httpRequest: guarded } = createHttpActivities({ orm: db.orm, logger: logs.logger, secretBox: testSecretBox(), ssrf: { allow: ['allowed.test'], resolver } }));
});

afterAll(async () => {
  await server?.close();
  await db?.drop();
});

async function expectBlocked(httpRequest: typeof guarded, url: string, reason: RegExp): Promise<void> {
  const before = server.requests.length;
  const result = await httpRequest(effectInput(httpConfig({ url, timeoutMs: 5000 })));
  expect(result, url).toMatchObject({ ok: false, error: { code: 'http_ssrf_blocked' } });
  if (!result.ok) expect(result.error.message, url).toMatch(reason);
  expect(server.requests.length, `${url} must not reach the server`).toBe(before);
}

describe('SSRF guard: literal addresses', () => {
  it('blocks loopback in every spelling', async () => {
    const port = server.port;
    for (const host of ['127.0.0.1', '127.1.2.3', '2130706433', '0177.0.0.1', '0x7f.1', '0x7f000001', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]']) {
      await expectBlocked(guarded, `http://${host}:${port}/`, /loopback/);
    }
  });

  it('blocks the unspecified address (which Linux routes to this machine)', async () => {
    await expectBlocked(guarded, `http://0.0.0.0:${server.port}/`, /unspecified/);
    await expectBlocked(guarded, `http://[::]:${server.port}/`, /unspecified/);
  });

  it('blocks private, link-local, CGNAT, metadata, unique-local and multicast addresses', async () => {
    const cases: Array<[string, RegExp]> = [
      ['10.0.0.1', /private/],
      ['172.16.0.1', /private/],
      ['172.31.255.1', /private/],
      ['192.168.0.1', /private/],
      ['169.254.1.1', /link-local/],
      ['169.254.169.254', /cloud metadata/],
      ['100.64.0.1', /carrier-grade NAT/],
      ['[fe80::1]', /link-local/],
      ['[fc00::1]', /unique-local/],
      ['[fd00:ec2::254]', /cloud metadata/],
      ['[::ffff:169.254.169.254]', /cloud metadata \(IPv4-mapped\)/],
      ['[::ffff:10.0.0.1]', /private \(IPv4-mapped\)/],
      ['224.0.0.1', /multicast/],
      ['[ff02::1]', /multicast/],
    ];
    for (const [host, reason] of cases) await expectBlocked(guarded, `http://${host}:${server.port}/`, reason);
  });
});

describe('SSRF guard: names', () => {
  it('blocks localhost resolved by the system resolver', async () => {
    const system = createHttpActivities({ orm: db.orm, logger: logs.logger, secretBox: testSecretBox() });
    await expectBlocked(system.httpRequest, `http://localhost:${server.port}/`, /loopback/);
  });

  it('blocks names whose DNS answers point at blocked ranges', async () => {
    const cases: Array<[string, RegExp]> = [
      ['rebind.test', /rebind\.test \(127\.0\.0\.1\): loopback/],
      ['mapped.test', /loopback \(IPv4-mapped\)/],
      ['loop6.test', /loopback/],
      ['private.test', /private/],
      ['private172.test', /private/],
      ['private192.test', /private/],
      ['linklocal.test', /link-local/],
      ['metadata.test', /cloud metadata/],
      ['metadata6.test', /cloud metadata/],
      ['cgnat.test', /carrier-grade NAT/],
      ['ula.test', /unique-local/],
      ['ll6.test', /link-local/],
      ['multicast.test', /multicast/],
      ['zero.test', /unspecified/],
    ];
    for (const [host, reason] of cases) await expectBlocked(guarded, `http://${host}:${server.port}/`, reason);
  });

  it('reaches an allow-listed host name, through the same checked connection', async () => {
    const before = server.requests.length;
    const result = await guarded(effectInput(httpConfig({ url: `http://allowed.test:${server.port}/`, responseVariable: 'session.r' })));
    expect(result).toMatchObject({ ok: true, set: [{ value: { status: 200, body: { reached: true } } }] });
    expect(server.requests.length).toBe(before + 1);
    expect(server.requests.at(-1)?.headers.host).toBe(`allowed.test:${server.port}`);
  });
});

describe('SSRF guard: redirects', () => {
  it('re-checks every hop: an allowed host may not redirect to a blocked one', async () => {
    const port = server.port;
    for (const [target, reason] of [
      [`http://127.0.0.1:${port}/`, /loopback/],
      [`http://rebind.test:${port}/`, /loopback/],
      [`http://[::ffff:127.0.0.1]:${port}/`, /IPv4-mapped/],
      [`http://2130706433:${port}/`, /loopback/],
      ['http://169.254.169.254/latest/meta-data/', /cloud metadata/],
    ] as const) {
      const before = server.requests.length;
      const result = await guarded(effectInput(httpConfig({ url: `http://allowed.test:${port}/hop?to=${encodeURIComponent(target)}` })));
      expect(result, target).toMatchObject({ ok: false, error: { code: 'http_ssrf_blocked', message: expect.stringMatching(reason) } });
      // Only the first hop (to the allowed host) reached the server.
      expect(server.requests.length - before, target).toBe(1);
    }
  });
});

describe('SSRF guard: allow-list', () => {
  it('lets operators allow ranges and single addresses', async () => {
    const allowed = createHttpActivities({ orm: db.orm, logger: logs.logger, secretBox: testSecretBox(), ssrf: { allow: ['127.0.0.0/8', '::1'], resolver } });
    for (const url of [`http://127.0.0.1:${server.port}/`, `http://0x7f.1:${server.port}/`, `http://[::1]:${server.port}/`, `http://rebind.test:${server.port}/`, `http://[::ffff:127.0.0.1]:${server.port}/`]) {
      const result = await allowed.httpRequest(effectInput(httpConfig({ url })));
      expect(result.ok, url).toBe(true);
    }
    await expectBlocked(allowed.httpRequest, `http://private.test:${server.port}/`, /private/);
  });

  it('logs blocked requests without their URL', () => {
    const blockedLines = logs.lines.filter((line) => line.includes('SSRF'));
    expect(blockedLines.length).toBeGreaterThan(0);
    for (const line of blockedLines) expect(line).not.toContain('/hop?to=');
  });
});
