// The typed API client: openapi-fetch over the types generated from /api/v1/openapi.json
// (web/src/api/openapi.ts), with the access token attached, one refresh-and-retry on 401,
// and every failure turned into an ApiError.

import createClient, { type Middleware } from 'openapi-fetch';
import { ApiError, problemOf } from './errors.ts';
import type { components, paths } from './openapi.ts';

export type Schemas = components['schemas'];
export type ChainSummary = Schemas['ChainSummary'];
export type ChainDetail = Schemas['Chain'];
export type NodeType = Schemas['NodeType'];
export type Grant = Schemas['ChainGrant'];
export type Session = Schemas['Session'];
export type User = Schemas['User'];
export type CompileProblem = Schemas['CompileProblem'];

/** What the client needs from the signed-in session (the auth store provides it). */
export interface TokenSource {
  /** A valid access token, refreshed ahead of expiry; null when signed out. */
  accessToken(): Promise<string | null>;
  /** Exchanges the refresh token; false when that is no longer possible. */
  refresh(): Promise<boolean>;
  /** The session is over (refresh refused): sign out and send the user to sign-in. */
  expired(): void;
}

let tokens: TokenSource | null = null;
export function setTokenSource(source: TokenSource): void {
  tokens = source;
}

const PUBLIC_AUTH = /\/api\/v1\/auth\/(login|register|refresh|status)$/;
const retryCopies = new WeakMap<Request, Request>();

const authMiddleware: Middleware = {
  async onRequest({ request }) {
    if (PUBLIC_AUTH.test(new URL(request.url).pathname)) return request;
    const token = await tokens?.accessToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    retryCopies.set(request, request.clone());
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status !== 401 || !tokens || PUBLIC_AUTH.test(new URL(request.url).pathname)) return response;
    const copy = retryCopies.get(request);
    if (copy && (await tokens.refresh())) {
      const token = await tokens.accessToken();
      if (token) copy.headers.set('Authorization', `Bearer ${token}`);
      const again = await fetch(copy);
      if (again.status !== 401) return again;
    }
    tokens.expired();
    return response;
  },
};

export const client = createClient<paths>({ baseUrl: globalThis.location?.origin ?? '' });
client.use(authMiddleware);

/**
 * The data of a call, or an ApiError: `const chain = await unwrap(client.GET('/api/v1/chains/{id}', …))`.
 * A network failure becomes an ApiError with status 0 and code 'network'.
 */
export async function unwrap<D>(pending: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D> {
  let result: { data?: D; error?: unknown; response: Response };
  try {
    result = await pending;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
  }
  if (result.error !== undefined || !result.response.ok) throw problemOf(result.response.status, result.error);
  // A 204 has no data; callers of such operations ignore it.
  return result.data as D;
}
