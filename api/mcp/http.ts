// Streamable HTTP at /mcp (stateless: a server and transport per request, so any replica
// answers any request). The bearer must be a personal access token; without a valid one
// the answer is 401 with `WWW-Authenticate: Bearer resource_metadata=…` pointing at the
// OAuth protected-resource metadata (RFC 9728), as the MCP authorization spec asks.

import express, { Router, type Request, type Response } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { canRead, PERSONAL_TOKEN_PREFIX, tokenScopes } from '../auth/personal-tokens.ts';
import { authenticate } from '../auth/principal.ts';
import { HttpError } from '../errors.ts';
import { apiClient } from './client.ts';
import { createMcpServer } from './server.ts';

export const MCP_PATH = '/mcp';
export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

const originOf = (req: Request) => `${req.protocol}://${req.get('host') ?? 'localhost'}`;

/** The API's own socket address, for the tools' REST calls (they skip any proxy in front). */
function loopbackUrl(req: Request): string {
  const socket = req.socket;
  let host = socket.localAddress ?? '127.0.0.1';
  if (host.startsWith('::ffff:')) host = host.slice('::ffff:'.length);
  if (host === '::' || host === '0.0.0.0') host = '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${socket.localPort ?? 80}`;
}

/** RFC 9728 metadata of /mcp: the resource, how to send the token, the scopes. */
export function protectedResourceMetadata(origin: string) {
  return {
    resource: `${origin}${MCP_PATH}`,
    resource_name: 'Chainflow',
    bearer_methods_supported: ['header'],
    scopes_supported: [...tokenScopes],
    resource_documentation: `${origin}/docs`,
    // No OAuth authorization server: tokens are personal access tokens made by the user
    // (POST /api/v1/auth/tokens or the web app) and configured in the MCP client.
    authorization_servers: [],
  };
}

/** A message as a quoted-string of a header: printable ASCII, no quotes or backslashes. */
const headerSafe = (text: string) => text.replace(/…/g, '...').replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '');

/** 401 (invalid_token) or 403 (insufficient_scope) with the Bearer challenge of RFC 6750 / 9728. */
function challenge(req: Request, res: Response, status: 401 | 403, code: string, message: string): void {
  const metadata = `${originOf(req)}${RESOURCE_METADATA_PATH}${MCP_PATH}`;
  const error = status === 401 ? 'error="invalid_token"' : 'error="insufficient_scope", scope="read"';
  res
    .status(status)
    .set('WWW-Authenticate', `Bearer ${error}, error_description="${headerSafe(message)}", resource_metadata="${metadata}"`)
    .json({ error: code, message, details: { resourceMetadata: metadata } });
}
const unauthorized = (req: Request, res: Response, code: string, message: string) => challenge(req, res, 401, code, message);

export interface McpRouteDeps {
  orm: MikroORM;
  jwtSecret: string;
}

/** `/mcp` and its protected-resource metadata; mount before the web app's fallback. */
export function mcpRoutes(deps: McpRouteDeps): Router {
  const router = Router();
  const metadata = (req: Request, res: Response) => {
    res.json(protectedResourceMetadata(originOf(req)));
  };
  router.get(`${RESOURCE_METADATA_PATH}${MCP_PATH}`, metadata);
  router.get(RESOURCE_METADATA_PATH, metadata);

  router.post(MCP_PATH, express.json({ limit: 4 * 1024 * 1024 }), async (req, res) => {
    const authorization = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    if (!token) return unauthorized(req, res, 'unauthenticated', `Send Authorization: Bearer <personal access token> (${PERSONAL_TOKEN_PREFIX}…; create one with POST /api/v1/auth/tokens).`);
    if (!token.startsWith(PERSONAL_TOKEN_PREFIX)) return unauthorized(req, res, 'token_invalid', `The MCP server takes personal access tokens (${PERSONAL_TOKEN_PREFIX}…), not session tokens; create one with POST /api/v1/auth/tokens.`);
    let principal;
    try {
      principal = await authenticate(deps.orm.em.fork(), deps.jwtSecret, authorization);
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) return unauthorized(req, res, err.code, err.message);
      throw err;
    }
    // Every tool reads before it acts (list_node_types, get_chain): a token without read cannot use the server.
    if (!canRead(principal)) return challenge(req, res, 403, 'insufficient_scope', "This personal access token lacks the 'read' scope the MCP server needs; create a token with it.");
    const server = createMcpServer(apiClient(loopbackUrl(req), token));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Stateless: no server-initiated stream and no session to end.
  router.all(MCP_PATH, (req, res) => {
    res.status(405).set('Allow', 'POST').json({ error: 'method_not_allowed', message: `${req.method} ${MCP_PATH} is not supported: this MCP server is stateless; send JSON-RPC with POST.`, details: null });
  });
  return router;
}
