// Rate limits of the public routes, counted in PostgreSQL (db/rate-limits.ts) so every API
// replica shares them. One limiter is a list of scopes: per client address, and per chain
// for the routes that name one. A request over any scope's limit answers 429 with
// Retry-After; the scopes are checked in order and a refused request counts no further.

import type { Request, RequestHandler } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import { cleanRateLimits, hitRateLimit, type RateRule } from '../db/rate-limits.ts';
import { HttpError } from './errors.ts';

export type { RateRule } from '../db/rate-limits.ts';

/** Which limiter an operation uses: the sign-in routes, the web chat, webhook triggers. */
export type RateLimitName = 'auth' | 'chat' | 'hook';

/** The configured limits (config.ts › rateLimits); `null` turns a scope off. */
export interface RateLimits {
  /** Sign-in routes (login, register, refresh, password, TOTP), per client address. */
  auth: RateRule | null;
  /** Web chat (`/chat/...`), per client address… */
  chatClient: RateRule | null;
  /** …and per chain, all clients together. */
  chatChain: RateRule | null;
  /** Webhook triggers (`/hooks/...`), per client address… */
  hookClient: RateRule | null;
  /** …and per chain. */
  hookChain: RateRule | null;
}

/** Defaults: 20 sign-in requests a minute per address; web chat 60/min per address and 1200/min per chain; webhooks 120/min per address and 1200/min per chain. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  auth: { limit: 20, windowSeconds: 60 },
  chatClient: { limit: 60, windowSeconds: 60 },
  chatChain: { limit: 1200, windowSeconds: 60 },
  hookClient: { limit: 120, windowSeconds: 60 },
  hookChain: { limit: 1200, windowSeconds: 60 },
};

/** One counted scope: its rule, the key of a request (null: not counted), and what a refusal says. */
export interface RateScope {
  rule: RateRule | null;
  key(req: Request): string | null | Promise<string | null>;
  /** Completes "Too many …": e.g. "web-chat messages from this address". */
  what: string;
}

export interface RateLimiterOptions {
  orm: MikroORM;
  /** Prefix of the keys, e.g. 'chat'; scopes append their own part. */
  name: string;
  scopes: RateScope[];
}

const CLEAN_EVERY_MS = 60_000;

/** "60 a minute", "5 every 10 seconds". */
function describeRule(rule: RateRule): string {
  if (rule.windowSeconds === 60) return `${rule.limit} a minute`;
  if (rule.windowSeconds === 3600) return `${rule.limit} an hour`;
  return `${rule.limit} every ${rule.windowSeconds} seconds`;
}

/**
 * A reusable rate-limit middleware over PostgreSQL counters: each scope's key is counted
 * against its rule; the first scope over its limit answers 429 `rate_limited` with
 * `Retry-After` (seconds). Expired counters are deleted at most once a minute per limiter.
 *
 * @example
 * const limiter = createRateLimiter({ orm, name: 'tg', scopes: [clientScope(rule, 'updates from this address')] });
 * router.post('/telegram/:botId', limiter, handler);
 */
export function createRateLimiter(options: RateLimiterOptions): RequestHandler {
  const scopes = options.scopes.filter((s) => s.rule !== null);
  let lastClean = Date.now();
  return async (req, res, next) => {
    if (scopes.length === 0) return next();
    const em = options.orm.em.fork();
    for (const scope of scopes) {
      const rule = scope.rule!;
      const key = await scope.key(req);
      if (key === null) continue;
      const decision = await hitRateLimit(em, `${options.name}:${key}`.slice(0, 200), rule);
      if (!decision.allowed) {
        res.setHeader('Retry-After', String(decision.retryAfterSeconds));
        throw new HttpError(
          429,
          'rate_limited',
          `Too many ${scope.what} (more than ${describeRule(rule)}); try again in ${decision.retryAfterSeconds} s.`,
          { retryAfterSeconds: decision.retryAfterSeconds, limit: rule.limit, windowSeconds: rule.windowSeconds },
        );
      }
    }
    if (Date.now() - lastClean > CLEAN_EVERY_MS) {
      lastClean = Date.now();
      await cleanRateLimits(em);
    }
    next();
  };
}

/**
 * The counted part of a client address: an IPv4 address whole (also when IPv4-mapped),
 * an IPv6 address by its /64 network, since one subscriber usually holds a whole /64 and
 * could otherwise take a fresh address per request.
 */
export function clientAddressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const plain = address.split('%')[0]!.toLowerCase();
  const [head = '', tail] = plain.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** The client's address as Express sees it (behind proxies: per TRUST_PROXY), IPv6 by /64. */
export const clientKey = (req: Request): string => `client:${clientAddressKey(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;

/** A scope per client address. */
export const clientScope = (rule: RateRule | null, what: string): RateScope => ({ rule, what, key: clientKey });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A scope per chain, for routes with a `:chainIdOrSlug` parameter: the slug is resolved to
 * the chain's id, so switching between id and slug counts against the same limit.
 */
export function chainScope(orm: MikroORM, rule: RateRule | null, what: string): RateScope {
  return {
    rule,
    what,
    key: async (req) => {
      const ref = typeof req.params.chainIdOrSlug === 'string' ? req.params.chainIdOrSlug : '';
      if (!ref) return null;
      if (UUID.test(ref)) return `chain:${ref.toLowerCase()}`;
      const [row] = await orm.em.fork().getConnection().execute<{ id: string }[]>(`select id from chain where slug = ? limit 1`, [ref.slice(0, 200)]);
      return `chain:${row ? row.id : `slug:${ref.slice(0, 150)}`}`;
    },
  };
}

/** The three limiters of the API's public routes. */
export function apiRateLimiters(orm: MikroORM, limits: RateLimits): Record<RateLimitName, RequestHandler> {
  return {
    auth: createRateLimiter({ orm, name: 'auth', scopes: [clientScope(limits.auth, 'sign-in requests from this address')] }),
    chat: createRateLimiter({
      orm,
      name: 'chat',
      scopes: [clientScope(limits.chatClient, 'web-chat requests from this address'), chainScope(orm, limits.chatChain, 'web-chat requests to this chain')],
    }),
    hook: createRateLimiter({
      orm,
      name: 'hook',
      scopes: [clientScope(limits.hookClient, 'webhook calls from this address'), chainScope(orm, limits.hookChain, 'webhook calls to this chain')],
    }),
  };
}
