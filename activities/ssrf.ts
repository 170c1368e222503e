// SSRF guard of the HTTP node. Editors write URLs; the worker runs inside the operator's
// network. So a request may only reach public addresses unless the operator allow-lists
// a range or host.
//
// The check runs where the connection is made, on the address actually connected to:
// an undici Agent whose connector resolves names through our lookup (blocked answers are
// dropped before connecting) and checks `socket.remoteAddress` once connected. Literal
// IP hosts are checked before any connection. Redirects are followed by the caller, hop
// by hop, each hop through the same Agent, so each is checked. There is no window
// between checking a DNS answer and using it (no TOCTOU / DNS rebinding).

import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';

/** One DNS answer. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses; injectable so tests can answer with any address. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** The production resolver: the system's (node:dns lookup, hosts file included). */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, order: 'verbatim' });
  return answers.map((answer) => ({ address: answer.address, family: answer.family === 6 ? 6 : 4 }));
};

export interface SsrfOptions {
  /**
   * Allowed despite the block list: CIDR ranges (`10.0.0.0/8`, `fd00::/8`), single
   * addresses (`127.0.0.1`), host names (`api.internal`) and host suffixes
   * (`*.internal.example`). A host name match allows whatever it resolves to.
   */
  allow?: readonly string[];
  /** Name resolution; default {@link systemResolver}. */
  resolver?: Resolver;
  /** Connect timeout (ms) of the agent; the request's own timeout applies too. */
  connectTimeoutMs?: number;
}

/** A request refused by the guard. The message names the host and the range, never the URL. */
export class SsrfBlockedError extends Error {
  override name = 'SsrfBlockedError';
  readonly host: string;
  readonly address: string;
  readonly reason: string;
  constructor(host: string, address: string, reason: string) {
    super(
      `Blocked request to ${host}${address !== host ? ` (${address})` : ''}: ${reason} addresses are not reachable from chains; an operator can allow-list the host or range`,
    );
    this.host = host;
    this.address = address;
    this.reason = reason;
  }
}

// ---- addresses -------------------------------------------------------------------------

/**
 * Parses IPv4 the way URL hosts and inet_aton do: 1–4 parts, each decimal, octal
 * (leading 0) or hex (0x); the last part fills the remaining bytes. So `2130706433`,
 * `0177.0.0.1` and `0x7f.1` all mean 127.0.0.1. Returns the 32-bit value.
 */
export function parseIpv4Loose(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length > 1 && parts.at(-1) === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(part)) value = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) value = parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) value = Number(part);
    else return undefined;
    if (!Number.isSafeInteger(value)) return undefined;
    numbers.push(value);
  }
  const last = numbers.pop() ?? 0;
  if (numbers.some((n) => n > 255) || last >= 256 ** (4 - numbers.length)) return undefined;
  let result = 0;
  numbers.forEach((n, i) => (result += n * 256 ** (3 - i)));
  return result + last;
}

