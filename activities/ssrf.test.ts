import { describe, expect, it } from 'vitest';
import { blockedReason, createSsrfGuard, outboundUrlProblem, parseAllowList, parseIp, parseIpv4Loose, SsrfBlockedError, type Resolver } from './ssrf.ts';

describe('IPv4 spellings', () => {
  it('reads decimal, octal and hex forms as URL hosts do', () => {
    const loopback = 0x7f000001;
    expect(parseIpv4Loose('127.0.0.1')).toBe(loopback);
    expect(parseIpv4Loose('2130706433')).toBe(loopback);
    expect(parseIpv4Loose('0177.0.0.1')).toBe(loopback);
    expect(parseIpv4Loose('0x7f.1')).toBe(loopback);
    expect(parseIpv4Loose('0x7f000001')).toBe(loopback);
    expect(parseIpv4Loose('127.1')).toBe(loopback);
    expect(parseIpv4Loose('127.0.0.1.')).toBe(loopback);
  });

  it('rejects what is not an address', () => {
    for (const text of ['256.0.0.1', '1.2.3.4.5', 'example.com', '08.0.0.1', '', '4294967296']) expect(parseIpv4Loose(text)).toBeUndefined();
  });
});

describe('blocked ranges', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.10.10', 'link-local'],
    ['169.254.169.254', 'cloud metadata'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback (IPv4-mapped)'],
    ['::ffff:7f00:1', 'loopback (IPv4-mapped)'],
    ['[::ffff:169.254.169.254]', 'cloud metadata (IPv4-mapped)'],
    ['::ffff:10.0.0.1', 'private (IPv4-mapped)'],
    ['64:ff9b::127.0.0.1', 'loopback (NAT64)'],
    ['2002:7f00:1::', 'loopback (6to4)'],
    ['::127.0.0.1', 'loopback (IPv4-compatible)'],
  ];
  it.each(cases)('blocks %s as %s', (address, reason) => {
    expect(blockedReason(address)).toBe(reason);
  });

  it('lets public addresses through', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8']) {
      expect(blockedReason(address)).toBeUndefined();
    }
  });

  it('treats unparseable text as blocked', () => {
    expect(blockedReason('not-an-ip')).toBe('unparseable');
  });

  it('parses IPv6 with embedded IPv4 and compression', () => {
    expect(parseIp('::ffff:127.0.0.1')).toEqual({ family: 6, value: 0xffff7f000001n });
    expect(parseIp('[2001:db8::1]')).toEqual({ family: 6, value: 0x20010db8000000000000000000000001n });
  });
});

describe('allow-list', () => {
  it('accepts CIDRs, addresses, hosts and suffixes', () => {
    expect(parseAllowList(['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8', 'api.internal', '*.corp.example']).map((e) => e.kind)).toEqual(['v4', 'v4', 'v6', 'v6', 'host', 'suffix']);
  });

  it('names a malformed entry', () => {
    expect(() => parseAllowList(['10.0.0.0/33'])).toThrow(/'10.0.0.0\/33'/);
    expect(() => parseAllowList(['exa mple'])).toThrow(/neither/);
  });

  it('allows listed ranges and hosts only', async () => {
    const guard = createSsrfGuard({ allow: ['127.0.0.0/8', 'billing.internal', '*.corp.example'] });
    try {
      expect(guard.addressBlocked('127.0.0.1', 'x.test')).toBeUndefined();
      expect(guard.addressBlocked('::ffff:127.0.0.1', 'x.test')).toBeUndefined();
      expect(guard.addressBlocked('10.0.0.1', 'x.test')).toBe('private');
      expect(guard.addressBlocked('10.0.0.1', 'billing.internal')).toBeUndefined();
      expect(guard.addressBlocked('10.0.0.1', 'a.corp.example')).toBeUndefined();
      expect(guard.addressBlocked('::1', 'x.test')).toBe('loopback');
      expect(() => guard.checkUrl(new URL('http://0x7f.1/'))).not.toThrow();
      expect(() => guard.checkUrl(new URL('http://[::1]/'))).toThrow(SsrfBlockedError);
    } finally {
      await guard.close();
    }
  });

  it('checks literal hosts of URLs in every spelling', async () => {
    const guard = createSsrfGuard();
    try {
      for (const host of ['127.0.0.1', '2130706433', '0177.0.0.1', '0x7f.1', '[::1]', '[::ffff:127.0.0.1]', '169.254.169.254', '[fd00:ec2::254]']) {
        expect(() => guard.checkUrl(new URL(`http://${host}/`)), host).toThrow(SsrfBlockedError);
      }
      expect(() => guard.checkUrl(new URL('http://example.com/'))).not.toThrow();
    } finally {
      await guard.close();
    }
  });
});

describe('checking a configured outbound URL (a credential baseUrl)', () => {
  const resolver: Resolver = async (host) => {
    if (host === 'intranet.test') return [{ address: '10.2.3.4', family: 4 }];
    if (host === 'mixed.test') return [{ address: '10.2.3.4', family: 4 }, { address: '93.184.215.14', family: 4 }];
    if (host === 'public.test') return [{ address: '93.184.215.14', family: 4 }];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  };

  it('refuses blocked literals, names that resolve only to blocked addresses, and user info', async () => {
    expect(await outboundUrlProblem('http://2130706433/v1', { resolver })).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(await outboundUrlProblem('http://[::ffff:169.254.169.254]/', { resolver })).toMatch(/cloud metadata/);
    expect(await outboundUrlProblem('http://intranet.test/v1', { resolver })).toMatch(/resolves to 10\.2\.3\.4, a private address/);
    expect(await outboundUrlProblem('https://u:p@public.test/v1', { resolver })).toMatch(/user name or password/);
    expect(await outboundUrlProblem('ftp://public.test/', { resolver })).toMatch(/http or https/);
    expect(await outboundUrlProblem('not a url', { resolver })).toBe('is not a URL');
  });

  it('accepts public hosts, allow-listed ones, and names it cannot resolve now (judged again at call time)', async () => {
    expect(await outboundUrlProblem('https://public.test/v1', { resolver })).toBeUndefined();
    expect(await outboundUrlProblem('https://mixed.test/v1', { resolver })).toBeUndefined();
    expect(await outboundUrlProblem('https://unknown.test/v1', { resolver })).toBeUndefined();
    expect(await outboundUrlProblem('http://intranet.test/v1', { resolver, allow: ['10.0.0.0/8'] })).toBeUndefined();
    expect(await outboundUrlProblem('http://127.0.0.1:11434/v1', { resolver, allow: ['127.0.0.1'] })).toBeUndefined();
  });
});
