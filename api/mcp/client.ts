// The MCP tools act through the REST API, as the token's user: the same validation,
// policy, scopes and audit trail as any other client, and no second copy of the logic.
// Over HTTP (/mcp) the API calls itself on its own socket; over stdio (`chainflow mcp`)
// the client talks to CHAINFLOW_URL.

import { HttpError } from '../errors.ts';
import { API_PREFIX } from '../openapi.ts';

/** A problem answer of the API (`{error, message, details}`), as the tools report it: the same shape the API throws. */
export class ApiError extends HttpError {
  override name = 'ApiError';
}

export interface ApiRequest {
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON body. */
  body?: unknown;
  /** A text body with its content type (chain files). */
  text?: { content: string; type: string };
  /** Read the answer as text (exports). */
  asText?: boolean;
}

/** A caller of /api/v1 with one bearer token. */
export interface ApiClient {
  call<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, request?: ApiRequest): Promise<T>;
}

/**
 * An {@link ApiClient} over fetch.
 *
 * @example const api = apiClient('http://127.0.0.1:3000', 'cfp_…'); await api.call('GET', '/chains');
 */
export function apiClient(baseUrl: string, token: string): ApiClient {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, request: ApiRequest = {}): Promise<T> {
      const url = new URL(`${base}${API_PREFIX}${path}`);
      for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
      const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
      let body: string | undefined;
      if (request.text) {
        headers['Content-Type'] = request.text.type;
        body = request.text.content;
      } else if (request.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(request.body);
      }
      let res: Response;
      try {
        res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
      } catch (err) {
        throw new ApiError(502, 'api_unreachable', `The Chainflow API at ${base} did not answer (${err instanceof Error ? err.message : String(err)}); check CHAINFLOW_URL and that the API runs.`);
      }
      if (res.status === 204) return undefined as T;
      const text = await res.text();
      if (!res.ok) {
        let problem: { error?: string; message?: string; details?: unknown } = {};
        try {
          problem = JSON.parse(text) as typeof problem;
        } catch {
          // not JSON: reported with the status below
        }
        throw new ApiError(res.status, problem.error ?? `http_${res.status}`, problem.message ?? `${method} ${path} answered ${res.status}.`, problem.details);
      }
      if (request.asText) return text as T;
      return (text === '' ? undefined : JSON.parse(text)) as T;
    },
  };
}