function ipv4ToString(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** 128-bit value of an IPv6 address (zone id ignored), or undefined. */
function parseIpv6(text: string): bigint | undefined {
  const address = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(address) !== 6) return undefined;
  let head = address;
  let tailV4: number | undefined;
  const v4Match = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (v4Match?.[1] !== undefined) {
    tailV4 = parseIpv4Loose(v4Match[1]);
    head = `${address.slice(0, -v4Match[1].length)}${'0:0'}`;
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = right === undefined ? leftGroups : [...leftGroups, ...Array<string>(missing).fill('0'), ...rightGroups];
  if (groups.length !== 8) return undefined;
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(parseInt(group, 16));
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | BigInt(tailV4);
  return value;
}

/** A parsed address: IPv4 as a 32-bit number, IPv6 as a 128-bit bigint. */
export type ParsedIp = { family: 4; value: number } | { family: 6; value: bigint };

/** Parses an IP literal (IPv6 with or without brackets; IPv4 in any inet_aton spelling). */
export function parseIp(text: string): ParsedIp | undefined {
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  if (v6 !== undefined) return { family: 6, value: v6 };
  const v4 = parseIpv4Loose(text);
  return v4 !== undefined ? { family: 4, value: v4 } : undefined;
}

interface Range4 {
  base: number;
  bits: number;
  reason: string;
}
interface Range6 {
  base: bigint;
  bits: number;
  reason: string;
}

function range4(cidr: string, reason: string): Range4 {
  const [base = '', bits = '32'] = cidr.split('/');
  return { base: parseIpv4Loose(base) ?? 0, bits: Number(bits), reason };
}
function range6(cidr: string, reason: string): Range6 {
  const [base = '', bits = '128'] = cidr.split('/');
  return { base: parseIpv6(base) ?? 0n, bits: Number(bits), reason };
}

function in4(value: number, range: { base: number; bits: number }): boolean {
  if (range.bits === 0) return true;
  const size = 2 ** (32 - range.bits);
  return Math.floor(value / size) === Math.floor(range.base / size);
}
function in6(value: bigint, range: { base: bigint; bits: number }): boolean {
  const shift = BigInt(128 - range.bits);
  return value >> shift === range.base >> shift;
}

// Specific entries first: the first match names the reason.
const BLOCKED_V4: Range4[] = [
  range4('169.254.169.254/32', 'cloud metadata'),
  range4('168.63.129.16/32', 'cloud metadata'),
  range4('100.100.100.200/32', 'cloud metadata'),
  range4('0.0.0.0/8', 'unspecified'),
  range4('10.0.0.0/8', 'private'),
  range4('100.64.0.0/10', 'carrier-grade NAT'),
  range4('127.0.0.0/8', 'loopback'),
  range4('169.254.0.0/16', 'link-local'),
  range4('172.16.0.0/12', 'private'),
  range4('192.0.0.0/24', 'reserved'),
  range4('192.0.2.0/24', 'documentation'),
  range4('192.168.0.0/16', 'private'),
  range4('198.18.0.0/15', 'benchmarking'),
  range4('198.51.100.0/24', 'documentation'),
  range4('203.0.113.0/24', 'documentation'),
  range4('224.0.0.0/4', 'multicast'),
  range4('240.0.0.0/4', 'reserved'),
];

const BLOCKED_V6: Range6[] = [
  range6('fd00:ec2::254/128', 'cloud metadata'),
  range6('::/128', 'unspecified'),
  range6('::1/128', 'loopback'),
  range6('64:ff9b:1::/48', 'private'),
  range6('100::/64', 'reserved'),
  range6('2001::/32', 'Teredo'),
  range6('2001:db8::/32', 'documentation'),
  range6('fc00::/7', 'unique-local'),
  range6('fe80::/10', 'link-local'),
  range6('fec0::/10', 'site-local'),
  range6('ff00::/8', 'multicast'),
];

/** IPv6 forms that carry an IPv4 address, with where it sits. */
const EMBEDDING_V6: Array<{ range: Range6; shift: bigint; label: string }> = [
  { range: range6('::ffff:0:0/96', ''), shift: 0n, label: 'IPv4-mapped' },
  { range: range6('64:ff9b::/96', ''), shift: 0n, label: 'NAT64' },
  { range: range6('2002::/16', ''), shift: 80n, label: '6to4' },
  { range: range6('::/96', ''), shift: 0n, label: 'IPv4-compatible' },
];

function classifyV4(value: number): string | undefined {
  return BLOCKED_V4.find((range) => in4(value, range))?.reason;
}

/**
 * Why an address may not be reached ('loopback', 'private', 'cloud metadata',
 * 'loopback (IPv4-mapped)', …), or undefined for a public address. Unparseable text
 * counts as blocked.
 *
 * @example blockedReason('::ffff:127.0.0.1') // 'loopback (IPv4-mapped)'
 */
export function blockedReason(address: string): string | undefined {
  const ip = parseIp(address);
  if (!ip) return 'unparseable';
  if (ip.family === 4) return classifyV4(ip.value);
  const direct = BLOCKED_V6.find((range) => in6(ip.value, range));
  if (direct && direct.bits === 128) return direct.reason;
  for (const { range, shift, label } of EMBEDDING_V6) {
    if (!in6(ip.value, range)) continue;
    const embedded = Number((ip.value >> shift) & 0xffffffffn);
    const reason = classifyV4(embedded);
    return reason !== undefined ? `${reason} (${label})` : undefined;
  }
  return direct?.reason;
}

// ---- allow-list ------------------------------------------------------------------------

type AllowEntry = { kind: 'v4'; range: Range4 } | { kind: 'v6'; range: Range6 } | { kind: 'host'; host: string } | { kind: 'suffix'; suffix: string };

function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

/** Parses allow-list entries. @throws {Error} naming a malformed entry. */
export function parseAllowList(entries: readonly string[]): AllowEntry[] {
  return entries.map((raw) => {
    const entry = raw.trim();
    const [base = '', bits] = entry.split('/');
    const ip = parseIp(base);
    if (ip) {
      const max = ip.family === 4 ? 32 : 128;
      const prefix = bits === undefined ? max : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`SSRF allow-list entry '${entry}' has an invalid prefix length`);
      return ip.family === 4 ? { kind: 'v4', range: { base: ip.value, bits: prefix, reason: '' } } : { kind: 'v6', range: { base: ip.value, bits: prefix, reason: '' } };
    }
    if (bits !== undefined) throw new Error(`SSRF allow-list entry '${entry}' is not a CIDR range`);
    if (entry.startsWith('*.') && /^[a-z0-9.-]+$/i.test(entry.slice(2))) return { kind: 'suffix', suffix: normalizeHost(entry.slice(1)) };
    if (/^[a-z0-9.-]+$/i.test(entry)) return { kind: 'host', host: normalizeHost(entry) };
    throw new Error(`SSRF allow-list entry '${entry}' is neither a CIDR range, an address nor a host name`);
  });
}

