import { createPersonalToken, listPersonalTokens, personalTokenView, revokePersonalToken } from '../auth/personal-tokens.ts';
import { authorize } from '../policy.ts';
import { createdPersonalTokenSchema, createPersonalTokenBodySchema, personalTokenListSchema, personalTokenParamsSchema } from '../schemas/personal-tokens.ts';
import { defineOperation, type Operation } from './define.ts';

const tags: [string] = ['auth'];

/** `/auth/tokens`: the signed-in user's personal access tokens (for scripts and MCP clients). */
export function personalTokenOperations(): Operation[] {
  return [
    defineOperation({
      method: 'post',
      path: '/auth/tokens',
      operationId: 'createPersonalToken',
      summary: 'Create a personal access token (shown once)',
      description:
        'The token (`cfp_…`) acts as you, limited to its scopes: send it as `Authorization: Bearer` to the API, the live-events WebSocket or the MCP server (`/mcp`, docs/mcp.md). It is stored hashed; this response is the only time it is shown. Needs a signed-in session (a token cannot make tokens).',
      tags,
      auth: 'bearer',
      body: createPersonalTokenBodySchema,
      responses: { 201: { description: 'The new token, with its secret', schema: createdPersonalTokenSchema } },
      handler: async ({ res, em, body, principal, actor }) => {
        authorize(principal, 'account:self');
        const { token, row } = await createPersonalToken(em, principal.user, { name: body.name, scopes: body.scopes, expiresAt: body.expiresAt ? new Date(body.expiresAt) : null }, actor);
        res.set('Cache-Control', 'no-store').status(201).json({ ...personalTokenView(row), token });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/auth/tokens',
      operationId: 'listPersonalTokens',
      summary: 'Your personal access tokens (never their secrets)',
      tags,
      auth: 'bearer',
      responses: { 200: { description: 'Newest first, revoked ones included', schema: personalTokenListSchema } },
      handler: async ({ res, em, principal }) => {
        authorize(principal, 'account:self');
        const rows = await listPersonalTokens(em, principal.user);
        res.json({ items: rows.map(personalTokenView), total: rows.length });
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/auth/tokens/:id',
      operationId: 'revokePersonalToken',
      summary: 'Revoke a personal access token (at once, on every request and socket)',
      tags,
      auth: 'bearer',
      params: personalTokenParamsSchema,
      errors: [404],
      responses: { 204: { description: 'Revoked (or it already was)' } },
      handler: async ({ res, em, params, principal, actor }) => {
        authorize(principal, 'account:self');
        await revokePersonalToken(em, principal.user, params.id, actor);
        res.status(204).end();
      },
    }),
  ];
}
