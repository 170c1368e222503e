// Web-chat visitors: the client picks the visitor id, the server issues the token. The
// first message to a visitor id with no visitor creates it and returns the token once
// (JSON `visitorToken` and an HttpOnly cookie); every later request for that id needs it.

import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { WebVisitorSchema, type WebVisitor } from '../../db/visitors.ts';
import { tokenHash } from '../auth/tokens.ts';
import { HttpError } from '../errors.ts';

/** The header that carries a visitor token (the widget may use the cookie instead). */
export const VISITOR_TOKEN_HEADER = 'x-visitor-token';

/** The cookie of one visitor of one chain (the chain's id, never its slug). */
export const visitorCookieName = (chainId: string, visitorId: string): string => `cf_visitor_${chainId.replaceAll('-', '')}_${visitorId}`;

/** 256 random bits, URL-safe. */
const newVisitorToken = (): string => `cfv_${randomBytes(32).toString('base64url')}`;

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The token a request presents for a visitor: `X-Visitor-Token`, else the visitor's cookie. */
export function presentedVisitorToken(req: Request, chainId: string, visitorId: string): string | undefined {
  const header = req.headers[VISITOR_TOKEN_HEADER];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  return fromHeader?.trim() || cookie(req, visitorCookieName(chainId, visitorId)) || undefined;
}

function matches(visitor: WebVisitor, token: string | undefined): boolean {
  if (!token || !visitor.tokenHash) return false;
  const given = Buffer.from(tokenHash(token), 'hex');
  const stored = Buffer.from(visitor.tokenHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

const tokenMissing = (visitorId: string, given: boolean) =>
  new HttpError(
    401,
    given ? 'visitor_token_invalid' : 'visitor_token_required',
    `${given ? 'The visitor token is wrong' : 'Visitor "' + visitorId + '" has a token'}: send the visitorToken from the answer to its first message as the X-Visitor-Token header (the widget's cookie does the same), or use a new visitor id.`,
  );

export interface VisitorAccess {
  visitor: WebVisitor | null;
  /** Set when this request created the visitor: return it to the client, once. */
  issuedToken?: string;
}

/**
 * The visitor a chat request acts as. `create`: a visitor id without a visitor gets one
 * with a new token (the send route). `trusted`: the caller is a signed-in editor of the
 * chain, who needs no visitor token. Otherwise an existing visitor needs its token (401).
 */
export async function visitorForRequest(
  em: EntityManager,
  req: Request,
  chainId: string,
  visitorId: string,
  opts: { create: boolean; trusted: boolean },
): Promise<VisitorAccess> {
  const existing = await em.findOne(WebVisitorSchema, { chainId, visitorId });
  if (existing && (existing.tokenHash || opts.trusted)) {
    if (opts.trusted) return { visitor: existing };
    const token = presentedVisitorToken(req, chainId, visitorId);
    if (!matches(existing, token)) throw tokenMissing(visitorId, token !== undefined);
    return { visitor: existing };
  }
  if (!opts.create) return { visitor: null };
  const token = newVisitorToken();
  if (existing) {
    // Unclaimed (an API-started web session): the first message claims it, once.
    const claimed = await em.fork().nativeUpdate(WebVisitorSchema, { id: existing.id, tokenHash: null }, { tokenHash: tokenHash(token) });
    if (claimed !== 1) throw tokenMissing(visitorId, false);
    return { visitor: existing, issuedToken: token };
  }
  const fork = em.fork();
  const visitor = fork.create(WebVisitorSchema, { id: randomUUID(), chainId, visitorId, tokenHash: tokenHash(token) });
  try {
    await fork.flush();
  } catch (err) {
    // Another request created this visitor first: this one is not its owner.
    if (err instanceof UniqueConstraintViolationException) throw tokenMissing(visitorId, false);
    throw err;
  }
  return { visitor, issuedToken: token };
}

/** Sets the widget's HttpOnly cookie for a new visitor (Secure on https). */
export function setVisitorCookie(req: Request, res: Response, chainId: string, visitorId: string, token: string): void {
  res.cookie(visitorCookieName(chainId, visitorId), token, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/api/v1/chat', maxAge: 365 * 24 * 3600 * 1000 });
}

/** Releases a token that never reached its client (the send failed): the visitor is unclaimed again. */
export async function releaseVisitorToken(em: EntityManager, visitor: WebVisitor): Promise<void> {
  await em.fork().nativeUpdate(WebVisitorSchema, { id: visitor.id }, { tokenHash: null });
}

/**
 * The visitor of a visitor id, created unclaimed when missing (an editor starting a web
 * session through the API): the visitor's first chat message then claims it and gets the token.
 */
export async function ensureVisitor(em: EntityManager, chainId: string, visitorId: string): Promise<WebVisitor> {
  const existing = await em.findOne(WebVisitorSchema, { chainId, visitorId });
  if (existing) return existing;
  await em
    .getConnection()
    .execute(`insert into web_visitor (id, chain_id, visitor_id, token_hash, created_at) values (?, ?, ?, null, now()) on conflict (chain_id, visitor_id) do nothing`, [randomUUID(), chainId, visitorId]);
  return em.fork().findOneOrFail(WebVisitorSchema, { chainId, visitorId });
}