// ---- the guard -------------------------------------------------------------------------

/** The guard: checks hosts and addresses, and owns the undici Agent that enforces them. */
export interface SsrfGuard {
  /** Dispatcher for undici's fetch/request: every connection it makes is checked. */
  readonly dispatcher: Agent;
  /** True when the host name (not address) is allow-listed. */
  hostAllowed(host: string): boolean;
  /** Undefined when the address may be reached for this host, else the reason it may not. */
  addressBlocked(address: string, host: string): string | undefined;
  /**
   * Checks a URL before connecting: literal IP hosts (in any spelling) are judged here,
   * names when their connection is made.
   *
   * @throws {SsrfBlockedError}
   */
  checkUrl(url: URL): void;
  close(): Promise<void>;
}

/**
 * Creates the guard and its Agent.
 *
 * @example
 * const guard = createSsrfGuard({ allow: ['10.1.0.0/16', 'billing.internal'] });
 * await fetch(url, { dispatcher: guard.dispatcher, redirect: 'manual' });
 */
export function createSsrfGuard(options: SsrfOptions = {}): SsrfGuard {
  const allow = parseAllowList(options.allow ?? []);
  const resolver = options.resolver ?? systemResolver;

  const hostAllowed = (host: string): boolean => {
    const name = normalizeHost(host);
    return allow.some((entry) => (entry.kind === 'host' && entry.host === name) || (entry.kind === 'suffix' && name.endsWith(entry.suffix)));
  };
  const addressAllowed = (ip: ParsedIp): boolean =>
    allow.some((entry) => (entry.kind === 'v4' && ip.family === 4 && in4(ip.value, entry.range)) || (entry.kind === 'v6' && ip.family === 6 && in6(ip.value, entry.range)));

  const addressBlocked = (address: string, host: string): string | undefined => {
    if (hostAllowed(host)) return undefined;
    const ip = parseIp(address);
    if (!ip) return 'unparseable';
    if (addressAllowed(ip)) return undefined;
    // An IPv4-mapped address is allowed when its IPv4 form is (dual-stack sockets report those).
    if (ip.family === 6 && ip.value >> 32n === 0xffffn && addressAllowed({ family: 4, value: Number(ip.value & 0xffffffffn) })) return undefined;
    return blockedReason(address);
  };

  const checkUrl = (url: URL): void => {
    const host = normalizeHost(url.hostname);
    const ip = parseIp(host);
    if (!ip) return;
    const canonical = ip.family === 4 ? ipv4ToString(ip.value) : host;
    const reason = addressBlocked(canonical, host);
    if (reason !== undefined) throw new SsrfBlockedError(host, canonical, reason);
  };

  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolver(hostname).then(
      (answers) => {
        const family = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : undefined;
        const candidates = answers.filter((answer) => family === undefined || answer.family === family);
        const allowed = candidates.filter((answer) => addressBlocked(answer.address, hostname) === undefined);
        const first = allowed[0];
        if (!first) {
          const blocked = candidates[0];
          const error = blocked
            ? new SsrfBlockedError(normalizeHost(hostname), blocked.address, addressBlocked(blocked.address, hostname) ?? 'blocked')
            : Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
          callback(error, '', 4);
          return;
        }
        if (lookupOptions.all) callback(null, allowed);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), '', 4),
    );
  };

  const baseConnect = buildConnector({ lookup, timeout: options.connectTimeoutMs ?? 10_000 });
  const dispatcher = new Agent({
    connect: (connectOptions, callback) => {
      const host = normalizeHost(connectOptions.hostname);
      if (isIP(host) !== 0) {
        const reason = addressBlocked(host, host);
        if (reason !== undefined) {
          callback(new SsrfBlockedError(host, host, reason), null);
          return;
        }
      }
      baseConnect(connectOptions, (error, socket) => {
        if (error !== null) {
          callback(error, null);
          return;
        }
        // Backstop: judge the address the socket is really connected to.
        const remote = socket.remoteAddress ?? '';
        const reason = addressBlocked(remote, host);
        if (reason !== undefined) {
          socket.destroy();
          callback(new SsrfBlockedError(host, remote, reason), null);
          return;
        }
        callback(null, socket);
      });
    },
  });

  return { dispatcher, hostAllowed, addressBlocked, checkUrl, close: () => dispatcher.close() };
}

