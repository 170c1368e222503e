import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { tokenScopes } from '../../db/personal-tokens.ts';

const metadataSchema = z
  .object({
    resource: z.url().meta({ description: 'This server’s MCP endpoint' }),
    resource_name: z.string(),
    bearer_methods_supported: z.array(z.literal('header')),
    scopes_supported: z.array(z.enum(tokenScopes)),
    resource_documentation: z.url(),
    authorization_servers: z.array(z.url()).meta({ description: 'Empty: tokens are personal access tokens made by the user (POST /api/v1/auth/tokens)' }),
  })
  .meta({ id: 'ProtectedResourceMetadata', description: 'OAuth 2.0 Protected Resource Metadata (RFC 9728) of /mcp' });

/** /mcp and its protected-resource metadata (api/mcp/http.ts), for the OpenAPI document. */
export function mcpOpenApiPaths(errorResponse: (status: number) => { description: string; content: Record<string, { schema: z.ZodType }> }): ZodOpenApiPathsObject {
  const metadata = {
      summary: 'Protected-resource metadata of the MCP endpoint (RFC 9728)',
      tags: ['mcp'],
      security: [],
      responses: { 200: { description: 'The metadata', content: { 'application/json': { schema: metadataSchema } } }, 500: errorResponse(500) },
  };
  return {
    '/mcp': {
      post: {
        operationId: 'mcp',
        summary: 'MCP over Streamable HTTP (JSON-RPC; stateless)',
        description:
          'The Model Context Protocol server for AI assistants (docs/mcp.md). Send JSON-RPC 2.0 with `Accept: application/json, text/event-stream` and `Authorization: Bearer cfp_…` (a personal access token with at least the read scope; session tokens are refused). Tools act as the token’s user under the same policy as this API. A 401 carries `WWW-Authenticate: Bearer resource_metadata="…/.well-known/oauth-protected-resource/mcp"`.',
        tags: ['mcp'],
        security: [{ bearerAuth: [] }],
        requestBody: { content: { 'application/json': { schema: z.record(z.string(), z.unknown()).meta({ description: 'A JSON-RPC request, notification or batch' }) } } },
        responses: {
          200: { description: 'The JSON-RPC response', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } },
          202: { description: 'A notification or response was accepted' },
          400: errorResponse(400),
          401: { ...errorResponse(401), headers: { 'WWW-Authenticate': { description: 'Bearer challenge with resource_metadata', schema: { type: 'string' } } } },
          403: errorResponse(403),
          406: { description: 'The Accept header lacks application/json and text/event-stream' },
          500: errorResponse(500),
        },
      },
    },
    '/.well-known/oauth-protected-resource': { get: { ...metadata, operationId: 'protectedResourceMetadata' } },
    '/.well-known/oauth-protected-resource/mcp': { get: { ...metadata, operationId: 'mcpProtectedResourceMetadata' } },
  };
}