/** Finds an SsrfBlockedError in an error's cause chain (fetch wraps connector errors). */
export function findSsrfError(error: unknown): SsrfBlockedError | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    if (current instanceof SsrfBlockedError) return current;
    if (current instanceof AggregateError) {
      const inner = current.errors.find((item) => item instanceof SsrfBlockedError);
      if (inner instanceof SsrfBlockedError) return inner;
    }
  }
  return undefined;
}

// ---- a guarded fetch for every outbound client -----------------------------------------

/** Most redirects {@link guardedFetch} follows before failing. */
export const MAX_GUARDED_REDIRECTS = 5;

/** Redirects that could not be followed safely (too many, a non-http(s) target, a body that cannot be re-sent). */
export class GuardedRedirectError extends Error {
  override name = 'GuardedRedirectError';
}

/** Headers never forwarded to another origin on a redirect (credentials and account ids). */
const CROSS_ORIGIN_DROP = /^(authorization|proxy-authorization|cookie|api-key|x-api-key|openai-organization|openai-project|idempotency-key)$|token|secret/i;

/** A `fetch` with the signature of the global one (what the `openai` client and others accept). */
export type GuardedFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * A `fetch` for outbound clients (the LLM node's `openai` client; later embeddings,
 * speech, document URLs) that goes through the SSRF guard: literal IP hosts are checked
 * before connecting, names where the connection is made (resolved-address pinning, see
 * {@link createSsrfGuard}), and redirects are followed hop by hop (at most
 * {@link MAX_GUARDED_REDIRECTS}), each hop checked again, with credentials dropped when
 * the origin changes. Blocked requests reject with an error whose cause chain holds an
 * {@link SsrfBlockedError} (see {@link findSsrfError}).
 *
 * @example
 * const guard = createSsrfGuard({ allow: config.httpAllowPrivate });
 * const client = new OpenAI({ apiKey, baseURL, fetch: guardedFetch(guard) });
 */
export function guardedFetch(guard: SsrfGuard): GuardedFetch {
  return async (input, init = {}) => {
    const request = input instanceof Request ? input : undefined;
    let url = new URL(request ? request.url : input instanceof URL ? input.href : input);
    let method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers ?? request?.headers);
    let body: RequestInit['body'] = init.body ?? (request?.body ? await request.arrayBuffer() : undefined);
    const signal = init.signal ?? request?.signal ?? null;
    for (let hops = 0; ; hops++) {
      guard.checkUrl(url);
      // undici's own fetch: its Agent is the dispatcher (the global fetch may bundle another undici).
      const response = await undiciFetch(url, {
        method,
        headers: [...headers],
        body: body as UndiciRequestInit['body'],
        redirect: 'manual',
        dispatcher: guard.dispatcher,
        signal,
      });
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) return response as unknown as Response;
      await response.body?.cancel().catch(() => {});
      if (hops >= MAX_GUARDED_REDIRECTS) throw new GuardedRedirectError(`More than ${MAX_GUARDED_REDIRECTS} redirects, last from ${url.origin}${url.pathname}`);
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new GuardedRedirectError(`${url.origin}${url.pathname} redirected to a ${next.protocol} URL`);
      if (next.origin !== url.origin) for (const name of [...headers.keys()]) if (CROSS_ORIGIN_DROP.test(name)) headers.delete(name);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
        for (const name of [...headers.keys()]) if (name.startsWith('content-')) headers.delete(name);
      } else if (body instanceof ReadableStream) {
        throw new GuardedRedirectError(`${url.origin}${url.pathname} redirected (${response.status}) a request whose streamed body cannot be sent again`);
      }
      url = next;
    }
  };
}

/**
 * Checks a URL someone configures for an outbound client (a credential's `baseUrl`) when
 * it is saved, so the mistake shows in the form rather than in a session: http(s) only,
 * no user info, and a host that is not (or does not resolve only to) a blocked address.
 * Names that do not resolve now pass: the call-time guard judges them again anyway.
 * `resolveNames: false` skips the lookup (at call time, where the connector resolves and
 * judges names itself). Returns the problem, or undefined.
 *
 * @example await outboundUrlProblem('http://127.0.0.1:11434/v1') // 'its host 127.0.0.1 is a loopback address …'
 */
export async function outboundUrlProblem(text: string, options: SsrfOptions & { resolveNames?: boolean } = {}): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http or https URL, not ${url.protocol}`;
  if (url.username !== '' || url.password !== '') return 'must not carry a user name or password';
  const guard = createSsrfGuard(options);
  try {
    guard.checkUrl(url);
    const host = normalizeHost(url.hostname);
    if (parseIp(host) || guard.hostAllowed(host) || options.resolveNames === false) return undefined;
    const resolver = options.resolver ?? systemResolver;
    const answers = await Promise.race([resolver(host), new Promise<ResolvedAddress[]>((resolve) => setTimeout(() => resolve([]), 3000).unref())]).catch(() => []);
    const reasons = answers.map((answer) => guard.addressBlocked(answer.address, host));
    const first = answers[0];
    if (first && reasons.every((reason) => reason !== undefined)) return `its host ${host} resolves to ${first.address}, a ${reasons[0] ?? 'blocked'} address chains may not reach; an operator can allow-list it (HTTP_ALLOW_PRIVATE)`;
    return undefined;
  } catch (error) {
    if (error instanceof SsrfBlockedError) return `its host ${error.host} is a ${error.reason} address chains may not reach; an operator can allow-list it (HTTP_ALLOW_PRIVATE)`;
    throw error;
  } finally {
    await guard.close();
  }
}
